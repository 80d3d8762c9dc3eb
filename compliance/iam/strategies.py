"""Hypothesis strategies for policies, statements, requests and context values.

Raw strategies (``statements()``, ``policies()``, ``conditions()``) draw JSON-shaped data to feed
:func:`compliance.iam.parse_policy`; ``policy_documents()`` and ``requests()`` draw parsed objects.
The vocabulary is deliberately small (a few services, buckets, accounts and context keys) so that
drawn statements and drawn requests meet often. Every argument with a default is keyword-only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Literal

from hypothesis import strategies as st

from compliance.iam.document import Effect, PolicyDocument, PolicyKind, parse_policy
from compliance.iam.request import Request
from compliance.iam.variables import ContextValue

ACCOUNTS = ("111122223333", "444455556666")
ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "kms:Decrypt", "sts:AssumeRole")
ACTION_PATTERNS = (*ACTIONS, "s3:*", "s3:Get*", "s3:?utObject", "kms:*", "*", "S3:getobject")
RESOURCES = (
    "arn:aws:s3:::audit-reports",
    "arn:aws:s3:::audit-reports/qualio/r.pdf",
    "arn:aws:s3:::other-bucket/x",
    "arn:aws:kms:eu-west-1:111122223333:key/k1",
)
RESOURCE_PATTERNS = (
    *RESOURCES,
    "*",
    "arn:aws:s3:::audit-reports/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::audit-?eports/qualio/*",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:s3:::audit-reports/${aws:username}/*",
)
STRING_KEYS = ("aws:PrincipalTag/team", "aws:username", "s3:prefix")
MULTI_KEYS = ("aws:TagKeys", "aws:PrincipalOrgPaths")
WORDS = ("audit", "qualio", "Audit", "ops", "", "a*", "team-1")
STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
)
NUMERIC_OPERATORS = tuple(f"Numeric{s}" for s in ("Equals", "NotEquals", "LessThan", "LessThanEquals",
                                                  "GreaterThan", "GreaterThanEquals"))
DATE_OPERATORS = tuple(op.replace("Numeric", "Date") for op in NUMERIC_OPERATORS)


def ips(*, v: Literal[4, 6] | None = None) -> st.SearchStrategy[str]:
    """IP addresses as strings, mixing uniform draws with a few boundary-heavy ranges."""
    if v not in (None, 4, 6):
        raise ValueError(f"{v=}, but only v=4 or v=6 are valid")
    special = st.sampled_from(["10.0.0.1", "10.255.255.255", "192.0.2.1", "203.0.113.9", "2001:db8::1", "::1"])
    drawn = st.ip_addresses(v=v).map(str)
    if v is not None:
        special = special.filter(lambda ip: ipaddress.ip_address(ip).version == v)
    return drawn | special


def cidrs(*, v: Literal[4, 6] | None = None) -> st.SearchStrategy[str]:
    """CIDR ranges (and bare addresses, which IAM reads as /32 or /128)."""
    def network(ip: str, prefix: int) -> str:
        address = ipaddress.ip_address(ip)
        bits = min(prefix, address.max_prefixlen)
        return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))

    return st.one_of(ips(v=v), st.builds(network, ips(v=v), st.integers(0, 128)))


def context_values(*, multivalued: bool | None = None) -> st.SearchStrategy[ContextValue]:
    """A single string, or a tuple for a multivalued key (possibly empty)."""
    single = st.sampled_from(WORDS)
    multi = st.lists(st.sampled_from(WORDS), max_size=3).map(tuple)
    if multivalued is None:
        return single | multi
    return multi if multivalued else single


def contexts(*, keys: Sequence[str] | None = None) -> st.SearchStrategy[dict[str, ContextValue]]:
    """A request context holding some of the vocabulary's keys with plausible values."""
    per_key: dict[str, st.SearchStrategy[ContextValue]] = {
        "aws:SecureTransport": st.sampled_from(["true", "false"]),
        "aws:SourceIp": ips(),
        "aws:CurrentTime": st.sampled_from(["2024-01-01T00:00:00Z", "2030-06-01T12:00:00Z", "1700000000"]),
        "s3:max-keys": st.sampled_from(["1", "10", "1000", "x"]),
        **{key: context_values(multivalued=False) for key in STRING_KEYS},
        **{key: context_values(multivalued=True) for key in MULTI_KEYS},
    }
    chosen = [key for key in per_key if keys is None or key in keys]
    return st.fixed_dictionaries({}, optional={key: per_key[key] for key in chosen})


def conditions(*, max_operators: int = 2) -> st.SearchStrategy[dict[str, dict[str, list[str]]]]:
    """A Condition block over the vocabulary's keys, every operator family represented."""
    suffix = st.sampled_from(["", "", "IfExists"])
    blocks = st.one_of(
        st.tuples(st.sampled_from(STRING_OPERATORS), suffix, st.sampled_from(STRING_KEYS),
                  st.lists(st.sampled_from([*WORDS, "${aws:username}", "${aws:username, 'x'}"]), min_size=1,
                           max_size=2)),
        st.tuples(st.sampled_from(["ForAnyValue:", "ForAllValues:"]).flatmap(
            lambda q: st.sampled_from(STRING_OPERATORS).map(lambda op: q + op)), suffix,
            st.sampled_from(MULTI_KEYS), st.lists(st.sampled_from(WORDS), min_size=1, max_size=2)),
        st.tuples(st.just("Bool"), suffix, st.just("aws:SecureTransport"),
                  st.sampled_from([["true"], ["false"]])),
        st.tuples(st.sampled_from(["IpAddress", "NotIpAddress"]), suffix, st.just("aws:SourceIp"),
                  st.lists(cidrs(), min_size=1, max_size=2)),
        st.tuples(st.sampled_from(NUMERIC_OPERATORS), suffix, st.just("s3:max-keys"),
                  st.lists(st.sampled_from(["5", "10", "100.5"]), min_size=1, max_size=2)),
        st.tuples(st.sampled_from(DATE_OPERATORS), suffix, st.just("aws:CurrentTime"),
                  st.lists(st.sampled_from(["2025-01-01", "2025-01-01T00:00:00Z", "1735689600"]), min_size=1,
                           max_size=2)),
        st.tuples(st.just("Null"), st.just(""), st.sampled_from([*STRING_KEYS, *MULTI_KEYS]),
                  st.sampled_from([["true"], ["false"]])),
    )

    def assemble(drawn: list[tuple[str, str, str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        block: dict[str, dict[str, list[str]]] = {}
        for operator, tail, key, values in drawn:
            block.setdefault(operator + tail, {})[key] = values
        return block

    return st.lists(blocks, min_size=1, max_size=max_operators).map(assemble)


def _one_or_many(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | list[str]]:
    return values | st.lists(values, min_size=1, max_size=3)


def principal_elements() -> st.SearchStrategy[str | dict[str, Any]]:
    aws = st.sampled_from([
        "*",
        *ACCOUNTS,
        *(f"arn:aws:iam::{a}:root" for a in ACCOUNTS),
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:role/Writer",
        "arn:aws:sts::111122223333:assumed-role/Writer/s1",
    ])
    return st.just("*") | st.fixed_dictionaries(
        {"AWS": _one_or_many(aws)}, optional={"Service": _one_or_many(st.just("s3.amazonaws.com"))}
    )


def statements(
    *,
    effects: Sequence[Effect] = (Effect.ALLOW, Effect.DENY),
    kind: PolicyKind = PolicyKind.IDENTITY,
    with_conditions: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """A raw statement valid for a policy of ``kind``."""
    required: dict[str, st.SearchStrategy[Any]] = {"Effect": st.sampled_from([e.value for e in effects])}
    optional: dict[str, st.SearchStrategy[Any]] = {"Sid": st.sampled_from(["S1", "Writer", "Deny2"])}
    action_key = st.sampled_from(["Action", "Action", "NotAction"])
    resource_key = st.sampled_from(["Resource", "Resource", "NotResource"])
    principal_key = st.sampled_from(["Principal", "Principal", "NotPrincipal"])
    if with_conditions:
        optional["Condition"] = conditions()

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        statement = draw(st.fixed_dictionaries(required, optional=optional))
        statement[draw(action_key)] = draw(_one_or_many(st.sampled_from(ACTION_PATTERNS)))
        if kind is not PolicyKind.TRUST or draw(st.booleans()):
            statement[draw(resource_key)] = draw(_one_or_many(st.sampled_from(RESOURCE_PATTERNS)))
        if kind in (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.KEY):
            statement[draw(principal_key)] = draw(principal_elements())
        return statement

    return build()


def policies(
    *,
    kind: PolicyKind = PolicyKind.IDENTITY,
    min_size: int = 1,
    max_size: int = 4,
    versions: Sequence[str | None] = ("2012-10-17", "2012-10-17", "2008-10-17", None),
    effects: Sequence[Effect] = (Effect.ALLOW, Effect.DENY),
) -> st.SearchStrategy[dict[str, Any]]:
    """A raw policy document valid for ``kind``."""
    def assemble(version: str | None, items: list[dict[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {"Statement": items}
        if version is not None:
            document["Version"] = version
        return document

    return st.builds(
        assemble,
        st.sampled_from(list(versions)),
        st.lists(statements(kind=kind, effects=effects), min_size=min_size, max_size=max_size),
    )


def policy_documents(
    *, kind: PolicyKind = PolicyKind.IDENTITY, name: str = "drawn"
) -> st.SearchStrategy[PolicyDocument]:
    """Parsed policies of ``kind`` (see ``policies()``)."""
    return policies(kind=kind).map(lambda raw: parse_policy(raw, kind=kind, name=name))


def requests(*, actions: Sequence[str] = ACTIONS, resources: Sequence[str] = RESOURCES) -> st.SearchStrategy[Request]:
    """Requests from users, role sessions, roots and a service principal in the vocabulary's accounts."""
    callers = st.sampled_from([
        ("arn:aws:iam::111122223333:user/alice", "111122223333"),
        ("arn:aws:sts::111122223333:assumed-role/Writer/s1", "111122223333"),
        ("arn:aws:iam::444455556666:user/bob", "444455556666"),
        ("arn:aws:iam::111122223333:root", "111122223333"),
        ("s3.amazonaws.com", None),
    ])
    return st.builds(
        lambda caller, action, resource, owner, context: Request(caller[0], caller[1], action, resource, owner,
                                                                 context),
        callers,
        st.sampled_from(list(actions)),
        st.sampled_from(list(resources)),
        st.sampled_from([*ACCOUNTS, None]),
        contexts(),
    )


__all__ = [
    "cidrs",
    "conditions",
    "context_values",
    "contexts",
    "ips",
    "policies",
    "policy_documents",
    "principal_elements",
    "requests",
    "statements",
]
