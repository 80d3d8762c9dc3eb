"""The run directory: reports/<UTC>/ with evidence.html, junit.xml, evidence.json and MANIFEST.sha256.

Write order: pytest-html and JUnit XML write at session finish, evidence.json right after (trylast);
the manifest is written last, at unconfigure, over every file of the run; then `reports/latest`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from compliance.evidence.capture import install_log_filter
from compliance.evidence.document import evidence_document
from compliance.evidence.drift import BaselineError, load_baseline
from compliance.evidence.manifest import write_manifest
from compliance.state import RunState

HTML_NAME = "evidence.html"
JUNIT_NAME = "junit.xml"
JSON_NAME = "evidence.json"
LATEST = "latest"
BASELINE_OPTION = "--baseline"
SIGN_KEY_OPTION = "--sign-key"


def _inputs(state: RunState) -> dict[str, Any] | None:
    """Validate --baseline and --sign-key before anything is written; a problem is one usage-error line."""
    key = state.options.get(SIGN_KEY_OPTION)
    if key is not None and not Path(key).is_file():
        raise pytest.UsageError(f"{SIGN_KEY_OPTION} {key}: no such key file. Fix: pass the path of the file "
                                "holding the HMAC key, or drop the option")
    path = state.options.get(BASELINE_OPTION)
    if path is None:
        return None
    try:
        return load_baseline(Path(path))
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None


def prepare_run_dir(config: pytest.Config, state: RunState) -> None:
    """Create the run directory and point pytest-html and JUnit XML into it (unless the user did)."""
    baseline = _inputs(state)
    stamp = state.started.strftime("%Y%m%dT%H%M%SZ")
    run_dir = state.evidence_root / stamp
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = state.evidence_root / f"{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    state.run_dir = run_dir
    writer = EvidenceWriter(state, baseline)
    if hasattr(config.option, "htmlpath"):
        if not config.option.htmlpath:
            config.option.htmlpath = str(run_dir / HTML_NAME)
            config.option.self_contained_html = True
        from compliance.evidence.htmlreport import HtmlReport

        config.pluginmanager.register(HtmlReport(state, writer.document), "compliance-html-report")
    if not config.option.xmlpath:
        config.option.xmlpath = str(run_dir / JUNIT_NAME)
    config.pluginmanager.register(writer, "compliance-evidence-writer")


class EvidenceWriter:
    def __init__(self, state: RunState, baseline: dict[str, Any] | None) -> None:
        self.state = state
        self.baseline = baseline
        self._document: dict[str, Any] | None = None

    def document(self, session: pytest.Session) -> dict[str, Any]:
        """The run's evidence document, built once at session finish (HTML and JSON share it)."""
        if self._document is None:
            self._document = evidence_document(self.state, datetime.now(UTC), int(session.exitstatus),
                                               self.baseline)
        return self._document

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        install_log_filter(session.config, self.state.redactor)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        assert self.state.run_dir is not None
        document = self.document(session)
        document["exit_status"] = int(exitstatus)
        path = self.state.run_dir / JSON_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True, default=str), encoding="utf-8")
        os.replace(tmp, path)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        run_dir = self.state.run_dir
        assert run_dir is not None
        key = self.state.options.get(SIGN_KEY_OPTION)
        write_manifest(run_dir, Path(key) if key is not None else None)
        point_latest(self.state.evidence_root, run_dir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        counts: dict[str, int] = {}
        for record in self.state.records:
            status = record["finding"]["status"]
            counts[status] = counts.get(status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no checks ran"
        terminalreporter.write_sep("=", "export chain compliance")
        terminalreporter.write_line(f"Result: {summary}")
        terminalreporter.write_line(f"Evidence: {self.state.run_dir}")
        if self.baseline is not None:
            terminalreporter.write_line(f"Compared with: {self.baseline.get('_source')}")


def point_latest(root: Path, run_dir: Path) -> None:
    """Keep `reports/latest` (a symlink) and `reports/LATEST` (a text file) pointing at the newest run."""
    link = root / LATEST
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(run_dir.name, target_is_directory=True)
    except OSError:
        pass
    (root / "LATEST").write_text(run_dir.name + "\n", encoding="utf-8")
