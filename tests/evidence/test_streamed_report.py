"""A run's evidence.html with its rows streamed in is what pytest-html writes when it holds the rows itself."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from pytest_html.selfcontained_report import SelfContainedReport

from compliance.evidence.html_stream import SPOOL_NAME, EvidenceSpool
from compliance.evidence.html_summary import result_order, results_table
from compliance.evidence.recordlog import RECORDS_NAME
from compliance.session import htmlreport

from .conftest import COMPLIANCE_DIR, EXTERNAL_ID, FUZZ_EXAMPLES, Run

_GENERATED = re.compile(r"Report generated on .*? at \d\d:\d\d:\d\d")
DIRECT_NAME = "direct.html"


class _Spooled:
    """Every test a run spools (node id → rows), in the order written out (leftovers first, as `close` puts them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tests: dict[str, list[Any]] = {}
        self.leftover: dict[str, list[Any]] = {}
        add_test, close = EvidenceSpool.add_test, EvidenceSpool.close

        def spool_test(spool: EvidenceSpool, nodeid: str, rows: list[Any]) -> None:
            add_test(spool, nodeid, rows)
            self.tests[nodeid] = list(rows)

        def spool_close(spool: EvidenceSpool, leftover: dict[str, list[Any]]) -> str:
            self.leftover = {nodeid: list(rows) for nodeid, rows in leftover.items()}
            tests = dict(self.tests)
            token = close(spool, leftover)
            self.tests = {**self.leftover, **tests}
            return token

        monkeypatch.setattr(EvidenceSpool, "add_test", spool_test)
        monkeypatch.setattr(EvidenceSpool, "close", spool_close)

    @property
    def rows(self) -> list[Any]:
        return [row for rows in self.tests.values() for row in rows]


def _pytest_html(session: pytest.Session) -> Any:
    (html,) = [p for p in session.config.pluginmanager.get_plugins() if isinstance(p, SelfContainedReport)]
    return html


class _DirectRender:
    """Once pytest-html has written its report (before the placeholder is replaced), it writes the same report
    again with its tests instead of the placeholder: what it writes without streaming."""

    def __init__(self, spooled: _Spooled) -> None:
        self.spooled = spooled
        self.placeholders_seen = 0
        self.markers_seen = 0

    @pytest.hookimpl(wrapper=True, trylast=True)  # innermost: after pytest-html's write, inside the streaming
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        result = yield
        html = _pytest_html(session)
        written = Path(html._report_path)
        report = written.read_text(encoding="utf-8")
        data = html._report._data
        self.placeholders_seen = report.count(f"&#34;{data['tests']}&#34;")
        ours = session.config.pluginmanager.getplugin("compliance-html-report")
        marker = ours.spool.results_marker_text()
        self.markers_seen = report.count(marker)
        prefix = html._report.additional_summary["prefix"]
        table = "".join(results_table(sorted(ours.records, key=result_order)))  # the Results table, made whole
        html._report._data = {**data, "tests": self.spooled.tests}
        html._report.additional_summary["prefix"] = [part.replace(marker, table) for part in prefix]
        html._report_path = written.with_name(DIRECT_NAME)
        try:
            html._generate_report()
        finally:
            html._report._data, html._report_path = data, written
            html._report.additional_summary["prefix"] = prefix
        return result


class _Kept:
    """What pytest-html and pytest's terminal summary still hold once every test has run (before the write)."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.reports: dict[str, Any] = {}
        self.extras: list[Any] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        html = _pytest_html(session)
        self.rows = [row for rows in html._report.data["tests"].values() for row in rows]  # before the summary
        self.reports = dict(html._reports)
        stats = session.config.pluginmanager.getplugin("terminalreporter").stats
        self.extras = [r.extras for reports in stats.values() for r in reports if getattr(r, "extras", None)]


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *plugins: object) -> Run:
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    monkeypatch.setenv("COMPLIANCE_EVIDENCE_PDF", "off")  # the report is written before the PDF, the same without it
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", "aws",
                                "--fuzz-examples", str(FUZZ_EXAMPLES), "-p", "no:randomly", plugins=list(plugins))
    return Run(result, evidence / (evidence / "LATEST").read_text(encoding="utf-8").strip())


def _decoded(uri: str) -> Any:
    prefix = "data:application/json;charset=utf-8;base64,"
    assert uri.startswith(prefix), uri[:80]
    return json.loads(base64.b64decode(uri.removeprefix(prefix)))


def test_streamed_report_is_byte_for_byte_what_pytest_html_writes(pytester: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spooled = _Spooled(monkeypatch)
    direct = _DirectRender(spooled)
    run = _run(pytester, monkeypatch, direct)
    checks = len(run.evidence["findings"])
    assert checks > 10 and len(spooled.rows) == checks, run.result.stdout.str()
    assert (direct.placeholders_seen, direct.markers_seen) == (1, 1), "the tests object and the Results table once"
    streamed = (run.run_dir / "evidence.html").read_bytes()
    written_directly = (run.run_dir / DIRECT_NAME).read_bytes()
    assert _GENERATED.sub("", streamed.decode("utf-8")) == _GENERATED.sub("", written_directly.decode("utf-8"))
    assert len(streamed) == len(written_directly)


def test_pytest_html_keeps_only_placeholders_and_no_reports(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Row spooling engages with the installed pytest-html (it reaches into its internals: an upgrade that moves
    them falls back to rows in memory, correct but not flat, and fails here)."""
    spooled = _Spooled(monkeypatch)
    kept = _Kept()
    run = _run(pytester, monkeypatch, kept)
    assert len(spooled.rows) == len(run.evidence["findings"]) > 10, run.result.stdout.str()
    assert kept.rows == [] and spooled.leftover == {}, "pytest-html forgets each test's rows once they are spooled"
    assert kept.reports == {}, "pytest-html forgets each test's reports once its rows are made"
    assert kept.extras == [], "the reports pytest's terminal summary keeps hold no evidence"


def test_without_pytest_html_s_internals_the_rows_stay_in_memory_and_the_report_is_whole(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback for a pytest-html whose internals are not where 4.2 keeps them: nothing spooled, nothing lost."""
    monkeypatch.setattr(htmlreport, "_pytest_html_state", lambda config: None)
    spooled = _Spooled(monkeypatch)
    kept = _Kept()
    run = _run(pytester, monkeypatch, kept)
    assert spooled.rows == [] and kept.rows and all(isinstance(row, dict) for row in kept.rows)
    rows = [entry for entries in run.blob["tests"].values() for entry in entries]
    assert len(rows) == len(run.evidence["findings"]) > 10
    assert all(row["extras"][1]["name"] == "finding.json" and "ecc-mono" in row["extras"][0]["content"] for row in rows)
    assert not (run.run_dir / SPOOL_NAME).exists()


def test_each_check_s_evidence_is_in_its_row(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    spooled = _Spooled(monkeypatch)
    run = _run(pytester, monkeypatch)
    rows = [entry for entries in run.blob["tests"].values() for entry in entries]
    assert rows == spooled.rows, "each spooled row in its place"
    assert len(rows) == len(run.evidence["findings"]) > 10
    by_node = {f["nodeid"]: f for f in run.evidence["findings"]}
    for nodeid, entries in run.blob["tests"].items():
        (row,) = entries
        html_extra, json_extra = row["extras"]
        assert (html_extra["name"], html_extra["format_type"]) == (None, "html")
        assert (json_extra["name"], json_extra["format_type"], json_extra["extension"]) == ("finding.json", "json",
                                                                                            "json")
        assert f'href="{json_extra["content"]}"' in "".join(row["resultsTableRow"]), "the row links the same JSON"
        finding, recorded = _decoded(json_extra["content"]), by_node[nodeid]
        assert finding["check"]["id"] == recorded["check"]["id"] and finding["chain"] == recorded["chain"]
        assert finding["finding"]["status"] == recorded["finding"]["status"]
        assert f'<span class="ecc-mono">{recorded["check"]["id"]}</span>' in html_extra["content"]
    assert not re.search(r"ECC[0-9a-f]{16}T", run.html), "no placeholder left"
    assert not (run.run_dir / SPOOL_NAME).exists() and not (run.run_dir / RECORDS_NAME).exists()
    assert SPOOL_NAME not in (run.run_dir / "MANIFEST.sha256").read_text(encoding="utf-8")


class _BreakSpool:
    """The spool is lost before the report is completed (a full disk, a deleted file)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        html = session.config.pluginmanager.getplugin("compliance-html-report")
        assert html is not None and html.spool is not None
        html.spool.path.unlink()


def test_a_report_that_cannot_be_completed_is_removed_not_left_with_placeholders(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(pytester, monkeypatch, _BreakSpool())
    assert not (run.run_dir / "evidence.html").exists()
    assert "ERROR: evidence.html could not be completed (FileNotFoundError" in run.result.stderr.str()
    manifest = (run.run_dir / "MANIFEST.sha256").read_text(encoding="utf-8")
    assert "evidence.html" not in manifest and "evidence.json" in manifest
