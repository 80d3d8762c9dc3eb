"""evidence.json: the machine-readable record of a run, and the data the HTML summary is drawn from."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import compliance
from compliance.checks import load_all_checks
from compliance.evidence.coverage import coverage, tally
from compliance.evidence.drift import compare
from compliance.evidence.header import iso_utc, run_header
from compliance.evidence.record import Record
from compliance.evidence.run_view import RunView
from compliance.model import CheckMeta
from compliance.redaction import Redactor
from compliance.registry import CHECKS

SCHEMA = "export-chain-compliance/evidence/v1"  # v1 + header attribution, what_if, signature: additive


def all_checks() -> tuple[dict[str, CheckMeta], str | None]:
    """Every check of the suite, run or not; with a note when a check module could not be imported."""
    try:
        return load_all_checks(), None
    except Exception as exc:  # a broken check module must not cost the others' evidence
        return dict(CHECKS), f"not every check module could be imported ({type(exc).__name__}: {exc})"


def evidence_document(state: RunView, records: Iterable[Record], finished: datetime, exitstatus: int,
                      baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run as one JSON document, without its findings: `write_evidence_json` streams them in from `records`
    (re-read for each pass, never held). Redacted as a whole on top of the redaction at creation."""
    redactor = state.redactor()
    config = state.chain_config
    checks, import_note = all_checks()
    results = [(r.check.id, r.chain_label, r.status) for r in records]
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "suite_version": compliance.__version__,
        "target": state.target,
        "chain_config": {"path": str(state.chain_path), "sha256": config.sha256 if config else None},
        "started": iso_utc(state.started),
        "finished": iso_utc(finished),
        "exit_status": exitstatus,
        "header": run_header(state, records, finished),
        "totals": tally(status for _, _, status in results),
        "checks": {check_id: meta.to_json() for check_id, meta in sorted(checks.items())},
        "checks_not_run": sorted(set(checks) - {check_id for check_id, _, _ in results}),
        "check_import_problem": import_note,
        "coverage": [row.to_json() for row in coverage(results, checks)],
        "snapshots": redactor.json(state.snapshots_json),
        "drift": None,
    }
    if baseline is not None:  # the comparison reads every finding of both runs at once
        current = {**document, "findings": [redactor.json(r.to_json()) for r in records]}
        document["drift"] = compare(baseline, current, redactor)
    result: dict[str, Any] = redactor.json(document)
    return result


_FINDINGS_KEY = "findings"
_PLACEHOLDER = "\u0000findings streamed here\u0000"


def write_evidence_json(path: Path, document: dict[str, Any], records: Iterable[Record], redactor: Redactor) -> None:
    """evidence.json, exactly as `json.dumps(document | {"findings": [...]}, indent=2, sort_keys=True)` writes it,
    with the findings streamed one at a time from `records` (each redacted like the rest of the document)."""
    text = json.dumps({**document, _FINDINGS_KEY: _PLACEHOLDER}, indent=2, sort_keys=True, default=str)
    head, tail = text.split(json.dumps(_PLACEHOLDER), 1)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(head)
        out.write("[")
        separator = "\n"
        for record in records:
            item = json.dumps(redactor.json(record.to_json()), indent=2, sort_keys=True, default=str)
            out.write(separator + textwrap.indent(item, "    ", lambda _: True))
            separator = ",\n"
        out.write("\n  ]" if separator != "\n" else "]")
        out.write(tail)
    os.replace(tmp, path)
