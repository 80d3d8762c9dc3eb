"""Parsing: normalisation, round trips, and one clear PolicyError per malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compliance.errors import PolicyError
from compliance.iam import Effect, PolicyKind, parse_policy

ALLOW_GET = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def policy(*statements: object, version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def test_single_values_are_normalised_to_tuples() -> None:
    document = parse_policy(policy(ALLOW_GET), kind=PolicyKind.IDENTITY, name="p")
    statement = document.statements[0]
    assert statement.actions == ("s3:GetObject",)
    assert statement.resources == ("arn:aws:s3:::b/*",)
    assert statement.effect is Effect.ALLOW
    assert statement.label == "#1"


def test_a_statement_object_is_accepted_in_place_of_a_list() -> None:
    document = parse_policy({"Version": "2012-10-17", "Statement": ALLOW_GET}, kind=PolicyKind.IDENTITY, name="p")
    assert len(document.statements) == 1


def test_json_text_and_bytes_parse_to_the_same_document() -> None:
    text = json.dumps(policy({**ALLOW_GET, "Sid": "Get"}))
    from_text = parse_policy(text, kind=PolicyKind.IDENTITY, name="p")
    from_bytes = parse_policy(text.encode(), kind=PolicyKind.IDENTITY, name="p")
    assert from_text == from_bytes
    assert from_text.statements[0].label == "'Get'"


def test_element_names_are_read_case_insensitively() -> None:
    document = parse_policy(
        {"version": "2012-10-17", "statement": [{"effect": "Allow", "action": "s3:*", "resource": "*"}]},
        kind=PolicyKind.IDENTITY,
        name="p",
    )
    assert document.statements[0].actions == ("s3:*",)


def test_condition_values_may_be_numbers_and_booleans() -> None:
    statement = {**ALLOW_GET, "Condition": {"Bool": {"aws:SecureTransport": True},
                                            "NumericLessThan": {"s3:max-keys": 10}}}
    document = parse_policy(policy(statement), kind=PolicyKind.IDENTITY, name="p")
    assert [c.values for c in document.statements[0].conditions] == [("true",), ("10",)]


def test_round_trip_keeps_everything() -> None:
    statement = {
        "Sid": "All",
        "Effect": "Deny",
        "NotPrincipal": {"AWS": ["111122223333"], "Service": "s3.amazonaws.com"},
        "NotAction": ["s3:Get*"],
        "NotResource": "arn:aws:s3:::b",
        "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["a*", "b"]}},
    }
    document = parse_policy(policy(statement), kind=PolicyKind.RESOURCE, name="p")
    assert parse_policy(document.to_json(), kind=PolicyKind.RESOURCE, name="p") == document


def test_statements_for_action_lists_the_granting_statements() -> None:
    document = parse_policy(
        policy(
            {"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
            {"Sid": "Delete", "Effect": "Allow", "Action": ["s3:DeleteObject*"], "Resource": "*"},
            {"Sid": "All", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Sid": "Deny", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        ),
        kind=PolicyKind.IDENTITY,
        name="p",
    )
    granting = document.allows_actions(["s3:deleteobject", "iam:CreateUser"])
    assert [s.sid for s in granting["s3:deleteobject"]] == ["Delete", "All"]
    assert granting["iam:CreateUser"] == ()
    assert [s.sid for s in document.statements_for_action("s3:DeleteObject", Effect.DENY)] == ["Deny"]
    assert document.statements[0].matches_action("S3:GETOBJECT")


def test_trust_policies_need_no_resource() -> None:
    trust = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    document = parse_policy(policy(trust), kind=PolicyKind.TRUST, name="t")
    assert document.statements[0].matches_resource("arn:aws:iam::111122223333:role/R")


MALFORMED: list[tuple[str, Any, PolicyKind, str, str]] = [
    ("invalid JSON", '{"Statement": [', PolicyKind.IDENTITY, "invalid JSON", ""),
    ("duplicate key", '{"Statement": [], "Statement": []}', PolicyKind.IDENTITY, "twice", "Statement"),
    ("not an object", "[]", PolicyKind.IDENTITY, "must be a JSON object", ""),
    ("missing Statement", {"Version": "2012-10-17"}, PolicyKind.IDENTITY, "missing", "Statement"),
    ("unknown top-level key", {"Statement": [], "Foo": 1}, PolicyKind.IDENTITY, "unknown element", "Foo"),
    ("bad version", {"Version": "2012-10-18", "Statement": []}, PolicyKind.IDENTITY, "unknown version", "Version"),
    ("missing Effect", policy({"Action": "s3:*", "Resource": "*"}), PolicyKind.IDENTITY, "missing", "Effect"),
    ("unknown Effect", policy({**ALLOW_GET, "Effect": "Permit"}), PolicyKind.IDENTITY, "unknown effect", "Effect"),
    ("Action and NotAction", policy({**ALLOW_GET, "NotAction": "s3:Put*"}), PolicyKind.IDENTITY, "not both",
     "Action/NotAction"),
    ("Resource and NotResource", policy({**ALLOW_GET, "NotResource": "x"}), PolicyKind.IDENTITY, "not both",
     "Resource/NotResource"),
    ("Principal and NotPrincipal", policy({**ALLOW_GET, "Principal": "*", "NotPrincipal": "*"}),
     PolicyKind.RESOURCE, "not both", "Principal/NotPrincipal"),
    ("missing Action", policy({"Effect": "Allow", "Resource": "*"}), PolicyKind.IDENTITY, "missing", "Action"),
    ("missing Resource", policy({"Effect": "Allow", "Action": "s3:*"}), PolicyKind.IDENTITY, "missing",
     "Resource"),
    ("empty Action list", policy({**ALLOW_GET, "Action": []}), PolicyKind.IDENTITY, "non-empty", "Action"),
    ("Principal in identity policy", policy({**ALLOW_GET, "Principal": "*"}), PolicyKind.IDENTITY,
     "not allowed in a policy of kind 'identity'", "Principal"),
    ("Principal in SCP", policy({**ALLOW_GET, "Principal": "*"}), PolicyKind.SCP, "not allowed", "Principal"),
    ("NotPrincipal in boundary", policy({**ALLOW_GET, "NotPrincipal": "*"}), PolicyKind.BOUNDARY, "not allowed",
     "NotPrincipal"),
    ("Principal in session policy", policy({**ALLOW_GET, "Principal": "*"}), PolicyKind.SESSION, "not allowed",
     "Principal"),
    ("no Principal in bucket policy", policy(ALLOW_GET), PolicyKind.RESOURCE, "missing", "Principal"),
    ("no Principal in trust policy", policy({"Effect": "Allow", "Action": "sts:AssumeRole"}), PolicyKind.TRUST,
     "missing", "Principal"),
    ("no Principal in key policy", policy(ALLOW_GET), PolicyKind.KEY, "missing", "Principal"),
    ("partial principal wildcard", policy({**ALLOW_GET, "Principal": {"AWS": "arn:aws:iam::1:role/*"}}),
     PolicyKind.RESOURCE, "wildcard", "Principal.AWS"),
    ("unknown principal type", policy({**ALLOW_GET, "Principal": {"Amazon": "x"}}), PolicyKind.RESOURCE,
     "unknown principal type", "Principal.Amazon"),
    ("unknown operator", policy({**ALLOW_GET, "Condition": {"StringEqualz": {"k": "v"}}}), PolicyKind.IDENTITY,
     "unknown condition operator", "Condition.StringEqualz.k"),
    ("operator names are case-sensitive", policy({**ALLOW_GET, "Condition": {"stringequals": {"k": "v"}}}),
     PolicyKind.IDENTITY, "unknown condition operator", "Condition.stringequals.k"),
    ("unknown set operator", policy({**ALLOW_GET, "Condition": {"ForSomeValues:StringLike": {"k": "v"}}}),
     PolicyKind.IDENTITY, "unknown set operator", "Condition.ForSomeValues:StringLike.k"),
    ("NullIfExists", policy({**ALLOW_GET, "Condition": {"NullIfExists": {"k": "true"}}}), PolicyKind.IDENTITY,
     "IfExists", "Condition.NullIfExists.k"),
    ("bad CIDR", policy({**ALLOW_GET, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}),
     PolicyKind.IDENTITY, "not an IP address or CIDR", "Condition.IpAddress.aws:SourceIp"),
    ("bad IP", policy({**ALLOW_GET, "Condition": {"NotIpAddress": {"aws:SourceIp": "300.1.1.1"}}}),
     PolicyKind.IDENTITY, "not an IP address", "Condition.NotIpAddress.aws:SourceIp"),
    ("bad date", policy({**ALLOW_GET, "Condition": {"DateLessThan": {"aws:CurrentTime": "yesterday"}}}),
     PolicyKind.IDENTITY, "not an ISO 8601 date", "Condition.DateLessThan.aws:CurrentTime"),
    ("bad number", policy({**ALLOW_GET, "Condition": {"NumericEquals": {"s3:max-keys": "ten"}}}),
     PolicyKind.IDENTITY, "not a number", "Condition.NumericEquals.s3:max-keys"),
    ("variables are not numbers", policy({**ALLOW_GET, "Condition": {"NumericEquals": {"k": "${aws:x}"}}}),
     PolicyKind.IDENTITY, "not a number", "Condition.NumericEquals.k"),
    ("bad bool", policy({**ALLOW_GET, "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}),
     PolicyKind.IDENTITY, "not true or false", "Condition.Bool.aws:SecureTransport"),
    ("bad Null value", policy({**ALLOW_GET, "Condition": {"Null": {"k": "maybe"}}}), PolicyKind.IDENTITY,
     "not true or false", "Condition.Null.k"),
    ("bad base64", policy({**ALLOW_GET, "Condition": {"BinaryEquals": {"k": "***"}}}), PolicyKind.IDENTITY,
     "not base-64", "Condition.BinaryEquals.k"),
    ("empty values", policy({**ALLOW_GET, "Condition": {"StringEquals": {"k": []}}}), PolicyKind.IDENTITY,
     "no values", "Condition.StringEquals.k"),
    ("object value", policy({**ALLOW_GET, "Condition": {"StringEquals": {"k": {"a": 1}}}}), PolicyKind.IDENTITY,
     "strings, numbers or booleans", "Condition.StringEquals.k"),
    ("condition not an object", policy({**ALLOW_GET, "Condition": ["x"]}), PolicyKind.IDENTITY, "must be an object",
     "Condition"),
    ("statement not an object", policy("nope"), PolicyKind.IDENTITY, "must be an object", ""),
    ("unknown statement key", policy({**ALLOW_GET, "Actions": "s3:*"}), PolicyKind.IDENTITY, "unknown element",
     "Actions"),
]


@pytest.mark.parametrize(("label", "raw", "kind", "problem", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_policies_raise_one_clear_policy_error(
    label: str, raw: Any, kind: PolicyKind, problem: str, field: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(raw, kind=kind, name="my-policy")
    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert message.startswith("my-policy")
    assert problem in message
    assert (error.field or "") == field


def test_errors_name_the_statement_by_sid_or_position() -> None:
    with pytest.raises(PolicyError, match=r"statement 'Second', field Effect"):
        parse_policy(policy(ALLOW_GET, {**ALLOW_GET, "Sid": "Second", "Effect": "allow"}),
                     kind=PolicyKind.IDENTITY, name="p")
    with pytest.raises(PolicyError, match=r"statement #2, field Action"):
        parse_policy(policy(ALLOW_GET, {"Effect": "Allow", "Resource": "*"}), kind=PolicyKind.IDENTITY, name="p")
