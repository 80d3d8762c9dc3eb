"""The run directory: reports/<UTC>[-whatif]/ with evidence.html, junit.xml, evidence.json, evidence.pdf,
MANIFEST.sha256 and, when signed, signatures/01-executed.json.

Write order: pytest-html and JUnit XML write at session finish, evidence.json right after (trylast), and
then (a session-finish hook wrapper, `compliance.session.htmlreport`) the checks' evidence is streamed into
evidence.html in place of pytest-html's placeholders;
at unconfigure evidence.pdf (embedding evidence.json and the manifest of the files so far), then the
manifest over every file of the run, then the execution signature over the manifest; then `reports/latest`.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from compliance.evidence.document import evidence_document, write_evidence_json
from compliance.evidence.drift import BaselineError, load_baseline
from compliance.evidence.header import SIGNATURE_KEY, WHAT_IF_BANNER, is_what_if
from compliance.evidence.manifest import MANIFEST_NAME, write_manifest
from compliance.evidence.recordlog import RECORDS_NAME, RecordLog
from compliance.evidence.run_view import RunView
from compliance.evidence.signing import (
    ALGORITHM,
    Meaning,
    SigningError,
    add_signature,
    fingerprint,
    load_private_key,
    make_signature,
)
from compliance.evidence.snapshot_store import SnapshotStore
from compliance.evidence.verdict import verdict_of
from compliance.session.capture import install_log_filter

HTML_NAME = "evidence.html"
PDF_NAME = "evidence.pdf"
JUNIT_NAME = "junit.xml"
JSON_NAME = "evidence.json"
LATEST = "latest"
BASELINE_OPTION = "--baseline"
SIGN_KEY_OPTION = "--sign-key"
SIGNER_OPTION = "--signer"
OPERATOR_OPTION = "--operator"
FORCE_BASELINE_OPTION = "--force-baseline"
WHAT_IF_SUFFIX = "-whatif"
_PRIVATE_KEY = "evidence.private_key"


def _signing(state: RunView) -> None:
    """Load the --sign-key private key now (a bad key is one usage-error line, before anything is written)."""
    key_path = state.options.get(SIGN_KEY_OPTION)
    if key_path is None:
        return
    try:
        key = load_private_key(Path(key_path))
    except SigningError as exc:
        raise pytest.UsageError(f"{SIGN_KEY_OPTION} {exc}") from None
    from compliance.evidence.attribution import operator

    signer = " ".join(str(state.options.get(SIGNER_OPTION) or "").split()) or operator(
        state.options.get(OPERATOR_OPTION))["name"]
    state.resources[_PRIVATE_KEY] = key
    state.resources[SIGNATURE_KEY] = {"signer": signer, "meaning": Meaning.EXECUTED.value,
                                      "key_fingerprint": fingerprint(key.public_key()), "algorithm": ALGORITHM}


def _inputs(state: RunView) -> dict[str, Any] | None:
    """Validate --baseline and --sign-key before anything is written; a problem is one usage-error line."""
    _signing(state)
    path = state.options.get(BASELINE_OPTION)
    if path is None:
        return None
    try:
        baseline = load_baseline(Path(path))
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None
    header: dict[str, Any] = baseline["header"] if isinstance(baseline.get("header"), dict) else {}
    if header.get("what_if") and not state.options.get(FORCE_BASELINE_OPTION):
        raise pytest.UsageError(
            f"{BASELINE_OPTION} {baseline.get('_source')}: a what-if run ({WHAT_IF_BANNER}); drift against it "
            f"would compare with a system that was never deployed. Fix: pass a run of the deployed system, or add "
            f"{FORCE_BASELINE_OPTION} to compare with it anyway")
    return baseline


def prepare_run_dir(config: pytest.Config, state: RunView) -> RecordLog:
    """Create the run directory and point pytest-html and JUnit XML into it (unless the user did); the returned
    log is where the run's records go as they arrive."""
    baseline = _inputs(state)
    stamp = state.started.strftime("%Y%m%dT%H%M%SZ")
    tail = WHAT_IF_SUFFIX if is_what_if(state) else ""
    run_dir = state.evidence_root / f"{stamp}{tail}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = state.evidence_root / f"{stamp}-{suffix}{tail}"
    run_dir.mkdir(parents=True)
    state.run_dir = run_dir
    records = RecordLog(run_dir / RECORDS_NAME)
    writer = EvidenceWriter(state, baseline, records)
    if hasattr(config.option, "htmlpath"):
        if not config.option.htmlpath:
            config.option.htmlpath = str(run_dir / HTML_NAME)
            config.option.self_contained_html = True
        from compliance.session.htmlreport import HtmlReport

        config.pluginmanager.register(HtmlReport(state, writer.document, records), "compliance-html-report")
    if not config.option.xmlpath:  # the user's --junitxml is pytest's to write
        from compliance.session.junit import register_junit

        register_junit(config, run_dir / JUNIT_NAME)  # streamed: memory flat in the number of tests
    config.pluginmanager.register(writer, "compliance-evidence-writer")
    return records


class EvidenceWriter:
    def __init__(self, state: RunView, baseline: dict[str, Any] | None, records: RecordLog) -> None:
        self.state = state
        self.baseline = baseline
        self.records = records
        self._document: dict[str, Any] | None = None

    def document(self, session: pytest.Session) -> dict[str, Any]:
        """The run's evidence document without its findings, built once at session finish (HTML and JSON share
        it; the findings are streamed from the record log)."""
        if self._document is None:
            self._document = evidence_document(self.state, self.records, datetime.now(UTC), int(session.exitstatus),
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
        write_evidence_json(self.state.run_dir / JSON_NAME, document, self.records, self.state.redactor())

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        run_dir = self.state.run_dir
        assert run_dir is not None
        if self._document is not None:  # evidence.json (and the HTML) hold every record and snapshot now
            self.records.remove()
            if isinstance(self.state.snapshots_json, SnapshotStore):
                self.state.snapshots_json.remove()
        if self._document is not None and not pdf_enabled():
            sys.stderr.write(f"NOTE: {PDF_NAME} was not written ({PDF_ENV}=off); the record is incomplete and "
                             "`python -m compliance verify` will report it missing\n")
        elif self._document is not None:
            try:
                write_pdf_copy(run_dir)
            except Exception as exc:  # the rest of the record must still be hashed and signed
                (run_dir / (PDF_NAME + ".tmp")).unlink(missing_ok=True)
                message = self.state.redactor().text(f"{type(exc).__name__}: {exc}".splitlines()[0])
                sys.stderr.write(f"ERROR: {PDF_NAME} could not be written ({message}); the record is incomplete "
                                 "and `python -m compliance verify` will report it missing. Fix: install WeasyPrint "
                                 "and the Pango library (see README, 'Evidence, signatures and the PDF')\n")
        write_manifest(run_dir)
        key = self.state.resources.get(_PRIVATE_KEY)
        signature = self.state.resources.get(SIGNATURE_KEY)
        if key is not None and isinstance(signature, dict):
            add_signature(run_dir, make_signature((run_dir / MANIFEST_NAME).read_bytes(), key,
                                                  str(signature["signer"]), Meaning.EXECUTED))
        point_latest(self.state.evidence_root, run_dir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        counts = self.records.statuses
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no checks ran"
        terminalreporter.write_sep("=", "export chain compliance")
        if is_what_if(self.state):
            terminalreporter.write_line(WHAT_IF_BANNER, yellow=True, bold=True)
        if self._document is not None:
            verdict = verdict_of(self._document)
            prefix = "WHAT-IF " if is_what_if(self.state) else ""
            terminalreporter.write_line(f"Verdict: {prefix}{verdict.sentence}", bold=True)
        terminalreporter.write_line(f"Result: {summary}")
        terminalreporter.write_line(f"Evidence: {self.state.run_dir}")
        if self.baseline is not None:
            drift = (self._document or {}).get("drift") or {}
            changed = len(drift.get("status_changes") or [])
            terminalreporter.write_line(f"Compared with: {self.baseline.get('_source')}: {changed} check status(es) "
                                        "changed")


PDF_ENV = "COMPLIANCE_EVIDENCE_PDF"


def pdf_enabled() -> bool:
    """`COMPLIANCE_EVIDENCE_PDF=off` skips the archival PDF, the slowest part of a run (seconds to minutes for
    many chains). For development and the suite's own tests only: a run without it is not a complete record."""
    return os.environ.get(PDF_ENV, "on").strip().lower() not in ("off", "0", "no", "false")


def write_pdf_copy(run_dir: Path) -> None:
    """evidence.pdf, embedding evidence.json as written and the manifest of the files written so far (rendered in
    a child process from the evidence.json in `run_dir`)."""
    from compliance.evidence.pdf import render_in_child

    render_in_child(run_dir)


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
