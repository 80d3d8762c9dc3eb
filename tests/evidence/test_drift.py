"""--baseline: what changed since an earlier run, as one readable section; a bad baseline is one usage line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from compliance.evidence.drift import RUN_SPECIFIC_NOTE, BaselineError, compare, has_changes, load_baseline
from compliance.evidence.html_summary import drift_html
from compliance.redaction import Redactor

from .conftest import COMPLIANCE_DIR, EXTERNAL_ID, ROLE_ARN_CHECK, RunSuite, export_role, reference_deployment


def test_changed_trust_policy_yields_drift_section(run_suite: RunSuite) -> None:
    first = run_suite()
    changed = copy.deepcopy(reference_deployment())
    role = export_role(changed)
    role["trust_policy"]["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::999988887777:role/SomeoneElse"
    role["path"] = "/exports/"
    second = run_suite("--baseline", str(first.run_dir / "evidence.json"), deployment=changed)

    drift = second.evidence["drift"]
    assert drift["since"] == first.evidence["started"]
    trust = [p for p in drift["policies"] if p["policy"] == "role › trust_policy"]
    assert len(trust) == 1 and trust[0]["change"] == "changed"
    diff = trust[0]["diff"]
    assert '-        "AWS": "arn:aws:iam::999988887777:role/ExportService"' in diff
    assert '+        "AWS": "arn:aws:iam::999988887777:role/SomeoneElse"' in diff
    assert EXTERNAL_ID not in json.dumps(drift)
    others = [p["policy"] for p in drift["policies"] if p is not trust[0]]
    assert all("kms" not in name.lower() for name in others), "moto's generated key ids are not drift"
    changes = {c["check"]: c for c in drift["status_changes"]}
    assert changes[ROLE_ARN_CHECK]["before"] == "PASS" and changes[ROLE_ARN_CHECK]["after"] == "FAIL"
    assert any('"path": "/exports/"' in s["diff"] for s in drift["settings"])

    page = second.html
    assert f"Changed since {drift['since']}" in page
    assert "Policy documents that changed" in page and "Checks whose status changed" in page
    assert "role/SomeoneElse" in page and 'class="ecc-del"' in page and 'class="ecc-add"' in page

    same = run_suite("--baseline", str(first.run_dir / "evidence.json"))
    assert not same.evidence["drift"]["policies"] and not same.evidence["drift"]["settings"]
    assert ROLE_ARN_CHECK not in {c["check"] for c in same.evidence["drift"]["status_changes"]}


def test_no_change_reads_as_such() -> None:
    base = {"schema": "export-chain-compliance/evidence/v1", "started": "t0", "target": "moto", "snapshots": {},
            "findings": []}
    drift = compare(base, {**base, "started": "t1"}, Redactor())
    assert not has_changes(drift)
    assert "No change: the same policy documents" in drift_html(drift)


def test_new_and_vanished_findings() -> None:
    def record(check: str, status: str) -> dict[str, object]:
        return {"check": {"id": check, "title": check, "severity": "high", "provider": "aws"}, "chain": "c",
                "finding": {"status": status, "message": f"{check} {status}"}}

    base = {"schema": "export-chain-compliance/evidence/v1", "started": "t0", "target": "live", "snapshots": {},
            "findings": [record("kept", "PASS"), record("gone", "FAIL")]}
    now = {**base, "started": "t1", "findings": [record("kept", "PASS"), record("fresh", "ERROR")]}
    drift = compare(base, now, Redactor())
    assert [f["check"] for f in drift["new_findings"]] == ["fresh"]
    assert [f["check"] for f in drift["vanished_findings"]] == ["gone"]
    assert drift["status_changes"] == [] and drift["note"] == RUN_SPECIFIC_NOTE


def _record(check: str, message: str, data: object = None) -> dict[str, object]:
    return {"check": {"id": check, "title": check, "severity": "high", "provider": "aws"}, "chain": "c",
            "finding": {"status": "PASS", "message": message,
                        "evidence": [{"label": "x", "kind": "note", "data": data}]}}


def test_run_specific_values_are_not_drift() -> None:
    """Canary names, timestamps, request ids and the emulator's port change on every run: none of them is drift."""
    def document(stamp: str, canary: str, request: str, port: int) -> dict[str, object]:
        message = (f"The canary export qualio/compliance-canary/{stamp}-{canary}.txt landed, locked until "
                   f"2033-11-27T12:35:36+00:00; written {stamp}.")
        snapshot = {"bucket": {"value": {"newest": f"2026-11-{stamp[6:8]}T01:02:03Z", "ResponseMetadata": {
            "RequestId": request, "HostId": request}}}, "endpoint": f"https://127.0.0.1:{port}/devstoreaccount1"}
        return {"schema": "export-chain-compliance/evidence/v1", "started": stamp, "target": "live",
                "snapshots": {"c": snapshot},
                "findings": [_record("canary", message, {"x-ms-request-id": request, "at": "2026-11-29 10:00"})]}

    base = document("20261128T010203Z", "0929338e", "4442587FB7D0A2F9", 60345)
    now = document("20261129T020304Z", "68bd2aaf", "9F2A11C0DE00BEEF", 51234)
    drift = compare(base, now, Redactor())
    assert not has_changes(drift), drift
    moved = document("20261129T020304Z", "68bd2aaf", "9F2A11C0DE00BEEF", 51234)
    moved["findings"] = [_record("canary", "The canary export was refused: AccessDenied.")]
    drift = compare(base, moved, Redactor())
    assert [c["check"] for c in drift["changed_findings"]] == ["canary"]
    assert drift["changed_findings"][0]["before_message"].startswith("The canary export qualio/compliance-canary/2026")


def test_drift_redacts_both_sides() -> None:
    secret = "sv=2025-05-05&sp=cw&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
    policy = {"Statement": [{"Effect": "Allow", "Condition": {"StringEquals": {"sts:ExternalId": "old-xid-123"}}}]}
    newer = copy.deepcopy(policy)
    newer["Statement"][0]["Sid"] = secret
    base = {"schema": "export-chain-compliance/evidence/v1", "findings": [], "target": "live",
            "snapshots": {"c": {"role": {"value": {"trust_policy": policy}}}}}
    now = {**base, "snapshots": {"c": {"role": {"value": {"trust_policy": newer}}}}}
    drift = compare(base, now, Redactor([("AZURE_BACKUP_SAS", secret)]))
    text = json.dumps(drift, ensure_ascii=False)
    assert "old-xid-123" not in text and "c2VjcmV0" not in text and "role › trust_policy" in text


@pytest.mark.parametrize(("content", "needle"), [
    (None, "no such file"),
    ("{not json", "not valid JSON (line 1"),
    ('{"findings": []}', "not an evidence.json written by this suite"),
    ('{"schema": "export-chain-compliance/evidence/v1"}', "malformed evidence.json"),
    ('{"schema": "export-chain-compliance/evidence/v1", "snapshots": {}, "findings": [{"chain": "c"}]}',
     "finding 0 is not in the shape this suite writes"),
])
def test_bad_baseline_is_one_usage_error_line(pytester: pytest.Pytester, content: str | None, needle: str) -> None:
    baseline = pytester.path / "baseline.json"
    if content is not None:
        baseline.write_text(content, encoding="utf-8")
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", "aws",
                                "--baseline", str(baseline))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = result.outlines + result.errlines
    errors = [line for line in lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "--baseline" in errors[0] and needle in errors[0], lines
    assert "Traceback" not in "\n".join(lines)
    assert not evidence.exists(), "no half-written evidence"


def test_baseline_may_name_the_run_directory(tmp_path: Path) -> None:
    (tmp_path / "evidence.json").write_text(json.dumps(
        {"schema": "export-chain-compliance/evidence/v1", "findings": [], "snapshots": {}}), encoding="utf-8")
    assert load_baseline(tmp_path)["_source"].endswith("evidence.json")
    with pytest.raises(BaselineError, match="no such file"):
        load_baseline(tmp_path / "missing")
