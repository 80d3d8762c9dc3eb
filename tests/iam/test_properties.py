"""Properties of the evaluator that must hold for every policy set and request."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.iam import Decision, Effect, PolicyKind, Request, evaluate, parse_policy
from compliance.iam import strategies as iam

FAST = settings(max_examples=100, deadline=None)

DENY_ALL = {"Effect": "Deny", "Action": "*", "Resource": "*"}
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}

Raw = dict[str, Any]


def decide(request: Request, identity: Raw, resource: Raw, boundary: Raw | None = None) -> Decision:
    return evaluate(
        request,
        identity_policies=[parse_policy(identity, kind=PolicyKind.IDENTITY, name="identity")],
        resource_policy=parse_policy(resource, kind=PolicyKind.RESOURCE, name="resource"),
        permission_boundary=None if boundary is None else parse_policy(boundary, kind=PolicyKind.BOUNDARY,
                                                                        name="boundary"),
    ).decision


def with_statement(policy: Raw, statement: Raw) -> Raw:
    out = copy.deepcopy(policy)
    out["Statement"] = [*out["Statement"], statement]
    return out


setups = st.tuples(
    iam.requests(),
    iam.policies(),
    iam.policies(kind=PolicyKind.RESOURCE),
    st.none() | iam.policies(kind=PolicyKind.BOUNDARY),
)


@FAST
@given(setups)
def test_an_explicit_deny_in_an_identity_policy_always_wins(setup: tuple[Request, Raw, Raw, Raw | None]) -> None:
    request, identity, resource, boundary = setup
    assert decide(request, with_statement(identity, DENY_ALL), resource, boundary) is Decision.EXPLICIT_DENY


@FAST
@given(setups)
def test_an_explicit_deny_for_everyone_in_a_resource_policy_always_wins(
    setup: tuple[Request, Raw, Raw, Raw | None],
) -> None:
    request, identity, resource, boundary = setup
    deny = {**DENY_ALL, "Principal": "*"}
    assert decide(request, identity, with_statement(resource, deny), boundary) is Decision.EXPLICIT_DENY


@FAST
@given(setups, iam.statements(effects=[Effect.ALLOW]), st.sampled_from(["identity", "resource", "boundary"]))
def test_adding_an_allow_never_turns_allow_into_deny(
    setup: tuple[Request, Raw, Raw, Raw | None], allow: Raw, where: str
) -> None:
    request, identity, resource, boundary = setup
    before = decide(request, identity, resource, boundary)
    if where == "identity":
        identity = with_statement(identity, allow)
    elif where == "resource":
        resource = with_statement(resource, {**allow, "Principal": allow.get("Principal", "*")})
    elif boundary is not None:
        boundary = with_statement(boundary, allow)
    after = decide(request, identity, resource, boundary)
    assert before is not Decision.ALLOW or after is Decision.ALLOW


@FAST
@given(setups, iam.statements(effects=[Effect.DENY]), st.booleans())
def test_adding_a_deny_never_turns_a_deny_into_allow(
    setup: tuple[Request, Raw, Raw, Raw | None], deny: Raw, in_identity: bool
) -> None:
    request, identity, resource, boundary = setup
    before = decide(request, identity, resource, boundary)
    if in_identity:
        identity = with_statement(identity, deny)
    else:
        resource = with_statement(resource, {**deny, "Principal": deny.get("Principal", "*")})
    after = decide(request, identity, resource, boundary)
    assert before is Decision.ALLOW or after is not Decision.ALLOW


def _map_statements(policy: Raw, change: Any) -> Raw:
    out = copy.deepcopy(policy)
    out["Statement"] = [change(statement) for statement in out["Statement"]]
    return out


def _as_lists(statement: Raw) -> Raw:
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if isinstance(statement.get(key), str):
            statement[key] = [statement[key]]
        elif isinstance(statement.get(key), list) and len(statement[key]) == 1:
            statement[key] = statement[key][0]
    return statement


def _swap_action_case(statement: Raw) -> Raw:
    for key in ("Action", "NotAction"):
        value = statement.get(key)
        if isinstance(value, str):
            statement[key] = value.swapcase()
        elif isinstance(value, list):
            statement[key] = [item.swapcase() for item in value]
    return statement


def _upper_condition_keys(statement: Raw) -> Raw:
    if "Condition" in statement:
        statement["Condition"] = {
            operator: {key.upper(): values for key, values in block.items()}
            for operator, block in statement["Condition"].items()
        }
    return statement


@FAST
@given(setups)
def test_string_or_one_element_list_makes_no_difference(setup: tuple[Request, Raw, Raw, Raw | None]) -> None:
    request, identity, resource, boundary = setup
    expected = decide(request, identity, resource, boundary)
    changed = [_map_statements(p, _as_lists) for p in (identity, resource)]
    assert decide(request, changed[0], changed[1], boundary) is expected


@FAST
@given(setups)
def test_action_case_makes_no_difference(setup: tuple[Request, Raw, Raw, Raw | None]) -> None:
    request, identity, resource, boundary = setup
    expected = decide(request, identity, resource, boundary)
    shouted = Request(request.principal, request.principal_account, request.action.upper(), request.resource,
                      request.resource_account, request.context)
    changed = [_map_statements(p, _swap_action_case) for p in (identity, resource)]
    assert decide(shouted, changed[0], changed[1], boundary) is expected


@FAST
@given(setups, st.randoms(use_true_random=False))
def test_statement_order_makes_no_difference(setup: tuple[Request, Raw, Raw, Raw | None], rng: Any) -> None:
    request, identity, resource, boundary = setup
    expected = decide(request, identity, resource, boundary)
    shuffled = []
    for policy in (identity, resource):
        policy = copy.deepcopy(policy)
        rng.shuffle(policy["Statement"])
        shuffled.append(policy)
    assert decide(request, shuffled[0], shuffled[1], boundary) is expected


@FAST
@given(setups)
def test_condition_key_case_makes_no_difference(setup: tuple[Request, Raw, Raw, Raw | None]) -> None:
    request, identity, resource, boundary = setup
    expected = decide(request, identity, resource, boundary)
    lowered = Request(request.principal, request.principal_account, request.action, request.resource,
                      request.resource_account, {key.lower(): value for key, value in request.context.items()})
    changed = [_map_statements(p, _upper_condition_keys) for p in (identity, resource)]
    assert decide(lowered, changed[0], changed[1], boundary) is expected


@FAST
@given(st.sampled_from(list(PolicyKind)).flatmap(lambda kind: st.tuples(st.just(kind), iam.policies(kind=kind))))
def test_parse_serialise_parse_round_trips(drawn: tuple[PolicyKind, Raw]) -> None:
    kind, raw = drawn
    document = parse_policy(raw, kind=kind, name="p")
    again = parse_policy(document.to_json(), kind=kind, name="p")
    assert again == document
    assert again.to_json() == document.to_json()


@FAST
@given(iam.requests(), iam.policies())
def test_every_evaluation_explains_itself(request: Request, identity: Raw) -> None:
    import json

    evaluation = evaluate(request, identity_policies=[parse_policy(identity, kind=PolicyKind.IDENTITY, name="i")])
    assert json.loads(json.dumps(evaluation.to_json()))["decision"] == evaluation.decision.value
    assert evaluation.summary()
    if evaluation.decision is not Decision.IMPLICIT_DENY:
        assert evaluation.deciding_statements()
