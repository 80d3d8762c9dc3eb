"""Condition operators: one small parse/compare pair per family, dispatched from ``OPERATORS``.

Semantics quoted from the IAM User Guide ("Condition operators", "Single-valued vs. multivalued
context keys", "Creating a condition with multiple keys or values"):

* "If the key that you specify in a policy condition is not present in the request context, the
  values do not match and the condition is false. If the policy condition requires that the key
  is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the
  condition is true." ``...IfExists`` makes a missing key true; ``Null`` tests presence.
* Several values for one key are OR'ed; for negated operators the request value must match none
  of them (NOR). Several keys under one operator, and several operators, are AND'ed.
* ``ForAllValues`` is true when every request value matches (and when the key is missing or
  "resolve[s] to an empty data set (for example, an empty string)"); ``ForAnyValue`` needs at
  least one matching request value and is false for a missing key or an empty set.
* Policy variables are substituted only for string, ARN and Bool operators; "You can not use a
  policy variable with the Numeric / Date / Binary / IpAddress / Null condition operator".
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from compliance.iam.matching import Piece, compile_pieces
from compliance.iam.variables import ContextValue, Template, parse_template, static_pieces


class Qualifier(StrEnum):
    NONE = ""
    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d+)?")
_YEAR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")


def _joined(pieces: tuple[Piece, ...]) -> str:
    return "".join(text for text, _ in pieces)


def parse_number(text: str) -> float:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"'{text}' is not a number")
    return float(text)


def parse_date(text: str) -> float:
    """Seconds since the epoch from W3C ISO 8601 (``2020``, ``2020-01-01``, ``...T12:00:00Z``) or
    epoch seconds. Four digits alone read as a year (the W3C ``YYYY`` form), not as epoch time."""
    text = text.strip()
    short = _YEAR_MONTH.fullmatch(text)
    if short:
        return datetime(int(short.group(1)), int(short.group(2) or 1), 1, tzinfo=UTC).timestamp()
    if _EPOCH.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date or epoch time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_bool(text: str) -> str:
    folded = text.strip().lower()
    if folded not in ("true", "false"):
        raise ValueError(f"'{text}' is not true or false")
    return folded


def parse_binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"'{text}' is not base-64") from None


def parse_network(text: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"'{text}' is not an IP address or CIDR range") from None


def _maybe(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def coerce(value: str) -> Any:
        try:
            return parse(value)
        except ValueError:
            return None

    return coerce


def _context_ip(value: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(value.strip().split("/")[0])
    except ValueError:
        return None


def _context_binary(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def _like(request: str, pattern: re.Pattern[str]) -> bool:
    return pattern.fullmatch(request) is not None


def _in_network(request: IpAddress, network: IpNetwork) -> bool:
    return request.version == network.version and request in network


@dataclass(frozen=True, slots=True)
class Family:
    """How one operator reads policy values (``parse``) and request values (``coerce``) and compares them."""

    name: str
    parse: Callable[[tuple[Piece, ...]], Any]
    coerce: Callable[[str], Any]
    compare: Callable[[Any, Any], bool]
    negated: bool = False
    variables: bool = False


def _string(name: str, negated: bool) -> Family:
    return Family(name, _joined, str, operator.eq, negated, True)


def _string_ci(name: str, negated: bool) -> Family:
    return Family(name, lambda p: _joined(p).lower(), str.lower, operator.eq, negated, True)


def _string_like(name: str, negated: bool) -> Family:
    return Family(name, lambda p: compile_pieces(p, arn=False), str, _like, negated, True)


def _arn(name: str, negated: bool) -> Family:
    return Family(name, lambda p: compile_pieces(p, arn=True), str, _like, negated, True)


def _numeric(name: str, compare: Callable[[Any, Any], bool], negated: bool = False) -> Family:
    return Family(name, lambda p: parse_number(_joined(p)), _maybe(parse_number), compare, negated)


def _date(name: str, compare: Callable[[Any, Any], bool], negated: bool = False) -> Family:
    return Family(name, lambda p: parse_date(_joined(p)), _maybe(parse_date), compare, negated)


NULL = Family("Null", lambda p: parse_bool(_joined(p)) == "true", str, operator.eq)

OPERATORS: dict[str, Family] = {
    family.name: family
    for family in (
        _string("StringEquals", False),
        _string("StringNotEquals", True),
        _string_ci("StringEqualsIgnoreCase", False),
        _string_ci("StringNotEqualsIgnoreCase", True),
        _string_like("StringLike", False),
        _string_like("StringNotLike", True),
        _numeric("NumericEquals", operator.eq),
        _numeric("NumericNotEquals", operator.eq, negated=True),
        _numeric("NumericLessThan", operator.lt),
        _numeric("NumericLessThanEquals", operator.le),
        _numeric("NumericGreaterThan", operator.gt),
        _numeric("NumericGreaterThanEquals", operator.ge),
        _date("DateEquals", operator.eq),
        _date("DateNotEquals", operator.eq, negated=True),
        _date("DateLessThan", operator.lt),
        _date("DateLessThanEquals", operator.le),
        _date("DateGreaterThan", operator.gt),
        _date("DateGreaterThanEquals", operator.ge),
        Family("Bool", lambda p: parse_bool(_joined(p)), lambda v: v.strip().lower(), operator.eq, False, True),
        Family("BinaryEquals", lambda p: parse_binary(_joined(p)), _context_binary, operator.eq),
        Family("IpAddress", lambda p: parse_network(_joined(p)), _context_ip, _in_network),
        Family("NotIpAddress", lambda p: parse_network(_joined(p)), _context_ip, _in_network, True),
        _arn("ArnEquals", False),
        _arn("ArnLike", False),
        _arn("ArnNotEquals", True),
        _arn("ArnNotLike", True),
        NULL,
    )
}


def parse_operator(name: str) -> tuple[Qualifier, Family, bool]:
    """Split ``ForAnyValue:StringLikeIfExists`` into qualifier, family and the IfExists flag."""
    qualifier = Qualifier.NONE
    base = name
    if ":" in name:
        prefix, base = name.split(":", 1)
        if prefix not in (Qualifier.FOR_ANY_VALUE, Qualifier.FOR_ALL_VALUES):
            raise ValueError(f"unknown set operator '{prefix}' (use ForAnyValue or ForAllValues)")
        qualifier = Qualifier(prefix)
    if_exists = False
    if base not in OPERATORS and base.endswith("IfExists"):
        base = base[: -len("IfExists")]
        if base == NULL.name:
            raise ValueError("the Null operator cannot take the IfExists suffix")
        if_exists = True
    family = OPERATORS.get(base)
    if family is None:
        raise ValueError(f"unknown condition operator '{name}'")
    return qualifier, family, if_exists


@lru_cache(maxsize=8192)
def _parse_resolved(family: Family, pieces: tuple[Piece, ...]) -> Any:
    try:
        return family.parse(pieces)
    except ValueError:
        return None


class CompiledCondition:
    """One (operator, key, values) triple, parsed once; ``evaluate`` is called per request."""

    __slots__ = (
        "family",
        "if_exists",
        "key",
        "key_lower",
        "operator",
        "qualifier",
        "static",
        "templates",
        "values",
    )

    def __init__(self, operator_name: str, key: str, values: tuple[str, ...], *, variables: bool) -> None:
        """Raises ValueError naming the bad operator or value."""
        self.operator = operator_name
        self.key = key
        self.key_lower = key.lower()
        self.values = values
        self.qualifier, self.family, self.if_exists = parse_operator(operator_name)
        static: list[Any] = []
        templates: list[Template] = []
        for value in values:
            template = parse_template(value) if variables and self.family.variables else None
            if template is not None and template.has_references:
                templates.append(template)
            else:
                static.append(self.family.parse(static_pieces(value)))
        self.static = tuple(static)
        self.templates = tuple(templates)

    def policy_values(self, context: Mapping[str, ContextValue]) -> tuple[Any, ...]:
        if not self.templates:
            return self.static
        resolved = list(self.static)
        for template in self.templates:
            pieces = template.resolve(context)
            parsed = None if pieces is None else _parse_resolved(self.family, pieces)
            if parsed is not None:
                resolved.append(parsed)
        return tuple(resolved)

    def evaluate(self, context: Mapping[str, ContextValue]) -> tuple[bool, ContextValue | None]:
        """The condition's result and the request value it saw (None when the key is missing)."""
        raw = context.get(self.key_lower)
        family = self.family
        if family is NULL:
            is_null = raw is None or raw == ()
            return any(expected == is_null for expected in self.static), raw
        if raw is None:
            if self.if_exists or self.qualifier is Qualifier.FOR_ALL_VALUES:
                return True, None
            if self.qualifier is Qualifier.FOR_ANY_VALUE:
                return False, None
            return family.negated, None
        policy = self.policy_values(context)
        if self.qualifier is Qualifier.NONE:
            if isinstance(raw, str):
                return self._matches(raw, policy) != family.negated, raw
            positive = any(self._matches(value, policy) for value in raw)
            return positive != family.negated, raw
        values = (() if raw == "" else (raw,)) if isinstance(raw, str) else raw
        if self.qualifier is Qualifier.FOR_ALL_VALUES:
            return all(self._matches(value, policy) != family.negated for value in values), raw
        return any(self._matches(value, policy) != family.negated for value in values), raw

    def _matches(self, value: str, policy: tuple[Any, ...]) -> bool:
        coerced = self.family.coerce(value)
        if coerced is None:
            return False
        compare = self.family.compare
        return any(compare(coerced, expected) for expected in policy)
