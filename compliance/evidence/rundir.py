"""The run directory: reports/<UTC timestamp>/ with evidence.html, junit.xml and evidence.json."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import compliance
from compliance.state import RunState

HTML_NAME = "evidence.html"
JUNIT_NAME = "junit.xml"
JSON_NAME = "evidence.json"
LATEST = "latest"


def prepare_run_dir(config: pytest.Config, state: RunState) -> None:
    """Create the run directory and point pytest-html and JUnit XML into it (unless the user did)."""
    stamp = state.started.strftime("%Y%m%dT%H%M%SZ")
    run_dir = state.evidence_root / stamp
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = state.evidence_root / f"{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    state.run_dir = run_dir
    if not config.option.htmlpath:
        config.option.htmlpath = str(run_dir / HTML_NAME)
        config.option.self_contained_html = True
    if not config.option.xmlpath:
        config.option.xmlpath = str(run_dir / JUNIT_NAME)
    config.pluginmanager.register(EvidenceWriter(state), "compliance-evidence-writer")


class EvidenceWriter:
    def __init__(self, state: RunState) -> None:
        self.state = state

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        assert state.run_dir is not None
        finished = datetime.now(UTC)
        document = evidence_document(state, finished, int(exitstatus))
        path = state.run_dir / JSON_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True, default=str), encoding="utf-8")
        os.replace(tmp, path)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        assert self.state.run_dir is not None
        point_latest(self.state.evidence_root, self.state.run_dir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        counts: dict[str, int] = {}
        for record in self.state.records:
            status = record["finding"]["status"]
            counts[status] = counts.get(status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no checks ran"
        terminalreporter.write_sep("=", "export chain compliance")
        terminalreporter.write_line(f"Result: {summary}")
        terminalreporter.write_line(f"Evidence: {self.state.run_dir}")


def evidence_document(state: RunState, finished: datetime, exitstatus: int) -> dict[str, Any]:
    redactor = state.redactor()
    config = state.chain_config
    return {
        "schema": "export-chain-compliance/evidence/v1",
        "suite_version": compliance.__version__,
        "target": state.target,
        "chain_config": {"path": str(state.chain_path), "sha256": config.sha256 if config else None},
        "started": state.started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "exit_status": exitstatus,
        "findings": redactor.json(sorted(state.records, key=lambda r: r["nodeid"])),
        "snapshots": redactor.json(state.snapshots_json),
    }


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
