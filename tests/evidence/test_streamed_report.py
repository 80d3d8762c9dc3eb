"""A run's evidence.html with its evidence streamed in is what pytest-html writes when it holds the evidence itself."""

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
from compliance.evidence.recordlog import RECORDS_NAME

from .conftest import COMPLIANCE_DIR, EXTERNAL_ID, FUZZ_EXAMPLES, Run

_GENERATED = re.compile(r"Report generated on .*? at \d\d:\d\d:\d\d")
DIRECT_NAME = "direct.html"


class _Spooled:
    """Every piece a run spools, by its placeholder: the detail HTML, or the finding.json content."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pieces: dict[str, tuple[str, Any]] = {}
        html_placeholder, json_placeholder = EvidenceSpool.html_placeholder, EvidenceSpool.json_placeholder

        def spool_html(spool: EvidenceSpool, html: str) -> str:
            token = html_placeholder(spool, html)
            self.pieces[token] = ("html", html)
            return token

        def spool_json(spool: EvidenceSpool, content: object) -> str:
            token = json_placeholder(spool, content)
            self.pieces[token] = ("json", content)
            return token

        monkeypatch.setattr(EvidenceSpool, "html_placeholder", spool_html)
        monkeypatch.setattr(EvidenceSpool, "json_placeholder", spool_json)


class _DirectRender:
    """Once pytest-html has written its report (before the placeholders are replaced), it writes the same report
    again with the evidence itself in its data instead of the placeholders: what it wrote before streaming."""

    def __init__(self, spooled: _Spooled) -> None:
        self.spooled = spooled
        self.placeholders_seen = 0

    @pytest.hookimpl(wrapper=True, trylast=True)  # innermost: after pytest-html's write, inside the streaming
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        result = yield
        (html,) = [p for p in session.config.pluginmanager.get_plugins() if isinstance(p, SelfContainedReport)]
        written = Path(html._report_path)
        report = written.read_text(encoding="utf-8")
        data = html._report._data
        text = json.dumps(data)
        for token, (kind, content) in self.spooled.pieces.items():
            if kind == "html":
                placeholder, evidence = token, json.dumps(content)[1:-1]
            else:  # pytest-html's own data: URI of the placeholder, then of the finding itself
                placeholder = html._data_content(json.dumps(token), mime_type="application/json")
                evidence = html._data_content(json.dumps(content), mime_type="application/json")
            self.placeholders_seen += report.count(placeholder)
            text = text.replace(placeholder, evidence)
        html._report._data = json.loads(text)
        html._report_path = written.with_name(DIRECT_NAME)
        try:
            html._generate_report()
        finally:
            html._report._data, html._report_path = data, written
        return result


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
    assert checks > 10 and len(spooled.pieces) == 2 * checks, run.result.stdout.str()
    assert direct.placeholders_seen == 3 * checks, "each detail once, each finding.json link twice (data and row)"
    streamed = (run.run_dir / "evidence.html").read_bytes()
    written_directly = (run.run_dir / DIRECT_NAME).read_bytes()
    assert _GENERATED.sub("", streamed.decode("utf-8")) == _GENERATED.sub("", written_directly.decode("utf-8"))
    assert len(streamed) == len(written_directly)


def test_each_check_s_evidence_is_in_its_row(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    spooled = _Spooled(monkeypatch)
    run = _run(pytester, monkeypatch)
    details = [content for kind, content in spooled.pieces.values() if kind == "html"]
    findings = [content for kind, content in spooled.pieces.values() if kind == "json"]
    rows = [entry for entries in run.blob["tests"].values() for entry in entries]
    assert len(rows) == len(details) == len(findings) == len(run.evidence["findings"]) > 10
    for row, detail, finding in zip(rows, details, findings, strict=True):
        html_extra, json_extra = row["extras"]
        assert html_extra == {"name": None, "format_type": "html", "content": detail, "mime_type": None,
                              "extension": None}
        assert (json_extra["name"], json_extra["format_type"], json_extra["extension"]) == ("finding.json", "json",
                                                                                            "json")
        assert _decoded(json_extra["content"]) == finding
        assert f'href="{json_extra["content"]}"' in "".join(row["resultsTableRow"]), "the row links the same JSON"
    by_node = {f["nodeid"]: f for f in run.evidence["findings"]}
    for nodeid, entries in run.blob["tests"].items():
        finding = _decoded(entries[-1]["extras"][1]["content"])
        recorded = by_node[nodeid]
        assert finding["check"]["id"] == recorded["check"]["id"] and finding["chain"] == recorded["chain"]
        assert finding["finding"]["status"] == recorded["finding"]["status"]
        assert f'<span class="ecc-mono">{recorded["check"]["id"]}</span>' in entries[-1]["extras"][0]["content"]
    html = run.html
    assert not any(token in html for token in spooled.pieces), "no placeholder left"
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
