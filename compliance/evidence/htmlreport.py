"""pytest-html hooks: title, the summary page, the results table's columns and each check's evidence.

Registered only when pytest-html is active (its hook specifications exist only then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from typing import Any

import pytest

from compliance.evidence.header import versions
from compliance.evidence.html_check import HEADER_CELLS, RESULT_HEADER, detail_html, result_cell, row_cells
from compliance.evidence.html_summary import summary_html
from compliance.evidence.record import Record, record_of, snapshot_of
from compliance.evidence.run_view import RunView

_OUTCOMES = {"passed": "Passed", "failed": "Failed", "skipped": "Skipped"}
NO_LOG = "No log output captured."


def _outcome(report: Any) -> str:
    """pytest-html's own outcome label (its filters and sorting rely on it)."""
    if getattr(report, "when", None) in ("setup", "teardown", "collect") and report.outcome == "failed":
        return "Error"
    if hasattr(report, "wasxfail"):
        return "XFailed" if report.outcome == "skipped" else "XPassed"
    return _OUTCOMES.get(report.outcome, str(report.outcome).capitalize())


class HtmlReport:
    """Turns pytest-html's developer table into an inspector's report."""

    def __init__(self, state: RunView, document: Callable[[pytest.Session], dict[str, Any]],
                 records: Iterable[Record]) -> None:
        self.state = state
        self.document = document
        self.records = records

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover - pytest-html depends on pytest-metadata
            return
        environment = session.config.stash[metadata_key]
        environment.clear()
        environment.update(versions())

    def pytest_html_report_title(self, report: Any) -> None:
        chains = self.state.chain_config.chains if self.state.chain_config else ()
        names = ", ".join(f"{c.vendor.name} → {c.aws.bucket}" for c in chains) or "no chain"
        what_if = "WHAT-IF: " if self.state.options.get("--proposed") else ""
        report.title = f"{what_if}Export chain compliance evidence: {names} ({self.state.started:%Y-%m-%dT%H:%M:%SZ})"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        original = list(cells)
        cells[:] = [*HEADER_CELLS, *original[1:], RESULT_HEADER]

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        record = record_of(report)
        cells[:] = [*row_cells(record, _outcome(report)), *cells[1:], result_cell(_outcome(report))]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Attach the evidence as extras before pytest-html (trylast) renders the row."""
        record = record_of(report)
        if record is None:
            return
        from pytest_html import extras

        snapshot = snapshot_of(report) or self.state.snapshots_json.get(record.chain or "") or {}
        calls = snapshot.get("api_calls") or []
        report_extras = list(getattr(report, "extras", []))
        report_extras.append(extras.html(detail_html(record, calls)))
        finding_json = {k: v for k, v in record.to_json().items() if k != "nodeid"}  # the row names its node
        report_extras.append(extras.json(finding_json, name="finding.json"))
        setattr(report, "extras", report_extras)  # noqa: B010 - pytest-html reads this attribute

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        """A check's log starts with its outcome in words, not pytest's (path, line, reason) skip tuple."""
        longrepr = getattr(report, "longrepr", None)
        if record_of(report) is not None and isinstance(longrepr, tuple) and data:
            data[0] = escape(str(longrepr[2]).removeprefix("Skipped: ")) + "\n"
        if data == [NO_LOG]:  # pytest-html's filler: no empty log box in the inspector's report
            data.clear()

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        prefix.append(summary_html(self.document(session), self.records))
