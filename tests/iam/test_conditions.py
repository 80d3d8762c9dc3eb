"""Condition operators, one family at a time, including missing keys, sets, IfExists and variables."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.iam.conditions import CompiledCondition
from compliance.iam.request import normalise_context_value

MISSING = object()


def check(operator: str, values: Any, seen: Any = MISSING, *, key: str = "k", variables: bool = True,
          context: dict[str, Any] | None = None) -> bool:
    values = tuple(values) if isinstance(values, list) else (values,)
    condition = CompiledCondition(operator, key, values, variables=variables)
    full = {k.lower(): normalise_context_value(v) for k, v in (context or {}).items()}
    if seen is not MISSING:
        full[key.lower()] = normalise_context_value(seen)
    return condition.evaluate(full)[0]


@pytest.mark.parametrize(
    ("operator", "values", "seen", "expected"),
    [
        ("StringEquals", "johndoe", "johndoe", True),
        ("StringEquals", "johndoe", "JohnDoe", False),
        ("StringEquals", ["a", "b"], "b", True),
        ("StringNotEquals", ["a", "b"], "b", False),
        ("StringNotEquals", ["a", "b"], "c", True),
        ("StringEqualsIgnoreCase", "johndoe", "JohnDoe", True),
        ("StringNotEqualsIgnoreCase", "johndoe", "JOHNDOE", False),
        ("StringLike", "home/*", "home/alice/x", True),
        ("StringLike", "t?.*", "t2.micro", True),
        ("StringLike", "t?.*", "m5.large", False),
        ("StringLike", "Home/*", "home/x", False),
        ("StringNotLike", ["a*", "b*"], "cat", True),
        ("StringNotLike", ["a*", "b*"], "bat", False),
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", ["1", "2"], "2", False),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "3600", "3601", True),
        ("NumericGreaterThanEquals", "3600", "3599", False),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", "10", "ten", True),
        ("DateGreaterThan", "2020-01-01T00:00:01Z", "2020-06-01T00:00:00Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "1577836799", True),
        ("DateEquals", "1577836800", "2020-01-01T00:00:00Z", True),
        ("DateEquals", "2020-01-01", "2020-01-01T00:00:00+00:00", True),
        ("DateNotEquals", "2020-01-01", "2020-01-02", True),
        ("DateLessThanEquals", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00Z", True),
        ("DateGreaterThanEquals", "2020", "2019-12-31T23:59:59Z", False),
        ("Bool", "true", "true", True),
        ("Bool", "false", "true", False),
        ("Bool", "TRUE", "True", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QQ==", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.77", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.1", False),
        ("IpAddress", "203.0.113.5", "203.0.113.5", True),
        ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::9", True),
        ("IpAddress", "2001:DB8:1234:5678::/64", "203.0.113.5", False),
        ("NotIpAddress", ["10.0.0.0/8", "192.168.0.0/16"], "192.168.1.1", False),
        ("NotIpAddress", "10.0.0.0/8", "2001:db8::1", True),
        ("ArnEquals", "arn:aws:sns:*:123456789012:topic", "arn:aws:sns:us-east-1:123456789012:topic", True),
        ("ArnLike", "arn:aws:someservice:*:111122223333:finance/*",
         "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt", False),
        ("StringLike", "arn:aws:someservice:*:111122223333:finance/*",
         "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt", True),
        ("ArnLike", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", True),
        ("ArnNotLike", "arn:aws:iam::*:role/Admin*", "arn:aws:iam::1:role/AdminX", False),
        ("ArnNotEquals", "arn:aws:iam::1:user/a", "arn:aws:iam::1:user/b", True),
    ],
)
def test_operator_families(operator: str, values: Any, seen: str, expected: bool) -> None:
    assert check(operator, values, seen) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("NotIpAddress", True),
        ("NumericLessThan", False),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("ForAllValues:StringEquals", True),
        ("ForAllValues:StringNotEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringNotEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
    ],
)
def test_a_missing_key(operator: str, expected: bool) -> None:
    value = "10.0.0.0/8" if "Ip" in operator else "1"
    assert check(operator, value) is expected


def test_null_checks_presence() -> None:
    assert check("Null", "true") is True
    assert check("Null", "true", "x") is False
    assert check("Null", "false", "x") is True
    assert check("Null", "false", []) is False


@pytest.mark.parametrize(
    ("operator", "values", "seen", "expected"),
    [
        ("ForAllValues:StringLike", ["Created*"], ["CreatedBy", "CreatedAt"], True),
        ("ForAllValues:StringEquals", ["PostDateTime", "Message", "Tags"], ["PostDateTime", "UserName"], False),
        ("ForAllValues:StringEquals", ["a"], [], True),
        ("ForAllValues:StringEquals", ["a"], "", True),
        ("ForAnyValue:StringEquals", ["ID", "PostDateTime"], ["UserName", "Message", "PostDateTime"], True),
        ("ForAnyValue:StringEquals", ["ID", "PostDateTime"], ["UserName"], False),
        ("ForAnyValue:StringEquals", ["a"], [], False),
        ("ForAnyValue:StringEquals", ["a"], "", False),
        ("ForAllValues:StringNotEquals", ["a", "b"], ["c", "d"], True),
        ("ForAllValues:StringNotEquals", ["a", "b"], ["c", "a"], False),
        ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "c"], True),
        ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "b"], False),
        ("StringEquals", ["a"], ["b", "a"], True),
        ("StringNotEquals", ["a"], ["b", "a"], False),
        ("ForAnyValue:StringEquals", ["a"], "a", True),
    ],
)
def test_set_operators(operator: str, values: list[str], seen: Any, expected: bool) -> None:
    assert check(operator, values, seen) is expected


def test_condition_keys_are_case_insensitive() -> None:
    assert check("StringEquals", "x", key="AWS:UserName", context={"aws:username": "x"}) is True


def test_policy_variables_substitute_from_the_context() -> None:
    context = {"aws:username": "alice", "aws:PrincipalTag/team": "audit"}
    assert check("StringLike", "home/${aws:username}/*", "home/alice/f", context=context) is True
    assert check("StringEquals", "${aws:principaltag/TEAM}", "audit", context=context) is True
    assert check("StringEquals", "${aws:username}", "alice", context=context, variables=False) is False
    assert check("StringEquals", "${aws:username}", "${aws:username}", context=context, variables=False) is True


def test_unresolved_variables_match_nothing_unless_a_default_is_given() -> None:
    assert check("StringEquals", "${aws:username}", "alice") is False
    assert check("StringNotEquals", "${aws:username}", "alice") is True
    assert check("StringEquals", "${aws:username, 'anonymous'}", "anonymous") is True
    assert check("StringEquals", "${aws:TagKeys}", "a", context={"aws:TagKeys": ["a"]}) is False


def test_literal_escapes_do_not_act_as_wildcards() -> None:
    assert check("StringLike", "a${*}b", "a*b") is True
    assert check("StringLike", "a${*}b", "axxb") is False
    assert check("StringLike", "a${?}", "a?") is True
    assert check("StringEquals", "cost${$}", "cost$") is True


def test_substituted_values_are_literal_even_in_like_patterns() -> None:
    assert check("StringLike", "${aws:username}", "bob", context={"aws:username": "*"}) is False
    assert check("StringLike", "${aws:username}", "*", context={"aws:username": "*"}) is True
