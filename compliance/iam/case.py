"""A request and its policies as one JSON document (a "case"), as used by ``explain`` and the tests.

```json
{"request": {"principal": "arn:aws:sts::999988887777:assumed-role/ExportService/s1",
             "principal_account": "999988887777", "action": "s3:PutObject",
             "resource": "arn:aws:s3:::company-audit-reports/qualio/r.pdf",
             "resource_account": "111122223333",
             "context": {"aws:SecureTransport": "true", "aws:TagKeys": ["qualio-user"]}},
 "identity_policies": [], "resource_policy": null, "permission_boundary": null,
 "scps": [], "session_policies": []}
```

``resource_policy`` is the role trust policy for ``sts:*`` actions, the key policy for ``kms:*``
and a resource-based policy otherwise. ``scps``/``rcps`` list levels from the root down; a level
is one policy or a list of policies. Policies may be objects or JSON strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.errors import CaseError, PolicyError
from compliance.iam.document import PolicyDocument, PolicyKind, load_json, parse_policy
from compliance.iam.evaluate import evaluate
from compliance.iam.request import Request
from compliance.iam.trace import Decision, Evaluation
from compliance.nesting import MAX_NESTING, Syntax, nests_too_deep

CASE_KEYS = frozenset(
    {
        "request",
        "identity_policies",
        "resource_policy",
        "permission_boundary",
        "scps",
        "session_policies",
        "rcps",
        "name",
        "doc",
        "description",
        "expected",
    }
)
REQUEST_KEYS = frozenset({"principal", "principal_account", "action", "resource", "resource_account", "context"})


@dataclass(frozen=True)
class Case:
    request: Request
    identity_policies: tuple[PolicyDocument, ...] = ()
    resource_policy: PolicyDocument | None = None
    permission_boundary: PolicyDocument | None = None
    scps: tuple[tuple[PolicyDocument, ...], ...] = ()
    session_policies: tuple[PolicyDocument, ...] = ()
    rcps: tuple[tuple[PolicyDocument, ...], ...] = ()
    name: str | None = None
    doc: str | None = None
    description: str | None = None
    expected: Decision | None = None
    source: str = "<case>"


def resource_policy_kind(action: str) -> PolicyKind:
    """sts → role trust policy, kms → key policy, anything else → resource-based policy."""
    service = action.split(":", 1)[0].lower()
    return {"sts": PolicyKind.TRUST, "kms": PolicyKind.KEY}.get(service, PolicyKind.RESOURCE)


def load_case(path_or_mapping: str | Path | Mapping[str, Any], *, source: str | None = None) -> Case:
    """Read and validate a case. Raises CaseError or PolicyError, each one line naming file and key."""
    if isinstance(path_or_mapping, Mapping):
        return _case(path_or_mapping, source or "<case>")
    path = Path(path_or_mapping)
    source = source or str(path)
    raw = _read_json(path, source)
    if not isinstance(raw, Mapping):
        raise CaseError(source, None, "a case must be a JSON object")
    return _case(raw, source)


def read_case_file(path: str | Path) -> Any:
    """The parsed JSON of a case file (one case or ``{"cases": [...]}``); any problem is one `CaseError` line."""
    return _read_json(Path(path), str(path))


def load_cases(path: str | Path) -> list[Case]:
    """Read a data file ``{"cases": [case, ...]}``; each case is named ``file#n`` in errors."""
    source = str(path)
    raw = _read_json(Path(path), source)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("cases"), list) or not raw["cases"]:
        raise CaseError(source, "cases", 'the file must be an object {"cases": [case, ...]} with at least one case')
    extra = sorted(str(key) for key in raw if key != "cases")
    if extra:
        raise CaseError(source, extra[0], 'unknown key; a cases file holds only "cases"')
    cases = []
    for number, item in enumerate(raw["cases"], start=1):
        label = item.get("name") if isinstance(item, Mapping) else None
        where = f"{source}#{number}" + (f" ({label})" if label else "")
        if not isinstance(item, Mapping):
            raise CaseError(where, None, "a case must be a JSON object")
        cases.append(_case(item, where))
    return cases


def evaluate_case(case: Case) -> Evaluation:
    return evaluate(
        case.request,
        identity_policies=case.identity_policies,
        resource_policy=case.resource_policy,
        permission_boundary=case.permission_boundary,
        scps=case.scps,
        session_policies=case.session_policies,
        rcps=case.rcps,
    )


def _read_json(path: Path, source: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(source, None, f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CaseError(source, None, "the file is not UTF-8 text") from None
    if nests_too_deep(text, Syntax.JSON):
        raise CaseError(source, None, f"JSON nested deeper than {MAX_NESTING} levels; flatten it")
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise CaseError(source, None, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise CaseError(source, None, f"invalid JSON: {exc}") from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def _case(raw: Mapping[str, Any], source: str) -> Case:
    unknown = sorted(set(raw) - CASE_KEYS)
    if unknown:
        raise CaseError(source, unknown[0], f"unknown key; allowed keys are {', '.join(sorted(CASE_KEYS))}")
    if "request" not in raw:
        raise CaseError(source, "request", "missing")
    request = _request(raw["request"], source)
    try:
        return Case(
            request=request,
            identity_policies=tuple(
                _policy(item, PolicyKind.IDENTITY, f"identity_policies[{n}]", source)
                for n, item in enumerate(_list(raw, "identity_policies", source))
            ),
            resource_policy=_optional_policy(raw, "resource_policy", resource_policy_kind(request.action), source),
            permission_boundary=_optional_policy(raw, "permission_boundary", PolicyKind.BOUNDARY, source),
            scps=_levels(raw, "scps", PolicyKind.SCP, source),
            session_policies=tuple(
                _policy(item, PolicyKind.SESSION, f"session_policies[{n}]", source)
                for n, item in enumerate(_list(raw, "session_policies", source))
            ),
            rcps=_levels(raw, "rcps", PolicyKind.RCP, source),
            name=_text(raw, "name", source),
            doc=_text(raw, "doc", source),
            description=_text(raw, "description", source),
            expected=_expected(raw, source),
            source=source,
        )
    except PolicyError as exc:
        raise PolicyError(f"{source}: {exc.policy}", exc.statement, exc.field, exc.problem) from None


def _request(raw: Any, source: str) -> Request:
    if not isinstance(raw, Mapping):
        raise CaseError(source, "request", "must be an object")
    unknown = sorted(set(raw) - REQUEST_KEYS)
    if unknown:
        allowed = ", ".join(sorted(REQUEST_KEYS))
        raise CaseError(source, f"request.{unknown[0]}", f"unknown key; allowed keys are {allowed}")
    for key in ("principal", "action", "resource"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise CaseError(source, f"request.{key}", "missing or not a non-empty string")
    for key in ("principal_account", "resource_account"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise CaseError(source, f"request.{key}", "must be a string or null")
    context = raw.get("context") or {}
    if not isinstance(context, Mapping):
        raise CaseError(source, "request.context", "must be an object of key → string or list of strings")
    for key, value in context.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str | bool | int | float) for item in items):
            raise CaseError(source, f"request.context.{key}", "values must be strings or lists of strings")
    return Request(
        principal=raw["principal"],
        principal_account=raw.get("principal_account"),
        action=raw["action"],
        resource=raw["resource"],
        resource_account=raw.get("resource_account"),
        context=context,
    )


def _list(raw: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise CaseError(source, key, "must be a list")
    return value


def _policy(raw: Any, kind: PolicyKind, key: str, source: str) -> PolicyDocument:
    if isinstance(raw, str):
        raw = load_json(raw, name=key)
    if not isinstance(raw, Mapping):
        raise CaseError(source, key, "a policy must be a JSON object or a JSON string")
    return parse_policy(raw, kind=kind, name=key)


def _optional_policy(raw: Mapping[str, Any], key: str, kind: PolicyKind, source: str) -> PolicyDocument | None:
    value = raw.get(key)
    return None if value is None else _policy(value, kind, key, source)


def _levels(raw: Mapping[str, Any], key: str, kind: PolicyKind, source: str) -> tuple[tuple[PolicyDocument, ...], ...]:
    levels = []
    for number, level in enumerate(_list(raw, key, source)):
        items = level if isinstance(level, list) else [level]
        if not items:
            raise CaseError(source, f"{key}[{number}]", "an organisation level needs at least one policy")
        levels.append(tuple(
            _policy(item, kind, f"{key}[{number}]" + (f"[{n}]" if isinstance(level, list) else ""), source)
            for n, item in enumerate(items)
        ))
    return tuple(levels)


def _text(raw: Mapping[str, Any], key: str, source: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise CaseError(source, key, "must be a string")
    return value


def _expected(raw: Mapping[str, Any], source: str) -> Decision | None:
    value = raw.get("expected")
    if value is None:
        return None
    try:
        return Decision(value)
    except ValueError:
        allowed = ", ".join(d.value for d in Decision)
        raise CaseError(source, "expected", f"{value!r} is not a decision; use one of {allowed}") from None
