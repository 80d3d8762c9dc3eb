"""The classes of one context key: every value a request could carry there, up to what the policies can tell apart.

For each key, the conditions of the question's policies are its *atoms*. Candidate values are built per
operator family so that every achievable match vector over the atoms has a candidate:

* strings and ARNs (StringEquals/Like/IgnoreCase, Arn*): the exact automaton of :mod:`compliance.proof.strings`;
* numbers and dates: every boundary the policies name, a value between each pair, and one past each end;
* IP addresses: one address in every interval cut by the policies' CIDR boundaries, IPv4 and IPv6;
* Bool, Binary: the literal values and one other; Null: present or absent;
* and always "absent" and a value that no typed operator can parse.

Candidates are then grouped by their match vector (computed by the engine's own `CompiledCondition`) and one
representative is kept per class. A key compared by operators of different families gets the union of the
families' candidates, which is not shown to be exhaustive: such a key is marked *approximate*, and a proof that
rests on it is never reported as PASS. Multivalued keys range over every set of classes (bounded).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from compliance.iam.conditions import NULL, CompiledCondition, Qualifier, parse_date, parse_number
from compliance.iam.variables import ContextValue
from compliance.proof.strings import Glob, ProofLimit, classes

ABSENT = None
MAX_SET_CLASSES = 7
MULTIVALUED = frozenset({
    "aws:tagkeys", "aws:principalorgpaths", "aws:resourceorgpaths", "aws:sourceorgpaths", "aws:calledvia",
    "aws:principalservicenameslist", "kms:encryptioncontextkeys", "kms:grantoperations", "s3:requestobjecttagkeys",
    "sts:transitivetagkeys", "aws:requestedregion_list",
})

_STRING = "string"
KEY_TYPES = {
    "aws:sourceip": "ip", "aws:vpcsourceip": "ip",
    "aws:currenttime": "date", "aws:epochtime": "epoch", "aws:tokenissuetime": "date",
    "aws:securetransport": "bool", "aws:multifactorauthpresent": "bool", "aws:viaawsservice": "bool",
    "aws:principalisawsservice": "bool", "aws:multifactorauthage": "number", "s3:signatureage": "number",
    "s3:object-lock-remaining-retention-days": "number", "s3:max-keys": "number",
}
"""Keys AWS always fills with a value of one type: they only take values of that type."""
ALWAYS_PRESENT = frozenset({"aws:securetransport", "aws:currenttime", "aws:epochtime", "aws:requestedregion"})
_FAMILY_GROUP = {
    "StringEquals": _STRING, "StringNotEquals": _STRING, "StringEqualsIgnoreCase": _STRING,
    "StringNotEqualsIgnoreCase": _STRING, "StringLike": _STRING, "StringNotLike": _STRING,
    "ArnEquals": _STRING, "ArnLike": _STRING, "ArnNotEquals": _STRING, "ArnNotLike": _STRING,
    "NumericEquals": "number", "NumericNotEquals": "number", "NumericLessThan": "number",
    "NumericLessThanEquals": "number", "NumericGreaterThan": "number", "NumericGreaterThanEquals": "number",
    "DateEquals": "date", "DateNotEquals": "date", "DateLessThan": "date", "DateLessThanEquals": "date",
    "DateGreaterThan": "date", "DateGreaterThanEquals": "date",
    "Bool": "bool", "BinaryEquals": "binary", "IpAddress": "ip", "NotIpAddress": "ip", "Null": "null",
}


@dataclass(frozen=True, slots=True)
class KeyClasses:
    """The representatives of one key (``None`` = absent) and whether they are proven exhaustive."""

    key: str
    values: tuple[ContextValue | None, ...]
    approximate: str | None = None
    """Why the classes are not known to be exhaustive (None when they are)."""


def _glob(condition: CompiledCondition, text: str) -> Glob:
    name = condition.family.name
    if name.startswith("String") and ("Equals" in name):
        return Glob(text, ignore_case="IgnoreCase" in name, literal=True)
    return Glob(text, arn=name.startswith("Arn"))


def _string_candidates(conditions: Sequence[CompiledCondition], extra: Iterable[str]) -> list[str]:
    globs = [_glob(c, value) for c in conditions for value in c.values if "${" not in value]
    globs += [Glob(value, literal=True) for value in extra]
    if not globs:
        return ["x"]
    return list(classes(globs).values())


def _format_number(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _points(boundaries: Sequence[float], step: float) -> list[float]:
    ordered = sorted(set(boundaries))
    points = [ordered[0] - step, *ordered, ordered[-1] + step]
    points += [(a + b) / 2 for a, b in itertools.pairwise(ordered)]
    return points


def _number_candidates(conditions: Sequence[CompiledCondition]) -> list[str]:
    bounds = [parse_number(v) for c in conditions for v in c.values]
    return [_format_number(p) for p in _points(bounds, 1.0)]


def _format_date(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_candidates(conditions: Sequence[CompiledCondition]) -> list[str]:
    bounds = [parse_date(v) for c in conditions for v in c.values]
    return [_format_date(p) for p in _points(bounds, 86_400.0)]


def _ip_candidates(conditions: Sequence[CompiledCondition]) -> list[str]:
    out: list[str] = []
    for version, bits in ((4, 32), (6, 128)):
        cuts = {0}
        for condition in conditions:
            for value in condition.values:
                network = ipaddress.ip_network(value.strip(), strict=False)
                if network.version == version:
                    cuts.update({int(network.network_address), int(network.broadcast_address) + 1})
        cuts.discard(1 << bits)
        factory = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        out += [str(factory(cut)) for cut in sorted(cuts)]
    return out


def _epoch_candidates(conditions: Sequence[CompiledCondition]) -> list[str]:
    """aws:EpochTime is compared with Numeric or Date operators ("Date or Numeric" in the global condition keys
    page); both read epoch seconds, so one set of cuts serves both."""
    bounds = [parse_number(v) if _FAMILY_GROUP[c.family.name] == "number" else parse_date(v)
              for c in conditions for v in c.values if _FAMILY_GROUP[c.family.name] in ("number", "date")]
    return [_format_number(p) for p in _points(bounds or [0.0], 86_400.0)]


def _family_candidates(group: str, conditions: Sequence[CompiledCondition], extra: Iterable[str]) -> list[str]:
    if group == "epoch":
        return _epoch_candidates(conditions)
    if group == _STRING:
        return _string_candidates(conditions, extra)
    if group == "number":
        return _number_candidates(conditions)
    if group == "date":
        return _date_candidates(conditions)
    if group == "ip":
        return _ip_candidates(conditions)
    if group == "bool":
        return ["true", "false"]
    if group == "binary":
        return [*(v for c in conditions for v in c.values), "eA=="]
    return ["x"]


def _vector(value: ContextValue | None, key: str, conditions: Sequence[CompiledCondition]) -> tuple[bool, ...]:
    context = {} if value is None else {key: value}
    return tuple(c.evaluate(context)[0] for c in conditions)


def _preferred_string(key: str, conditions: Sequence[CompiledCondition],
                      prefer: Sequence[bool]) -> str | None:
    """The one string value whose class dominates all others, when every condition on ``key`` is a plain string
    comparison: each condition at its preferred truth (Allow statements want it met, Deny statements and the
    intended set want it unmet). The engine's decision is monotone in those truths, so the other classes can
    be skipped. None when the shortcut does not apply; ProofLimit when no string reaches the preferred outcome."""
    if key in KEY_TYPES or key in MULTIVALUED or any(
            c.qualifier is not Qualifier.NONE or c.templates or _FAMILY_GROUP[c.family.name] != _STRING
            for c in conditions):
        return None
    globs: list[Glob] = []
    owners: list[int] = []
    for index, condition in enumerate(conditions):
        for value in condition.values:
            globs.append(_glob(condition, value))
            owners.append(index)

    def goal(vector: tuple[bool, ...]) -> bool:
        for index, condition in enumerate(conditions):
            matched = any(hit for hit, owner in zip(vector, owners, strict=True) if owner == index)
            if (matched != condition.family.negated) != prefer[index]:
                return False
        return True

    try:
        found = classes(globs, goal=goal)
    except ProofLimit:
        return None
    return next(iter(found.values()))


def key_classes(key: str, conditions: Sequence[CompiledCondition], *, extra: Iterable[str] = (),
                multivalued: bool = False, allow_absent: bool = True,
                prefer: Sequence[bool] | None = None) -> KeyClasses:
    """The classes of ``key`` (lower-case) over ``conditions`` (every condition on that key), plus ``extra``
    literal values that must be told apart too (e.g. the configured ExternalId of an intended request)."""
    extra = tuple(extra)
    if prefer is not None and not extra:
        best = _preferred_string(key, conditions, prefer)
        if best is not None:
            return KeyClasses(key, (ABSENT, best) if allow_absent and key not in ALWAYS_PRESENT else (best,))
    comparison = _comparison(key, conditions)
    approximate = comparison.approximate
    singles: list[str] = [] if comparison.typed else ["x-unparsable"]
    for group in comparison.groups:
        family = [c for c in conditions if _FAMILY_GROUP[c.family.name] == group or group == "epoch"]
        singles += _family_candidates(group, family, extra if group == _STRING else ())
    singles += list(extra)
    allow_absent = allow_absent and key not in ALWAYS_PRESENT
    multivalued = multivalued or key in MULTIVALUED or any(c.qualifier is not Qualifier.NONE for c in conditions)
    by_vector: dict[tuple[bool, ...], ContextValue] = {}
    for single in singles:
        by_vector.setdefault(_vector((single,) if multivalued else single, key, conditions), single)
    representatives: list[ContextValue | None] = []
    if multivalued:
        members = [v for v in by_vector.values() if isinstance(v, str)]
        if len(members) > MAX_SET_CLASSES:
            approximate = approximate or f"{key} has {len(members)} value classes; sets of them were bounded"
        representatives.extend(_set_classes(members, key, conditions))
        representatives.extend(v for v in by_vector.values() if isinstance(v, str) and v in extra)
    else:
        representatives.extend(by_vector.values())
    if allow_absent:
        representatives.insert(0, ABSENT)
    representatives = list(dict.fromkeys(representatives))
    if prefer is not None:
        representatives = _undominated(representatives, key, conditions, prefer)
    return KeyClasses(key, tuple(representatives), approximate)


class _Comparison(NamedTuple):
    """How a key's values are compared, and why its classes are approximate (None when they are exact)."""

    groups: tuple[str, ...]
    """The value groups the key is compared as ("string", "number", "date", "epoch", ...), sorted."""
    typed: bool
    """The key has a documented type (KEY_TYPES), so no unparsable value is tried."""
    approximate: str | None


def _comparison(key: str, conditions: Sequence[CompiledCondition]) -> _Comparison:
    groups = {_FAMILY_GROUP[c.family.name] for c in conditions if c.family is not NULL} or {_STRING}
    typed = KEY_TYPES.get(key)
    if typed == "epoch":
        groups = {g for g in groups if g not in ("number", "date")} | {"epoch"}
    if typed is not None:
        mismatched = groups - {typed}
        approximate = (f"{key} holds {typed} values but is compared as {' and '.join(sorted(mismatched))}"
                       if mismatched else None)
        return _Comparison((typed,), True, approximate)
    return _Comparison(tuple(sorted(groups)), False,
                       f"{key} is compared as {' and '.join(sorted(groups))}" if len(groups) > 1 else None)


def _set_classes(members: list[str], key: str, conditions: Sequence[CompiledCondition]) -> list[ContextValue]:
    """One set of ``members`` per distinct truth vector of ``conditions``: every subset, or (beyond
    MAX_SET_CLASSES members) the empty set, singletons, pairs and the whole set."""
    subsets: Iterable[tuple[str, ...]]
    if len(members) > MAX_SET_CLASSES:
        subsets = itertools.chain(((),), ((m,) for m in members), itertools.combinations(members, 2),
                                  (tuple(members),))
    else:
        subsets = itertools.chain.from_iterable(itertools.combinations(members, n) for n in range(len(members) + 1))
    seen: dict[tuple[bool, ...], ContextValue] = {}
    for subset in subsets:
        seen.setdefault(_vector(tuple(subset), key, conditions), tuple(subset))
    return list(seen.values())


def _undominated(values: Sequence[ContextValue | None], key: str, conditions: Sequence[CompiledCondition],
                 prefer: Sequence[bool]) -> list[ContextValue | None]:
    """Drop every value whose conditions are each no closer to their preferred truth than another value's.

    A statement is met only when all its conditions are, and the decision is monotone in the statements met
    (Allows up, Denies and the intended set down), so a dominated value can never be the only way to an allow."""
    scored = [(value, tuple(hit == want for hit, want in zip(_vector(value, key, conditions), prefer, strict=True)))
              for value in values]
    kept: list[ContextValue | None] = []
    for value, score in scored:
        if not any(other != score and all(o >= s for o, s in zip(other, score, strict=True))
                   for _, other in scored):
            kept.append(value)
    unique: dict[tuple[bool, ...], ContextValue | None] = {}
    for value in kept:
        unique.setdefault(dict(scored)[value] if value is not None else next(sc for v, sc in scored if v is None),
                          value)
    return list(unique.values())
