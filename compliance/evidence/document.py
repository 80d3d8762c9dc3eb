"""evidence.json: the machine-readable record of a run, and the data the HTML summary is drawn from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import compliance
from compliance.checks import load_all_checks
from compliance.evidence.coverage import coverage, tally
from compliance.evidence.drift import compare
from compliance.evidence.header import iso_utc, run_header
from compliance.evidence.run_view import RunView
from compliance.model import CheckMeta
from compliance.registry import CHECKS

SCHEMA = "export-chain-compliance/evidence/v1"  # v1 + header attribution, what_if, signature: additive


def all_checks() -> tuple[dict[str, CheckMeta], str | None]:
    """Every check of the suite, run or not; with a note when a check module could not be imported."""
    try:
        return load_all_checks(), None
    except Exception as exc:  # a broken check module must not cost the others' evidence
        return dict(CHECKS), f"not every check module could be imported ({type(exc).__name__}: {exc})"


def evidence_document(state: RunView, finished: datetime, exitstatus: int,
                      baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run as one JSON document. Redacted as a whole on top of the redaction at creation."""
    redactor = state.redactor()
    config = state.chain_config
    findings = redactor.json(sorted(state.records, key=lambda r: r["nodeid"]))
    checks, import_note = all_checks()
    ran = {r["check"]["id"] for r in findings}
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "suite_version": compliance.__version__,
        "target": state.target,
        "chain_config": {"path": str(state.chain_path), "sha256": config.sha256 if config else None},
        "started": iso_utc(state.started),
        "finished": iso_utc(finished),
        "exit_status": exitstatus,
        "header": run_header(state, finished),
        "totals": tally(r["finding"]["status"] for r in findings),
        "checks": {check_id: meta.to_json() for check_id, meta in sorted(checks.items())},
        "checks_not_run": sorted(set(checks) - ran),
        "check_import_problem": import_note,
        "coverage": [row.to_json() for row in coverage(findings, checks)],
        "findings": findings,
        "snapshots": redactor.json(state.snapshots_json),
        "drift": None,
    }
    if baseline is not None:
        document["drift"] = compare(baseline, document, redactor)
    result: dict[str, Any] = redactor.json(document)
    return result
