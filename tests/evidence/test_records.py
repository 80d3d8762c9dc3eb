"""Records are typed end to end: parsed once from JSON, streamed to disk as they arrive, a crash's traceback kept."""

from __future__ import annotations

import functools
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compliance.evidence.coverage import RequirementCoverage, coverage, coverage_rows, redacted
from compliance.evidence.document import write_evidence_json
from compliance.evidence.record import Record, RecordError, record_of
from compliance.evidence.recordlog import RECORDS_NAME, RecordLog
from compliance.evidence.snapshot_store import SNAPSHOTS_NAME, SnapshotStore
from compliance.model import CheckMeta, Evidence, EvidenceKind, Finding, Provider, Remediation, Severity, Status
from compliance.redaction import Redactor

from .conftest import COMPLIANCE_DIR, EXTERNAL_ID, ROLE_ARN_CHECK

META = CheckMeta(id="x_check", title="X holds", severity=Severity.HIGH, provider=Provider.AWS, rationale="why",
                 remediation="fix it", controls=("21CFR11.10(d)",), permissions=("iam:GetRole",))


def _record(nodeid: str, status: Status = Status.PASS) -> Record:
    trust = Evidence("Trust policy", EvidenceKind.POLICY_DOCUMENT, {"Version": "2012-10-17"}, "iam:GetRole")
    finding = Finding(status, f"{nodeid} is so.", "arn:aws:iam::111122223333:role/R", (trust,), {"seed": 7},
                      Remediation("Add the condition.", {"Condition": {}}, "assumes one vendor"))
    return Record(META, "chain-a", finding, "2026-01-01T00:00:00Z", nodeid)


def test_a_record_survives_its_json_unchanged() -> None:
    record = _record("compliance/checks/test_x.py::test_x_check[chain-a]", Status.FAIL)
    data = json.loads(json.dumps(record.to_json()))
    assert Record.from_json(data) == record
    assert Record.from_json(data).to_json() == data


@pytest.mark.parametrize(("path", "value", "named"), [
    (("finding", "status"), "PASSED", "finding status"),
    (("finding", "status"), Status.NOT_RUN.value, "coverage"),
    (("check", "severity"), "urgent", "check severity"),
    (("finding", "message"), 3, "message"),
])
def test_a_record_not_in_a_run_shape_is_refused_by_name(path: tuple[str, str], value: Any, named: str) -> None:
    data = _record("n").to_json()
    data[path[0]][path[1]] = value
    with pytest.raises(RecordError, match=named):
        Record.from_json(data)


def test_mypy_catches_a_misspelt_status(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "misspelt.py"
    snippet.write_text(textwrap.dedent("""
        from compliance.model import Status

        def finished(status: Status) -> bool:
            return status is Status.NOT_RUNN
    """), encoding="utf-8")
    stdout, _, code = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(snippet)])
    assert code == 1 and '"type[Status]" has no attribute "NOT_RUNN"' in stdout, stdout


def test_the_log_streams_records_back_in_node_order_and_counts_statuses(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / RECORDS_NAME)
    for nodeid, status in (("b", Status.PASS), ("a", Status.ERROR), ("c", Status.PASS)):
        log.append(_record(nodeid, status))
    assert [r.nodeid for r in log] == ["a", "b", "c"]
    assert len((tmp_path / RECORDS_NAME).read_text(encoding="utf-8").splitlines()) == 3, "one line per record"
    assert log.statuses == {Status.PASS: 2, Status.ERROR: 1}
    log.remove()
    assert not (tmp_path / RECORDS_NAME).exists()


def _snapshot(chain: str) -> dict[str, Any]:
    return {"account_id": "111122223333", "api_calls": [{"operation": "GetRole", "ok": True}],
            "trust": {"Statement": [{"Condition": {"StringEquals": {"sts:ExternalId": f"secret-of-{chain}"}}}]},
            "note": "ünïcode <&> \"quoted\"", "empty": {}, "none": None}


@pytest.mark.parametrize("count", [0, 1, 3])
def test_streamed_evidence_json_is_what_one_json_dump_writes(tmp_path: Path, count: int) -> None:
    log = RecordLog(tmp_path / RECORDS_NAME)
    snapshots = SnapshotStore(tmp_path / SNAPSHOTS_NAME, recent=1)  # most are read back from disk
    for n in reversed(range(count)):  # written out in chain order whatever the arrival order
        log.append(_record(f"node-{n}", Status.FAIL))
        snapshots[f"chain-{n}"] = _snapshot(f"chain-{n}")
    document = {"schema": "s", "totals": {"FAIL": count}, "zeta": [1, {"b": 2}], "drift": None,
                "snapshots": snapshots}
    path = tmp_path / "evidence.json"
    redactor = Redactor()
    write_evidence_json(path, document, log, redactor)
    whole = {**document, "findings": [r.to_json() for r in log],
             "snapshots": redactor.json({chain: _snapshot(chain) for chain in snapshots})}
    assert path.read_text(encoding="utf-8") == json.dumps(whole, indent=2, sort_keys=True, default=str)
    assert "secret-of-" not in path.read_text(encoding="utf-8") or count == 0


def test_snapshot_store_keeps_only_recent_snapshots_in_memory(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / SNAPSHOTS_NAME, recent=2)
    for n in range(5):
        store[f"c{n}"] = _snapshot(f"c{n}")
    assert list(store._recent) == ["c3", "c4"]
    assert store["c0"] == _snapshot("c0") and list(store._recent) == ["c4", "c0"]  # read back from disk
    store["c0"] = {"replaced": True}
    assert store["c0"] == {"replaced": True} and len(store) == 5 and "c9" not in store
    with pytest.raises(KeyError):
        store["c9"]
    store.remove()
    assert not (tmp_path / SNAPSHOTS_NAME).exists() and len(store) == 0


class _CrashRoleCheck:
    """Makes the role check raise, with the chain's ExternalId in the exception message."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if isinstance(item, pytest.Function) and item.name.startswith(f"test_{ROLE_ARN_CHECK}"):
                original = item.obj

                @functools.wraps(original)
                def crash(*args: Any, **kwargs: Any) -> Finding:
                    raise RuntimeError(f"lookup failed for token {os.environ['EXPORT_EXTERNAL_ID']}")

                item.obj = crash


@pytest.mark.parametrize("tb", ["long", "auto"])
def test_a_crashed_check_keeps_its_traceback_redacted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                      tb: str) -> None:
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    monkeypatch.setenv("COMPLIANCE_EVIDENCE_PDF", "off")
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", ROLE_ARN_CHECK,
                                f"--tb={tb}", "-p", "no:randomly", plugins=[_CrashRoleCheck()])
    run_dir = evidence / (evidence / "LATEST").read_text(encoding="utf-8").strip()
    text = (run_dir / "evidence.json").read_text(encoding="utf-8")
    assert EXTERNAL_ID not in text and EXTERNAL_ID not in result.stdout.str() + result.stderr.str()
    finding = next(r["finding"] for r in json.loads(text)["findings"] if r["check"]["id"] == ROLE_ARN_CHECK)
    assert finding["status"] == Status.ERROR.value
    assert finding["message"].startswith("The check crashed (RuntimeError: lookup failed for token ")
    stored = finding["details"]["traceback"]
    assert stored.startswith("Traceback (most recent call last):") and "in crash" in stored
    assert "RuntimeError: lookup failed for token «redacted:EXPORT_EXTERNAL_ID»" in stored
    shown = result.stdout.str()
    assert ("Traceback (most recent call last):" in shown) is (tb == "long"), "the traceback only with --tb=long"
    assert not (run_dir / RECORDS_NAME).exists(), "evidence.json holds the records; the working file is gone"


def test_coverage_rows_read_back_typed() -> None:
    rows = coverage([("x_check", "chain-a", Status.PASS), ("x_check", "chain-b", Status.NOT_SUPPORTED)],
                    {"x_check": META})
    data = json.loads(json.dumps([row.to_json() for row in rows]))
    again = [RequirementCoverage.from_json(row) for row in data]
    assert [row.to_json() for row in again] == data
    covered = next(row for row in again if row.requirement.id == "21CFR11.10(d)")
    assert covered.status is Status.NOT_SUPPORTED and covered.checks[0].results[1] == ("chain-b", Status.NOT_SUPPORTED)
    assert all(row.status is Status.NOT_COVERED for row in again if not row.checks)



def test_a_check_under_several_requirements_keeps_its_chain_results_once() -> None:
    """The matrix as a run keeps it: one `CheckCoverage` per check, however many requirements list it (as JSON a
    dict per check, requirement and chain: megabytes for a few hundred chains)."""
    meta = CheckMeta(id="y_check", title="Y holds", severity=Severity.HIGH, provider=Provider.AWS, rationale="why",
                     remediation="fix it", controls=("21CFR11.10(d)", "21CFR11.10(e)"), permissions=())
    rows = coverage([("y_check", f"chain-{i}", Status.PASS) for i in range(3)], {"y_check": meta})
    listed = [check for row in rows for check in row.checks]
    assert len(listed) == 2 and listed[0] is listed[1]
    assert [c for c, _ in listed[0].results] == ["chain-0", "chain-1", "chain-2"]


def test_the_kept_matrix_is_redacted_like_its_json() -> None:
    """`redacted` applies the redactor to every string of the matrix, as `Redactor.json` does to its JSON form: a
    chain labelled with a secret (a misconfiguration, but one the record must survive) is written redacted."""
    secret = "SuperSecretExternal-4711"
    redactor = Redactor([("EXPORT_EXTERNAL_ID", secret)])
    rows = coverage([("x_check", f"chain-{secret}", Status.FAIL), ("x_check", "chain-b", Status.PASS)],
                    {"x_check": META})
    kept = [row.to_json() for row in redacted(rows, redactor.text)]
    assert kept == redactor.json([row.to_json() for row in rows])
    text = json.dumps(kept, ensure_ascii=False)
    assert secret not in text and "chain-«redacted:EXPORT_EXTERNAL_ID»" in text


def test_evidence_json_streams_the_kept_matrix_exactly_as_its_json(tmp_path: Path) -> None:
    rows = coverage([("x_check", "chain-a", Status.PASS), ("x_check", "chain-b", Status.ERROR)], {"x_check": META})
    document = {"schema": "s", "totals": {"PASS": 1}, "coverage": rows, "snapshots": {}}
    write_evidence_json(tmp_path / "evidence.json", document, [], Redactor())
    as_json = {**document, "coverage": [row.to_json() for row in rows], "findings": []}
    assert (tmp_path / "evidence.json").read_text(encoding="utf-8") == json.dumps(as_json, indent=2, sort_keys=True)
    assert [r.to_json() for r in coverage_rows(json.loads((tmp_path / "evidence.json").read_text()))] == \
        [r.to_json() for r in coverage_rows(document)]

class _CountRecordLines:
    """After each check's report is logged: how many lines the run's records file holds."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            (run_dir,) = [p for p in Path(os.environ["RECORDS_TEST_EVIDENCE"]).iterdir() if p.is_dir()]
            self.seen.append(len((run_dir / RECORDS_NAME).read_text(encoding="utf-8").splitlines()))


def test_records_reach_the_disk_as_each_check_finishes(pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    evidence = pytester.path / "evidence"
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    monkeypatch.setenv("COMPLIANCE_EVIDENCE_PDF", "off")
    monkeypatch.setenv("RECORDS_TEST_EVIDENCE", str(evidence))
    counter = _CountRecordLines()
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-p", "no:randomly",
                                "-k", "aws_configured_role_arn or aws_kms or aws_trust", plugins=[counter])
    findings = json.loads(next(evidence.glob("*/evidence.json")).read_text(encoding="utf-8"))["findings"]
    assert len(findings) >= 3, result.stdout.str()
    assert counter.seen == list(range(1, len(findings) + 1)), "one more line on disk after each check"
    assert [f["nodeid"] for f in findings] == sorted(f["nodeid"] for f in findings)


def test_reports_keep_no_evidence_once_the_record_is_written(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest keeps every report until the session ends: after the record is on disk a report holds its status only
    (a PASS not even its record: pytest's own "passed" says it; skipped and failed ones keep status and message)."""
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    monkeypatch.setenv("COMPLIANCE_EVIDENCE_PDF", "off")
    evidence = pytester.path / "evidence"
    recorder = pytester.inline_run(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-p", "no:randomly",
                                   "-k", ROLE_ARN_CHECK)
    calls = [report for report in recorder.getreports("pytest_runtest_logreport") if report.when == "call"]
    findings = json.loads(next(evidence.glob("*/evidence.json")).read_text(encoding="utf-8"))["findings"]
    assert len(calls) == len(findings) == 1 and findings[0]["finding"]["evidence"], "the check attaches evidence"
    assert findings[0]["finding"]["status"] == "PASS" and calls[0].passed and record_of(calls[0]) is None
    assert not hasattr(calls[0], "extras") and not calls[0].keywords and not calls[0].user_properties


def test_records_in_another_order_are_read_one_at_a_time(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / RECORDS_NAME)
    for nodeid, status in (("a", Status.PASS), ("b", Status.FAIL), ("c", Status.ERROR), ("d", Status.FAIL)):
        log.append(_record(nodeid, status))
    ordered = log.ordered(lambda r: (-r.status.rank, r.nodeid))
    assert [r.nodeid for r in ordered] == [r.nodeid for r in sorted(log, key=lambda r: (-r.status.rank, r.nodeid))]
    assert [r.nodeid for r in RecordLog(tmp_path / "none.jsonl").ordered(lambda r: r.nodeid)] == []
