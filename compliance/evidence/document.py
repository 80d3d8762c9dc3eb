"""evidence.json: the machine-readable record of a run, and the data the HTML summary is drawn from."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import compliance
from compliance.checks import load_all_checks
from compliance.evidence.coverage import (
    COVERAGE_KEY,
    RequirementCoverage,
    check_statuses,
    coverage,
    coverage_rows,
    redacted,
    tally,
)
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
    (re-read for each pass, never held). Redacted as a whole on top of the redaction at creation, apart from its
    snapshots: they stay where the run keeps them (on disk, `compliance.evidence.snapshot_store`) and are redacted
    one at a time as they are written."""
    redactor = state.redactor()
    config = state.chain_config
    checks, import_note = all_checks()
    ran = check_statuses((r.check.id, r.chain_label, r.status) for r in records)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "suite_version": compliance.__version__,
        "target": state.target,
        "chain_config": {"path": str(state.chain_path), "sha256": config.sha256 if config else None},
        "started": iso_utc(state.started),
        "finished": iso_utc(finished),
        "exit_status": exitstatus,
        "header": run_header(state, records, finished),
        "totals": tally(status for results in ran.values() for _, status in results),
        "checks": {check_id: meta.to_json() for check_id, meta in sorted(checks.items())},
        "checks_not_run": sorted(set(checks) - set(ran)),
        "check_import_problem": import_note,
        "drift": None,
    }
    matrix = coverage(ran, checks)
    del ran
    if baseline is not None:  # the comparison reads every finding and snapshot of both runs at once
        current = {**document, "coverage": [row.to_json() for row in matrix],
                   "findings": [redactor.json(r.to_json()) for r in records],
                   _SNAPSHOTS_KEY: redactor.json(state.snapshots_json)}
        document["drift"] = compare(baseline, current, redactor)
    result: dict[str, Any] = redactor.json(document)
    # kept as objects, a check's per-chain results once however many requirements list it (as JSON: a dict per
    # check, requirement and chain, megabytes for a few hundred chains); written out a row at a time
    result[COVERAGE_KEY] = redacted(matrix, redactor.text)
    result[_SNAPSHOTS_KEY] = state.snapshots_json
    return result


_FINDINGS_KEY = "findings"
_SNAPSHOTS_KEY = "snapshots"
_PLACEHOLDER = "\u0000findings streamed here\u0000"
_SNAPSHOTS_PLACEHOLDER = "\u0000snapshots streamed here\u0000"
_COVERAGE_PLACEHOLDER = "\u0000coverage streamed here\u0000"


def write_evidence_json(path: Path, document: Mapping[str, Any], records: Iterable[Record],
                        redactor: Redactor) -> None:
    """evidence.json, exactly as `json.dumps(document | {"findings": [...]}, indent=2, sort_keys=True)` writes it,
    with the findings streamed one at a time from `records` and the snapshots one at a time from the document's
    snapshot mapping (each redacted like the rest of the document)."""
    snapshots: Mapping[str, Any] = document.get(_SNAPSHOTS_KEY) or {}

    def findings(out: TextIO) -> None:
        _write_items(out, "[]", (redactor.json(record.to_json()) for record in records))

    def snapshot_entries(out: TextIO) -> None:
        entries = ((chain, redactor.json(redactor.json(snapshots[chain]))) for chain in sorted(snapshots))
        _write_items(out, "{}", entries)

    def coverage_entries(out: TextIO) -> None:
        _write_items(out, "[]", (row.to_json() for row in coverage_rows(document)))

    streamed: dict[str, Callable[[TextIO], None]] = {json.dumps(_PLACEHOLDER): findings,
                                                     json.dumps(_SNAPSHOTS_PLACEHOLDER): snapshot_entries}
    placeholders = {_FINDINGS_KEY: _PLACEHOLDER, _SNAPSHOTS_KEY: _SNAPSHOTS_PLACEHOLDER}
    if any(isinstance(row, RequirementCoverage) for row in document.get(COVERAGE_KEY) or ()):
        streamed[json.dumps(_COVERAGE_PLACEHOLDER)] = coverage_entries
        placeholders[COVERAGE_KEY] = _COVERAGE_PLACEHOLDER
    encoder = json.JSONEncoder(indent=2, sort_keys=True, default=str)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            # written as the encoder makes it, a piece at a time (json.dumps would join the whole text first);
            # a placeholder string comes as one piece, after its key
            for piece in encoder.iterencode({**document, **placeholders}):
                placeholder = next((p for p in streamed if piece.endswith(p)), None)
                if placeholder is None:
                    out.write(piece)
                else:
                    out.write(piece.removesuffix(placeholder))
                    streamed.pop(placeholder)(out)
        if streamed:
            raise ValueError(f"{path.name}: the encoder never wrote {len(streamed)} of its placeholders")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_items(out: TextIO, brackets: str, items: Iterable[Any]) -> None:
    """A list (items) or an object ((key, value) pairs) one level below the top, as `json.dumps(indent=2,
    sort_keys=True)` lays it out there."""
    out.write(brackets[0])
    separator = "\n"
    for item in items:
        if brackets == "{}":
            key, value = item
            text = json.dumps(key) + ": " + _dumps(value)
        else:
            text = _dumps(item)
        out.write(separator + textwrap.indent(text, "    ", lambda _: True))
        separator = ",\n"
    out.write(f"\n  {brackets[1]}" if separator != "\n" else brackets[1])


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
