"""Drift: what changed since an earlier run (`--baseline <earlier evidence.json>`).

Compares the earlier run's snapshots and findings with this run's: policy documents as readable
unified diffs of pretty JSON, other settings likewise, checks whose status changed, and findings
that are new or vanished. Both sides are redacted again before any text is produced.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from compliance.errors import ComplianceError
from compliance.evidence.redact import Redactor

SCHEMA_PREFIX = "export-chain-compliance/evidence/"
JSON_NAME = "evidence.json"
# Run-specific noise: the API call log, who read it, and the newest objects (they change every export).
_NOISE = ("api_calls", "caller", "target", "newest_objects")
_POLICY_PLACEHOLDER = "(policy document: compared above)"


class BaselineError(ComplianceError):
    """The --baseline file cannot be used. The message is one line naming the file and the fix."""


def load_baseline(path: Path) -> dict[str, Any]:
    """Read an earlier run's evidence.json (or the run directory holding it); raise `BaselineError`."""
    source = path / JSON_NAME if path.is_dir() else path
    fix = "pass an earlier run's evidence.json, e.g. --baseline reports/<run>/evidence.json"
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"--baseline {source}: no such file. Fix: {fix}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"--baseline {source}: cannot be read ({type(exc).__name__}). Fix: {fix}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"--baseline {source}: not valid JSON (line {exc.lineno}, column {exc.colno}). "
                            f"Fix: {fix}") from None
    if not isinstance(document, dict) or not str(document.get("schema", "")).startswith(SCHEMA_PREFIX):
        raise BaselineError(f"--baseline {source}: not an evidence.json written by this suite (no "
                            f"'{SCHEMA_PREFIX}…' schema). Fix: {fix}")
    if not isinstance(document.get("findings"), list) or not isinstance(document.get("snapshots"), dict):
        raise BaselineError(f"--baseline {source}: malformed evidence.json (findings or snapshots missing). "
                            f"Fix: {fix}")
    document["_source"] = str(source)
    return document


def _as_policy(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip().startswith("{") and "Statement" in value:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _is_policy(value: Any) -> bool:
    return isinstance(value, Mapping) and "Statement" in value


def _policies(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every policy document in a snapshot, labelled by where it sits (e.g. 'role › trust_policy')."""
    value = _as_policy(value)
    if _is_policy(value):
        yield " › ".join(path) or "(policy)", value
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in _NOISE:
                continue
            part = () if key in ("value", "document") else (str(key),)
            yield from _policies(item, (*path, *part))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            name = item.get("name") if isinstance(item, Mapping) else None
            yield from _policies(item, (*path, str(name) if name else f"[{index}]"))


def _settings(value: Any) -> Any:
    """The snapshot without noise and with policy documents replaced by a placeholder."""
    value = _as_policy(value)
    if _is_policy(value):
        return _POLICY_PLACEHOLDER
    if isinstance(value, Mapping):
        return {k: _settings(v) for k, v in value.items() if k not in _NOISE}
    if isinstance(value, list):
        return [_settings(v) for v in value]
    return value


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


def _diff(before: Any, after: Any, since: str) -> str:
    lines = difflib.unified_diff(_pretty(before) if before is not None else [],
                                 _pretty(after) if after is not None else [],
                                 fromfile=f"baseline ({since})", tofile="this run", lineterm="")
    return "\n".join(lines)


def _findings(document: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in document.get("findings") or []:
        try:
            out[(str(record["check"]["id"]), str(record.get("chain") or "-"))] = record
        except (KeyError, TypeError):
            continue
    return out


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    finding = record.get("finding") or {}
    check = record.get("check") or {}
    return {"check": check.get("id"), "title": check.get("title"), "chain": record.get("chain"),
            "status": finding.get("status"), "message": finding.get("message")}


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any], redactor: Redactor) -> dict[str, Any]:
    """The 'Changed since' section as data. Both documents are evidence.json documents."""
    baseline = redactor.json(baseline)
    current = redactor.json(current)
    since = str(baseline.get("started") or "an earlier run")
    policies: list[dict[str, Any]] = []
    settings: list[dict[str, Any]] = []
    old_snaps: Mapping[str, Any] = baseline.get("snapshots") or {}
    new_snaps: Mapping[str, Any] = current.get("snapshots") or {}
    for chain in sorted(set(old_snaps) | set(new_snaps)):
        old = dict(_policies(old_snaps.get(chain) or {}))
        new = dict(_policies(new_snaps.get(chain) or {}))
        for label in sorted(set(old) | set(new)):
            if old.get(label) == new.get(label):
                continue
            change = "added" if label not in old else "removed" if label not in new else "changed"
            policies.append({"chain": chain, "policy": label, "change": change,
                             "diff": redactor.text(_diff(old.get(label), new.get(label), since))})
        before, after = _settings(old_snaps.get(chain)), _settings(new_snaps.get(chain))
        if before != after:
            settings.append({"chain": chain, "diff": redactor.text(_diff(before, after, since))})
    old_f, new_f = _findings(baseline), _findings(current)
    status_changes, reworded = [], []
    for key in sorted(set(old_f) & set(new_f)):
        before_s, after_s = _summary(old_f[key]), _summary(new_f[key])
        if before_s["status"] != after_s["status"]:
            status_changes.append({**after_s, "before": before_s["status"], "after": after_s["status"]})
        elif before_s["message"] != after_s["message"]:
            reworded.append({**after_s, "before_message": before_s["message"]})
    return {
        "baseline": {"path": baseline.get("_source"), "started": baseline.get("started"),
                     "finished": baseline.get("finished"), "suite_version": baseline.get("suite_version")},
        "since": since,
        "policies": policies,
        "settings": settings,
        "status_changes": status_changes,
        "changed_findings": reworded,
        "new_findings": [_summary(new_f[k]) for k in sorted(set(new_f) - set(old_f))],
        "vanished_findings": [_summary(old_f[k]) for k in sorted(set(old_f) - set(new_f))],
    }


def has_changes(drift: Mapping[str, Any]) -> bool:
    keys = ("policies", "settings", "status_changes", "changed_findings", "new_findings", "vanished_findings")
    return any(drift.get(k) for k in keys)
