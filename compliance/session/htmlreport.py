"""pytest-html hooks: title, the summary page, the results table's columns and each check's evidence.

Registered only when pytest-html is active (its hook specifications exist only then). In a self-contained report
(the run directory's evidence.html) each test's rows are streamed: once pytest-html has made them, it keeps
placeholders, and the rows go into the written file from a spool on disk (`compliance.evidence.html_stream`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest

from compliance.evidence.header import versions
from compliance.evidence.html_check import HEADER_CELLS, RESULT_HEADER, detail_html, result_cell, row_cells
from compliance.evidence.html_stream import SPOOL_NAME, EvidenceSpool
from compliance.evidence.html_summary import result_order, results_table, summary_html
from compliance.evidence.record import Record, record_of, snapshot_of
from compliance.evidence.recordlog import RecordLog
from compliance.evidence.run_view import RunView

_OUTCOMES = {"passed": "Passed", "failed": "Failed", "skipped": "Skipped"}
NO_LOG = "No log output captured."


@dataclass(frozen=True)
class _PytestHtmlState:
    """pytest-html's own per-test state (4.2's `BaseReport`, not an API): the rows it renders at the end, by node
    id, and each test's reports, which it needs only until that test's teardown report has been processed."""

    data: dict[str, Any]
    reports: dict[str, dict[Any, list[Any]]]

    @property
    def rows(self) -> dict[str, list[Any]]:
        tests: dict[str, list[Any]] = self.data["tests"]
        return tests


def _pytest_html_state(config: pytest.Config) -> _PytestHtmlState | None:
    """Found where pytest-html 4.2 keeps it; None if it is not there (another version): the rows then stay in its
    memory, the report correct but memory not flat (tests/evidence/test_streamed_report.py pins that it is found)."""
    try:
        from pytest_html.basereport import BaseReport
    except ImportError:  # pragma: no cover - registered only with pytest-html
        return None
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, BaseReport):
            data = getattr(getattr(plugin, "_report", None), "data", None)
            rows = data.get("tests") if isinstance(data, dict) else None
            reports = getattr(plugin, "_reports", None)
            if isinstance(data, dict) and isinstance(rows, dict) and isinstance(reports, dict):
                return _PytestHtmlState(data, reports)
    return None


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
        self.spool: EvidenceSpool | None = None
        self.pytest_html: _PytestHtmlState | None = None
        self.report_path: Path | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        option = session.config.option
        if getattr(option, "self_contained_html", False) and option.htmlpath and self.state.run_dir is not None:
            # where pytest-html writes it (its own resolution of --html, at the same working directory)
            self.report_path = Path.cwd() / Path(os.path.expandvars(option.htmlpath)).expanduser()
            self.pytest_html = _pytest_html_state(session.config)
            if self.pytest_html is not None:
                self.spool = EvidenceSpool(self.state.run_dir / SPOOL_NAME)
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

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        """Attach the evidence as extras before pytest-html (trylast) makes the row; once it has made a test's rows
        (at its teardown report), spool them."""
        self._attach_evidence(report)
        result = yield
        # pytest-html's own test of "finished" ("rerun" is pytest-rerunfailures', outside pytest's outcome type)
        if report.when == "teardown" and str(report.outcome) != "rerun":
            self._spool_rows(report.nodeid)
        return result

    def _attach_evidence(self, report: pytest.TestReport) -> None:
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

    def _spool_rows(self, nodeid: str) -> None:
        """pytest-html forgets the test's rows (spooled) and its reports; the reports (pytest's terminal summary may
        keep them) lose their extras, which are in the spooled rows now."""
        if self.spool is None or self.pytest_html is None:
            return
        rows = self.pytest_html.rows.pop(nodeid, None)
        if rows:
            self.spool.add_test(nodeid, rows)
        for reports in self.pytest_html.reports.pop(nodeid, {}).values():
            for each in reports:
                if getattr(each, "extras", None):
                    each.extras = []

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """Around pytest-html's write of evidence.html (and evidence.json's), before the manifest and the PDF (at
        unconfigure): the placeholders are replaced with the spooled evidence. A report that cannot be completed is
        removed, never left with placeholders: `python -m compliance verify` then reports it missing."""
        try:
            return (yield)
        finally:
            self._complete_report()

    def _complete_report(self) -> None:
        spool, self.spool = self.spool, None
        if spool is None or self.report_path is None:
            return
        try:
            if self.report_path.exists():
                spool.fill(self.report_path)
        except Exception as exc:  # the rest of the record must still be hashed and signed
            self.report_path.unlink(missing_ok=True)
            message = self.state.redactor().text(f"{type(exc).__name__}: {exc}".splitlines()[0])
            sys.stderr.write(f"ERROR: {self.report_path.name} could not be completed ({message}); the record is "
                             "incomplete and `python -m compliance verify` will report it missing\n")
        finally:
            spool.remove()

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        """A check's log starts with its outcome in words, not pytest's (path, line, reason) skip tuple."""
        longrepr = getattr(report, "longrepr", None)
        if record_of(report) is not None and isinstance(longrepr, tuple) and data:
            data[0] = escape(str(longrepr[2]).removeprefix("Skipped: ")) + "\n"
        if data == [NO_LOG]:  # pytest-html's filler: no empty log box in the inspector's report
            data.clear()

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        results = None
        if self.spool is not None and isinstance(self.records, RecordLog):  # streamed in with the tests
            records = self.records
            results = self.spool.results_marker(lambda: results_table(records.ordered(result_order)))
        prefix.append(summary_html(self.document(session), self.records, results=results))
        # pytest-html calls this right before it writes the report: its tests object becomes one placeholder
        if self.spool is not None and self.pytest_html is not None and isinstance(self.pytest_html.rows, dict):
            self.pytest_html.data["tests"] = self.spool.close(self.pytest_html.rows)
