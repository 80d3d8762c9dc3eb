"""Parse and validate policy JSON once into immutable, pre-compiled objects.

Grammar points relied on (IAM User Guide, "Grammar of the IAM JSON policy language" and the
element pages): ``Version`` is ``2008-10-17`` or ``2012-10-17`` (variables need the latter);
a statement has exactly one of Action/NotAction and of Resource/NotResource ("Statements must
include either a Resource or a NotResource element" — role trust policies take none); "The
principal_block element is required in resource-based policies ... and in trust policies for
IAM roles. It must not be included in identity-based policies"; single values may be written
without brackets; "Individual elements must not contain multiple instances of the same key";
"Condition key names are not case-sensitive" while operator names are spelled as documented.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from compliance.errors import PolicyError
from compliance.iam.conditions import CompiledCondition
from compliance.iam.matching import PatternSet, compile_pieces
from compliance.iam.principals import PRINCIPAL_TYPES, Principal
from compliance.iam.variables import ContextValue, Template, parse_template

VARIABLES_VERSION = "2012-10-17"
VERSIONS = ("2012-10-17", "2008-10-17")


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class PolicyKind(StrEnum):
    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    KEY = "key"
    BOUNDARY = "boundary"
    SCP = "scp"
    SESSION = "session"
    RCP = "rcp"


PRINCIPAL_FORBIDDEN = frozenset({PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP})
PRINCIPAL_REQUIRED = frozenset({PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.KEY})

_POLICY_KEYS = {key.lower(): key for key in ("Version", "Id", "Statement")}
_STATEMENT_KEYS = {
    key.lower(): key
    for key in (
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    )
}
_PRINCIPAL_KEYS = {key.lower(): key for key in PRINCIPAL_TYPES}


class Condition(NamedTuple):
    """One normalised condition: operator as written, key as written, values as strings."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, eq=True)
class Statement:
    """A parsed statement. ``index`` is 0-based; ``label`` is ``'Sid'`` or ``#n`` counted from 1."""

    sid: str | None
    index: int
    effect: Effect
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principal: Principal | None = None
    not_principal: Principal | None = None
    conditions: tuple[Condition, ...] = ()
    variables: bool = field(default=False, compare=False, repr=False)
    _action_set: PatternSet = field(init=False, compare=False, repr=False)
    _not_action: bool = field(init=False, compare=False, repr=False)
    _resource_set: PatternSet | None = field(init=False, compare=False, repr=False)
    _resource_templates: tuple[Template, ...] = field(init=False, compare=False, repr=False)
    _compiled: tuple[CompiledCondition, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        actions = self.actions if self.actions is not None else self.not_actions or ()
        object.__setattr__(self, "_action_set", PatternSet(actions, arn=False, ignore_case=True))
        object.__setattr__(self, "_not_action", self.actions is None)
        patterns = self.resources if self.resources is not None else self.not_resources
        static: list[str] = []
        templates: list[Template] = []
        for pattern in patterns or ():
            template = parse_template(pattern) if self.variables and "${" in pattern else None
            if template is not None and template.has_references:
                templates.append(template)
            else:
                static.append(pattern)
        resource_set = None if patterns is None else PatternSet(static, arn=True, ignore_case=False)
        object.__setattr__(self, "_resource_set", resource_set)
        object.__setattr__(self, "_resource_templates", tuple(templates))
        compiled = tuple(
            CompiledCondition(c.operator, c.key, c.values, variables=self.variables) for c in self.conditions
        )
        object.__setattr__(self, "_compiled", compiled)

    @property
    def label(self) -> str:
        return f"'{self.sid}'" if self.sid else f"#{self.index + 1}"

    @property
    def compiled_conditions(self) -> tuple[CompiledCondition, ...]:
        return self._compiled

    def matches_action(self, action: str) -> bool:
        """Does the Action (or NotAction) element cover ``action``? Case-insensitive."""
        hit = self._action_set.matches(action.lower())
        return hit if self.actions is not None else not hit

    def matches_resource(self, resource: str, context: Mapping[str, ContextValue] | None = None) -> bool:
        """Does Resource (or NotResource) cover ``resource``? Variables resolve from ``context``
        (lower-case keys); a statement with neither element (trust policies) covers everything."""
        resource_set = self._resource_set
        if resource_set is None:
            return True
        hit = resource_set.matches(resource)
        if not hit and self._resource_templates:
            hit = any(self._template_matches(t, resource, context or {}) for t in self._resource_templates)
        return hit if self.resources is not None else not hit

    @staticmethod
    def _template_matches(template: Template, resource: str, context: Mapping[str, ContextValue]) -> bool:
        pieces = template.resolve(context)
        return pieces is not None and compile_pieces(pieces, arn=True).fullmatch(resource) is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect.value
        if self.principal is not None:
            out["Principal"] = self.principal.to_json()
        if self.not_principal is not None:
            out["NotPrincipal"] = self.not_principal.to_json()
        for name, values in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if values is not None:
                out[name] = list(values)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for condition in self.conditions:
                block.setdefault(condition.operator, {})[condition.key] = list(condition.values)
            out["Condition"] = block
        return out


@dataclass(frozen=True)
class PolicyDocument:
    name: str
    kind: PolicyKind
    version: str | None
    statements: tuple[Statement, ...]
    id: str | None = None

    @property
    def variables_enabled(self) -> bool:
        return self.version == VARIABLES_VERSION

    def statements_for_action(self, action: str, effect: Effect = Effect.ALLOW) -> tuple[Statement, ...]:
        """Statements with ``effect`` whose Action/NotAction covers ``action`` (ignoring resource
        and conditions): "which statement grants s3:DeleteObject"."""
        return tuple(s for s in self.statements if s.effect is effect and s.matches_action(action))

    def allows_actions(self, actions: Iterable[str]) -> dict[str, tuple[Statement, ...]]:
        """For each action, the Allow statements whose Action element covers it (empty if none)."""
        return {action: self.statements_for_action(action) for action in actions}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [statement.to_json() for statement in self.statements]
        return out


class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def load_json(doc: str | bytes, *, name: str) -> Any:
    """``json.loads`` that names the policy and rejects duplicate keys."""
    if isinstance(doc, bytes):
        try:
            doc = doc.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyError(name, None, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        return json.loads(doc, object_pairs_hook=_reject_duplicates)
    except _DuplicateKeyError as exc:
        raise PolicyError(name, None, str(exc), "the key appears twice") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise PolicyError(name, None, None, f"invalid JSON: {exc.msg} ({where})") from None


def parse_policy(doc: str | bytes | Mapping[str, Any], *, kind: PolicyKind, name: str) -> PolicyDocument:
    """Parse a policy document (JSON text or an already-decoded mapping). Raises PolicyError."""
    kind = PolicyKind(kind)
    raw = load_json(doc, name=name) if isinstance(doc, str | bytes) else doc
    if not isinstance(raw, Mapping):
        raise PolicyError(name, None, None, f"a policy must be a JSON object, not {_type_name(raw)}")
    top = _canonical_keys(raw, _POLICY_KEYS, name, None)
    version = top.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError(name, None, "Version", f"unknown version {version!r}; use '2012-10-17'")
    policy_id = top.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError(name, None, "Id", "must be a string")
    if "Statement" not in top:
        raise PolicyError(name, None, "Statement", "missing")
    raw_statements = top["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError(name, None, "Statement", "must be an object or a list of objects")
    statements = tuple(
        _parse_statement(item, index, kind=kind, name=name, variables=version == VARIABLES_VERSION)
        for index, item in enumerate(raw_statements)
    )
    return PolicyDocument(name=name, kind=kind, version=version, statements=statements, id=policy_id)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _canonical_keys(raw: Mapping[str, Any], names: dict[str, str], policy: str, where: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        canonical = names.get(str(key).lower())
        if canonical is None:
            allowed = ", ".join(names.values())
            raise PolicyError(policy, where, str(key), f"unknown element; expected one of {allowed}")
        if canonical in out:
            raise PolicyError(policy, where, canonical, "the element appears twice")
        out[canonical] = value
    return out


def _parse_statement(raw: Any, index: int, *, kind: PolicyKind, name: str, variables: bool) -> Statement:
    label = f"#{index + 1}"
    if not isinstance(raw, Mapping):
        raise PolicyError(name, label, None, f"a statement must be an object, not {_type_name(raw)}")
    sid = raw.get("Sid", raw.get("sid"))
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(name, label, "Sid", "must be a string")
    if sid:
        label = f"'{sid}'"
    element = _canonical_keys(raw, _STATEMENT_KEYS, name, label)

    effect = element.get("Effect")
    if effect is None:
        raise PolicyError(name, label, "Effect", "missing; use 'Allow' or 'Deny'")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(name, label, "Effect", f"unknown effect {effect!r}; use 'Allow' or 'Deny'")

    _exactly_one(element, "Action", "NotAction", name, label, required=True)
    _exactly_one(element, "Resource", "NotResource", name, label, required=kind is not PolicyKind.TRUST)
    _exactly_one(element, "Principal", "NotPrincipal", name, label, required=kind in PRINCIPAL_REQUIRED)
    if kind in PRINCIPAL_FORBIDDEN:
        for key in ("Principal", "NotPrincipal"):
            if key in element:
                raise PolicyError(name, label, key, f"not allowed in a policy of kind {kind.value!r}")

    return Statement(
        sid=sid,
        index=index,
        effect=Effect(effect),
        actions=_strings(element, "Action", name, label),
        not_actions=_strings(element, "NotAction", name, label),
        resources=_strings(element, "Resource", name, label),
        not_resources=_strings(element, "NotResource", name, label),
        principal=_principal(element, "Principal", name, label),
        not_principal=_principal(element, "NotPrincipal", name, label),
        conditions=_conditions(element.get("Condition"), name, label, variables=variables),
        variables=variables,
    )


def _exactly_one(element: dict[str, Any], a: str, b: str, policy: str, label: str, *, required: bool) -> None:
    if a in element and b in element:
        raise PolicyError(policy, label, f"{a}/{b}", f"a statement may have {a} or {b}, not both")
    if required and a not in element and b not in element:
        raise PolicyError(policy, label, a, f"missing; the statement needs {a} or {b}")


def _strings(element: dict[str, Any], key: str, policy: str, label: str) -> tuple[str, ...] | None:
    if key not in element:
        return None
    value = element[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise PolicyError(policy, label, key, "must be a string or a non-empty list of strings")
    for item in values:
        if not isinstance(item, str) or not item:
            raise PolicyError(policy, label, key, f"{item!r} is not a non-empty string")
    return tuple(values)


def _principal(element: dict[str, Any], key: str, policy: str, label: str) -> Principal | None:
    if key not in element:
        return None
    value = element[key]
    if value == "*":
        return Principal(aws=("*",))
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(policy, label, key, 'must be "*" or an object such as {"AWS": "arn:..."}')
    found: dict[str, tuple[str, ...]] = {}
    for raw_type, raw_values in value.items():
        principal_type = _PRINCIPAL_KEYS.get(str(raw_type).lower())
        if principal_type is None:
            raise PolicyError(policy, label, f"{key}.{raw_type}", "unknown principal type; use AWS, Service, "
                              "Federated or CanonicalUser")
        values = _strings({principal_type: raw_values}, principal_type, policy, label)
        assert values is not None
        for item in values:
            if item != "*" and ("*" in item or "?" in item) and principal_type == "AWS":
                raise PolicyError(policy, label, f"{key}.AWS", f"{item!r}: a wildcard cannot match part of a "
                                  "principal ARN (use \"*\" with an aws:PrincipalArn condition)")
        found[principal_type] = values
    return Principal(
        aws=found.get("AWS", ()),
        service=found.get("Service", ()),
        federated=found.get("Federated", ()),
        canonical_user=found.get("CanonicalUser", ()),
    )


def _condition_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _conditions(raw: Any, policy: str, label: str, *, variables: bool) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise PolicyError(policy, label, "Condition", "must be an object of operator → {key: values}")
    out: list[Condition] = []
    for operator_name, block in raw.items():
        where = f"Condition.{operator_name}"
        if not isinstance(block, Mapping) or not block:
            raise PolicyError(policy, label, where, "must be a non-empty object of condition key → values")
        for key, raw_values in block.items():
            items = raw_values if isinstance(raw_values, list) else [raw_values]
            values = tuple(_condition_value(item) for item in items)
            if not values:
                raise PolicyError(policy, label, f"{where}.{key}", "has no values")
            if any(value is None for value in values):
                raise PolicyError(policy, label, f"{where}.{key}", "values must be strings, numbers or booleans")
            condition = Condition(str(operator_name), str(key), tuple(v for v in values if v is not None))
            try:
                CompiledCondition(condition.operator, condition.key, condition.values, variables=variables)
            except ValueError as exc:
                raise PolicyError(policy, label, f"{where}.{key}", str(exc)) from None
            out.append(condition)
    return tuple(out)
