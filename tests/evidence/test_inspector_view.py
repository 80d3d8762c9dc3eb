"""The inspector's view: no engineer-only leftovers, one date format, the verdict word, honest coverage wording,
configured resources with emulator addresses labelled, and the API call that produced each piece of evidence."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from compliance.evidence.coverage import CheckCoverage
from compliance.evidence.html_check import detail_html
from compliance.evidence.html_summary import _counted
from compliance.evidence.record import Record
from compliance.evidence.style import CSS
from compliance.model import Status

from .conftest import SuiteRun

_BLOB = re.compile(r'data-jsonblob="([^"]*)"')
_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _blob(run: SuiteRun) -> dict[str, Any]:
    page = (run.run_dir / "evidence.html").read_text(encoding="utf-8")
    match = _BLOB.search(page)
    assert match is not None
    data: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return data


def test_no_empty_log_boxes(signed_failing_run: SuiteRun) -> None:
    logs = [entry["log"] for entries in _blob(signed_failing_run)["tests"].values() for entry in entries]
    assert logs and not any("No log output captured" in log for log in logs)
    assert any(log.startswith("FAIL: ") for log in logs)  # a failure keeps its words


def test_pytest_html_leftovers_are_hidden() -> None:
    for rule in ('input[data-test-result="xfailed"]', 'input[data-test-result="rerun"]',
                 'input[data-test-result="xpassed"]', ".run-count", "h1#title + p", ".col-duration"):
        assert rule in CSS, rule
    assert ".extras-row.hidden { display: table-row !important; }" in CSS  # passing checks print expanded


def test_one_date_format(signed_failing_run: SuiteRun) -> None:
    document = signed_failing_run.evidence
    for value in (document["started"], document["finished"], document["header"]["started"],
                  document["header"]["finished"], *(r["recorded_at"] for r in document["findings"])):
        assert _ISO_Z.match(value), value
    page = (signed_failing_run.run_dir / "evidence.html").read_text(encoding="utf-8")
    title = re.search(r"<title[^>]*>([^<]*)</title>", page)
    assert title is not None and re.search(r"\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\)", title.group(1))


def test_terminal_prints_the_verdict_and_status_names(signed_failing_run: SuiteRun) -> None:
    out = signed_failing_run.stdout
    assert "Verdict: NOT MET: at least one check failed or could not be verified" in out
    assert re.search(r"Result: .*\d+ FAIL", out) and re.search(r"\d+ PASS", out)


def test_coverage_never_counts_not_supported_as_ran() -> None:
    checks = [CheckCoverage("c", "C", status, ()) for status in (Status.PASS, Status.NOT_SUPPORTED, Status.NOT_RUN)]
    text = _counted(checks)
    assert text == "1 of 3 checks verified it; 1 not supported by the target; 1 not run"
    assert "ran" not in text.replace("not run", "")


def test_resources_and_emulator_addresses_are_labelled(signed_failing_run: SuiteRun) -> None:
    chain = signed_failing_run.evidence["header"]["chains"][0]
    assert chain["bucket"] == "company-audit-reports" and chain["aws_endpoint"].startswith("moto (emulator")
    page = (signed_failing_run.run_dir / "evidence.html").read_text(encoding="utf-8")
    assert "AWS reads went to" in page and "Azure backup container (configured)" in page


def test_api_table_names_the_call_behind_each_piece_of_evidence(signed_failing_run: SuiteRun) -> None:
    document = signed_failing_run.evidence
    record = next(r for r in document["findings"] if r["check"]["id"] == "aws_bucket_default_encryption_is_sse_kms")
    calls = document["snapshots"][record["chain"]]["api_calls"]
    page = detail_html(Record.from_json(record), calls)
    table = page[page.index("API calls that read this check's inputs"):]
    row = next(r for r in table.split("<tr>") if "s3:GetBucketEncryption" in r)
    assert "s3:GetEncryptionConfiguration" in row  # the IAM action AWS authorises the call with
    assert "Default encryption" in row  # the evidence it produced
    location = next(r for r in table.split("<tr>") if "s3:GetBucketLocation" in r)
    assert "Default encryption" not in location
