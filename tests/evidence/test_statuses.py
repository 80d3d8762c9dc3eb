"""Every status is shown distinctly, and none but PASS reads as a pass (pytest's "skipped" is relabelled)."""

from __future__ import annotations

import re

import pytest

from compliance.evidence.coverage import worst
from compliance.evidence.html_base import LABELS, badge
from compliance.evidence.html_check import result_cell, row_cells
from compliance.evidence.record import Record
from compliance.model import Status

from .conftest import RunSuite


def _record(status: Status) -> Record:
    return Record.from_json({
        "check": {"id": "x_check", "title": "X holds", "severity": "high", "provider": "aws",
                  "controls": ["21CFR11.10(d)"]},
        "chain": "c", "finding": {"status": status.value, "message": "It <b>is</b> so.", "evidence": []}})


@pytest.mark.parametrize("status", list(Status))
def test_each_status_has_its_own_badge(status: Status) -> None:
    html = badge(status)
    others = {badge(s) for s in LABELS if s != status}
    assert html not in others
    if status is not Status.PASS:
        assert "PASS" not in html and "ecc-st-pass" not in html


@pytest.mark.parametrize(("status", "outcome"), [
    (Status.NOT_SUPPORTED, "Skipped"), (Status.NOT_APPLICABLE, "Skipped"),
    (Status.ERROR, "Failed"), (Status.FAIL, "Failed"), (Status.PASS, "Passed")])
def test_row_shows_the_compliance_status_and_keeps_pytest_outcome_hidden(status: Status, outcome: str) -> None:
    cells = row_cells(_record(status), outcome)
    assert LABELS[status] in cells[0] and outcome not in cells[0]
    assert "It &lt;b&gt;is&lt;/b&gt; so." in cells[4], "finding text is escaped"
    hidden = result_cell(outcome)
    assert "ecc-hidden" in hidden and f">{outcome}<" in hidden
    assert all("\n" not in c for c in cells), "pytest-html parses each cell as one line"


def test_worst_status_order() -> None:
    assert worst([Status.PASS, Status.ERROR, Status.FAIL]) is Status.ERROR
    assert worst([Status.PASS, Status.NOT_RUN]) is Status.NOT_RUN, "a requirement with an unrun check is not a PASS"
    assert worst([Status.NOT_APPLICABLE, Status.NOT_RUN]) is Status.NOT_RUN
    assert worst([Status.FAIL, Status.NOT_RUN]) is Status.FAIL
    assert worst([Status.NOT_SUPPORTED, Status.NOT_RUN]) is Status.NOT_SUPPORTED
    assert worst([]) is None


def test_coverage_states_are_statuses_no_check_may_return() -> None:
    assert {s for s in Status if not s.is_finding} == {Status.NOT_RUN, Status.NOT_COVERED}


def test_not_supported_is_relabelled_in_a_real_run(run_suite: RunSuite) -> None:
    run = run_suite(select="azure_account or azure_container_immutable")
    unsupported = [r for r in run.evidence["findings"] if r["finding"]["status"] == Status.NOT_SUPPORTED.value]
    if not unsupported:
        pytest.skip("no selected Azure check is NOT SUPPORTED on the emulated target any more")
    rows = run.rows()
    for record in unsupported:
        row = rows[record["check"]["id"]]
        assert row["result"] == "Skipped"  # pytest-html's filter value
        visible = row["resultsTableRow"][0]
        assert "NOT SUPPORTED BY TARGET: not verified" in visible and "Skipped" not in visible
        assert not row["log"].startswith("(") and "NOT SUPPORTED BY TARGET" in row["log"]
    assert "ecc-verdict-incomplete" in run.html or "ecc-verdict-fail" in run.html
    assert re.search(r"INCOMPLETE|NOT MET", run.html)
