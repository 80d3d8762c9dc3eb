"""One check's row in the results table: its cells and its evidence (pytest-html extras)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compliance.controls import REQUIREMENTS
from compliance.evidence.html_base import badge, esc, kv_table, pre_json, table
from compliance.evidence.record import Record
from compliance.model import CheckMeta, Evidence, Remediation
from compliance.permission_vocabulary import READ_ACTIONS

HEADER_CELLS = (
    '<th class="sortable" data-column-type="status">Status</th>',
    '<th class="sortable" data-column-type="check">Check</th>',
    '<th class="sortable" data-column-type="severity">Severity</th>',
    "<th>Controls</th>",
    "<th>Finding</th>",
)
RESULT_HEADER = '<th class="sortable ecc-hidden" data-column-type="result">pytest outcome</th>'
_KIND_TITLES = {
    "policy_document": "Policy document as read",
    "decision_trace": "Decision trace",
    "chain_trace": "Chain trace",
    "api_calls": "API calls and results",
    "api_response": "API response",
    "counterexample": "Counterexample",
    "note": "Note",
}


def row_cells(record: Record | None, outcome: str) -> list[str]:
    """The cells this report adds in front of pytest-html's (all on one line: pytest-html parses them)."""
    if record is None:
        return ['<td class="col-status"></td>', '<td class="col-check"></td>', '<td class="col-severity"></td>',
                "<td></td>", f"<td>{esc(outcome)}</td>"]
    check = record.check
    controls = ", ".join(esc(c) for c in check.controls)
    severity = esc(check.severity.value)
    return [
        f'<td class="col-status">{badge(record.status)}</td>',
        f'<td class="col-check"><span class="ecc-mono">{esc(check.id)}</span>'
        f'<div class="ecc-title">{esc(check.title)}</div></td>',
        f'<td class="col-severity"><span class="ecc-sev-{severity}">{severity}</span></td>',
        f"<td>{controls}</td>",
        f"<td>{esc(record.finding.message)}</td>",
    ]


def result_cell(outcome: str) -> str:
    """pytest's own outcome, kept (hidden) because pytest-html filters and sorts on it."""
    return f'<td class="col-result ecc-hidden">{esc(outcome)}</td>'


def call_key(call: Mapping[str, Any]) -> str:
    return f"{call.get('service')}:{call.get('operation')}"


def _authorised_as(call: Mapping[str, Any]) -> tuple[str, ...]:
    """The IAM actions AWS authorises an API call with (GetBucketEncryption is s3:GetEncryptionConfiguration)."""
    key = call_key(call)
    return READ_ACTIONS.get(key, (key,))


def _matching_calls(permissions: Sequence[str], api_calls: Sequence[Mapping[str, Any]],
                    sources: Sequence[str] = ()) -> list[Mapping[str, Any]]:
    """The calls whose IAM action the check declares, or that produced one of its pieces of evidence."""
    wanted = {p.lower() for p in permissions}
    named = {s.lower() for s in sources}
    return [c for c in api_calls if call_key(c).lower() in named
            or any(a.lower() in wanted for a in _authorised_as(c))]


_READABLE_KEYS = ("summary", "sentences", "steps", "explanation")


def _readable(data: Mapping[str, Any]) -> str:
    """The plain-words part of a trace (its summary and sentences), when it has one."""
    parts: list[str] = []
    for key in _READABLE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value:
            parts.append(f"<p>{esc(value)}</p>")
        elif isinstance(value, list) and value and all(isinstance(s, str) for s in value):
            parts.append("<ol>" + "".join(f"<li>{esc(s)}</li>" for s in value) + "</ol>")
    return "".join(parts)


def _render_data(kind: str, data: Any) -> str:
    if isinstance(data, Mapping) and (readable := _readable(data)):
        return readable + "<details><summary>Full record (JSON)</summary>" + pre_json(data) + "</details>"
    if isinstance(data, str):
        return f'<pre class="ecc-pre">{esc(data)}</pre>'
    if isinstance(data, list) and data and all(isinstance(s, str) for s in data):
        tag = "ol" if kind in ("decision_trace", "chain_trace") else "ul"
        return f"<{tag}>" + "".join(f"<li>{esc(s)}</li>" for s in data) + f"</{tag}>"
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        keys = list(dict.fromkeys(k for r in data for k in r))
        flat = all(not isinstance(r.get(k), Mapping | list) for r in data for k in keys)
        if flat and len(keys) <= 8:
            return table(keys, ([esc(r.get(k)) for k in keys] for r in data))
    return pre_json(data)


def _evidence_block(item: Evidence) -> str:
    kind = item.kind.value
    origin = f"; from API call {item.source}" if ":" in item.source else (
        f"; source: {item.source}" if item.source else "")
    source = f' <span class="ecc-note">({esc(_KIND_TITLES.get(kind, kind) + origin)})</span>'
    return (f"<details open><summary>{esc(item.label)}{source}</summary>"
            f"{_render_data(kind, item.data)}</details>")


def _remediation(check: CheckMeta, specific: Remediation | None) -> str:
    """The fix built from this finding (when the check made one), next to the check's general remediation."""
    general = esc(check.remediation)
    if specific is None:
        return general
    return (f'<div class="ecc-fix"><b>For this finding:</b> {esc(specific.summary)}'
            + (pre_json(specific.fix) if specific.fix is not None else "")
            + (f'<p class="ecc-note">{esc(specific.note)}</p>' if specific.note else "")
            + f'</div><div class="ecc-note">In general: {general}</div>')


def _calls_block(calls: Sequence[Mapping[str, Any]], evidence: Sequence[Evidence]) -> str:
    """One row per API call: its name, the IAM action it is authorised as, its result, the evidence it produced."""
    rows = []
    for c in calls:
        key = call_key(c)
        produced = [e.label for e in evidence if e.source.lower() == key.lower()]
        rows.append([f'<span class="ecc-mono">{esc(key)}</span>', esc(", ".join(_authorised_as(c)) or "none needed"),
                     esc(c.get("status")), esc(c.get("error_code") or "none"),
                     esc("; ".join(produced) or "input read for the check (no separate evidence item)")])
    return table(("API call", "IAM action", "HTTP status", "error code", "evidence it produced"), rows)


def detail_html(record: Record, api_calls: Sequence[Mapping[str, Any]]) -> str:
    """The readable evidence of one finding: what, why, how to fix, and everything it was based on."""
    check, finding = record.check, record.finding
    controls = "<br>".join(
        f"{esc(c)}: {esc(REQUIREMENTS[c].framework + ' ' + REQUIREMENTS[c].clause + ', ' + REQUIREMENTS[c].title)}"
        if c in REQUIREMENTS else esc(c) for c in check.controls)
    facts = kv_table([
        ("Check ID", f'<span class="ecc-mono">{esc(check.id)}</span>'),
        ("Expectation", esc(check.title)),
        ("Severity", esc(check.severity.value)),
        ("Chain", esc(record.chain)),
        ("Resource", f'<span class="ecc-mono">{esc(finding.resource or "-")}</span>'),
        ("Controls", controls),
        ("Why it matters", esc(check.rationale)),
        ("Remediation", _remediation(check, finding.remediation)),
        ("Recorded at (UTC)", esc(record.recorded_at)),
    ])
    parts = ['<div class="ecc-detail">', facts]
    evidence = finding.evidence
    parts.append("<h4>Evidence</h4>")
    parts.extend(_evidence_block(item) for item in evidence)
    if not evidence:
        parts.append('<p class="ecc-note">The check attached no evidence beyond its finding (in the row above).</p>')
    calls = _matching_calls(check.permissions, api_calls, [e.source for e in evidence])
    if calls:
        parts.append("<h4>API calls that read this check's inputs</h4>" + _calls_block(calls, evidence))
    if finding.details:
        parts.append("<details><summary>Details</summary>" + pre_json(dict(finding.details)) + "</details>")
    parts.append("</div>")
    return "".join(parts)

