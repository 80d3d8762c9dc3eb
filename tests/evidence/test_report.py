"""What the inspector reads: header, coverage matrix, per-check rows and evidence, for a passing and a failing run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from compliance.checks import load_all_checks
from compliance.controls import REQUIREMENTS
from compliance.model import Status

from .conftest import FUZZ_EXAMPLES, ROLE_ARN_CHECK, Run, RunSuite, failing_deployment


def _summary_section(run: Run) -> str:
    match = re.search(r'<section class="ecc">.*?</section>', run.html, re.S)
    assert match is not None, "the report has no summary section"
    return match.group(0)


def _assert_header(run: Run) -> None:
    header = run.evidence["header"]
    assert header["target"] == "moto"
    assert header["chains"][0]["bucket"] == "company-audit-reports"
    assert header["chains"][0]["prefix"] == "qualio/"
    assert header["chains"][0]["azure_container"] == "audit-backup"
    assert header["identities"][0]["account_id"] == "111122223333"
    assert header["identities"][0]["caller_arn"].startswith("arn:aws:")
    assert header["identities"][0]["region"] == "us-east-1"
    assert len(header["chain_config"]["sha256"]) == 64
    for name in ("export-chain-compliance", "pytest", "boto3", "botocore", "moto", "azure-storage-blob",
                 "hypothesis", "pytest-html"):
        assert header["versions"][name], name
    assert header["fuzzing"]["examples_per_check"] == FUZZ_EXAMPLES
    section = _summary_section(run)
    for text in ("The export chain checked", "This run", "Control coverage", "Results", "Integrity of this evidence",
                 "company-audit-reports", "audit-backup", "111122223333", header["chain_config"]["sha256"],
                 "EXPORT_EXTERNAL_ID", "«redacted»", f"{FUZZ_EXAMPLES} examples per fuzzing check", header["started"],
                 header["finished"], "boto3 ", "azure-storage-blob ", "MANIFEST.sha256"):
        assert text in section, text


def _assert_matrix(run: Run) -> None:
    coverage = {row["id"]: row for row in run.evidence["coverage"]}
    assert set(coverage) == set(REQUIREMENTS), "every catalogued requirement is listed, covered or not"
    uncovered = [row for row in coverage.values() if not row["checks"]]
    assert uncovered and all(row["status"] == Status.NOT_COVERED for row in uncovered)
    assert ROLE_ARN_CHECK in [c["check"] for c in coverage["21CFR11.10(d)"]["checks"]]
    all_checks = load_all_checks()
    not_run = [cid for cid, meta in all_checks.items() if meta.provider.value == "azure"]
    for cid in not_run:  # -k aws: the Azure checks exist but did not run
        assert cid in run.evidence["checks_not_run"]
    section = _summary_section(run)
    assert section.count('class="ecc-req"') == len(REQUIREMENTS)
    assert "NOT COVERED BY THIS SUITE" in section
    if not_run:
        assert Status.NOT_RUN.value in section


def test_passing_run_report(run_suite: RunSuite) -> None:
    run = run_suite()
    assert run.result.ret == 0, run.result.stdout.str()
    _assert_header(run)
    _assert_matrix(run)
    rows = run.rows()
    row = rows[ROLE_ARN_CHECK]
    assert row["result"] == "Passed"
    cells = "".join(row["resultsTableRow"])
    for text in ("ecc-st-pass", ROLE_ARN_CHECK, "critical", "21CFR11.10(d)", "exact ARN of the existing role"):
        assert text in cells, text
    detail = "".join(e["content"] for e in row["extras"] if e["format_type"] == "html")
    for text in ("Why it matters", "Remediation", "Role ARN comparison", "iam:GetRole", "Copy the role"):
        assert text in detail, text
    assert any(e["format_type"] == "json" and e["content"].startswith("data:application/json")
               for e in row["extras"])
    assert 'class="ecc-verdict ecc-verdict-' in run.html
    assert "Status</th>" in run.html and "Check</th>" in run.html and "Controls</th>" in run.html
    assert run.evidence["drift"] is None and "No baseline was given" in run.html


def test_failing_run_report(run_suite: RunSuite) -> None:
    run = run_suite(deployment=failing_deployment())
    assert run.result.ret == 1
    assert "ecc-verdict-fail" in run.html and "NOT MET" in run.html
    row = run.rows()[ROLE_ARN_CHECK]
    assert row["result"] == "Failed"  # pytest-html's own filter value stays intact
    cells = "".join(row["resultsTableRow"])
    assert "ecc-st-fail" in cells and ">FAIL<" in cells and "the role path differs" in cells
    assert "FAIL: " in row["log"] and "the role path differs" in row["log"]
    detail = "".join(e["content"] for e in row["extras"] if e["format_type"] == "html")
    assert "arn:aws:iam::111122223333:role/exports/QualioExportRole" in detail
    assert "actual_role_arn" in detail and "<h4>Evidence</h4>" in detail
    finding = next(r for r in run.evidence["findings"] if r["check"]["id"] == ROLE_ARN_CHECK)
    assert finding["finding"]["status"] == "FAIL"
    coverage = {row["id"]: row for row in run.evidence["coverage"]}
    assert coverage["21CFR11.10(d)"]["status"] == "FAIL"
    assert run.evidence["totals"]["FAIL"] >= 1
    junit = ET.parse(run.run_dir / "junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if ROLE_ARN_CHECK in c.get("name", ""))
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["check_id"] == ROLE_ARN_CHECK and props["compliance_status"] == "FAIL"
    assert props["severity"] == "critical" and "21CFR11.10(d)" in (props["controls"] or "")
