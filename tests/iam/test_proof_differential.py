"""The reasoning layer and the engine agree: random bucket policies, random concrete requests.

If the engine allows a concrete request outside the intended set, the prover must return a witness (it is
never allowed to prove a policy safe that the engine shows open); every witness it returns is a request the
engine allows. The engine's monotonicity, which the search relies on, is checked too.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.iam import PolicyKind, Request, evaluate, parse_policy
from compliance.proof.principals import OrgFacts, outside_callers
from compliance.proof.questions import free_key
from compliance.proof.search import PrincipalClass, Prover, Question
from compliance.proof.strings import Glob

BUCKET = "arn:aws:s3:::records"
ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:GetObject")
ACCOUNTS = ("444455556666", "777788889999")
ALLOW_ALL = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                         kind=PolicyKind.IDENTITY, name="allow all")
SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))

condition_values = {
    "aws:SourceIp": ("IpAddress", st.sampled_from(["10.0.0.0/8", "10.1.2.3/32", "192.0.2.0/24"])),
    "aws:Referer": ("StringLike", st.sampled_from(["https://a.example/*", "*b*", "exact"])),
    "aws:PrincipalOrgID": ("StringEquals", st.sampled_from(["o-aaaaaaaaaa", "o-bbbbbbbbbb"])),
    "aws:PrincipalArn": ("ArnLike", st.sampled_from(["arn:aws:iam::*:role/Ex*", "arn:aws:iam::444455556666:*"])),
    "aws:CurrentTime": ("DateGreaterThan", st.sampled_from(["2027-01-01T00:00:00Z", "2020-01-01T00:00:00Z"])),
    "aws:SecureTransport": ("Bool", st.sampled_from(["true", "false"])),
}


@st.composite
def statements(draw: Any) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(condition_values)), max_size=2, unique=True))
    block: dict[str, dict[str, str]] = {}
    for key in keys:
        operator, values = condition_values[key]
        if draw(st.booleans()) and operator.startswith(("String", "Arn", "Ip")):
            operator = {"IpAddress": "NotIpAddress"}.get(operator, operator.replace("Like", "NotLike")
                                                         .replace("Equals", "NotEquals"))
        block.setdefault(operator, {})[key] = draw(values)
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        "Principal": draw(st.sampled_from(["*", {"AWS": "arn:aws:iam::444455556666:root"},
                                           {"AWS": "arn:aws:iam::777788889999:role/Export"}])),
        "Action": draw(st.sampled_from(["s3:*", "s3:Put*", "s3:GetObject", "s3:DeleteObject"])),
        "Resource": draw(st.sampled_from([f"{BUCKET}/*", f"{BUCKET}/a/*", f"{BUCKET}/*.pdf"])),
    }
    if block:
        statement["Condition"] = block
    return statement


policies = st.lists(statements(), min_size=1, max_size=4).map(
    lambda s: parse_policy({"Version": "2012-10-17", "Statement": s}, kind=PolicyKind.RESOURCE, name="bucket policy"))


@st.composite
def requests(draw: Any) -> Request:
    account = draw(st.sampled_from(ACCOUNTS))
    role = draw(st.sampled_from(["Export", "ExportStaging", "Other"]))
    org = draw(st.sampled_from([None, "o-aaaaaaaaaa", "o-bbbbbbbbbb", "o-cccccccccc"]))
    context: dict[str, Any] = {"aws:PrincipalArn": f"arn:aws:iam::{account}:role/{role}",
                               "aws:PrincipalAccount": account, "aws:SecureTransport": draw(st.sampled_from(
                                   ["true", "false"])), "aws:CurrentTime": draw(st.sampled_from(
                                       ["2026-06-01T00:00:00Z", "2028-01-01T00:00:00Z"]))}
    if org:
        context["aws:PrincipalOrgID"] = org
    if draw(st.booleans()):
        context["aws:SourceIp"] = draw(st.sampled_from(["10.1.2.3", "10.9.9.9", "192.0.2.7", "198.51.100.1"]))
    if draw(st.booleans()):
        context["aws:Referer"] = draw(st.sampled_from(["https://a.example/x", "abc", "exact", "zzz"]))
    key = draw(st.sampled_from(["a/report.pdf", "b/report.pdf", "a/x.txt"]))
    return Request(f"arn:aws:sts::{account}:assumed-role/{role}/s", account, draw(st.sampled_from(ACTIONS)),
                   f"{BUCKET}/{key}", "111122223333", context)


def _question(policy: Any) -> Question:
    callers = outside_callers([policy], customer="111122223333", customer_org=OrgFacts(None, None),
                              extra_accounts=ACCOUNTS)

    def judge(request: Request) -> Any:
        identity = (ALLOW_ALL,) if request.caller.is_iam else ()
        return evaluate(request, identity_policies=identity, resource_policy=policy)

    principals = tuple(PrincipalClass(c.label, c.arn, c.account, c.context, judge, (policy,), absent_keys=c.absent)
                       for c in callers)
    return Question("differential", principals, ACTIONS, Glob(f"{BUCKET}/*", arn=True), f"{BUCKET}/", "111122223333",
                    {"aws:ResourceAccount": "111122223333"})


@SETTINGS
@given(policy=policies, request=requests())
def test_prover_finds_a_witness_whenever_the_engine_allows(policy: Any, request: Request) -> None:
    allowed = evaluate(request, identity_policies=(ALLOW_ALL,), resource_policy=policy).allowed()
    outcome = Prover(free_key=free_key).decide(_question(policy))
    for witness in outcome.witnesses:
        assert witness.evaluation.allowed()
        assert evaluate(witness.request, identity_policies=(ALLOW_ALL,) if witness.request.caller.is_iam else (),
                        resource_policy=policy).allowed()
    if allowed:
        assert outcome.witnesses, f"engine allows {request.to_json()} but the prover proved the policy closed"


@SETTINGS
@given(policy=policies, extra=statements(), request=requests())
def test_engine_is_monotone_in_allows_and_denies(policy: Any, extra: dict[str, Any], request: Request) -> None:
    """Adding an Allow statement never takes an allow away; adding a Deny never grants one."""
    document = policy.to_json()
    before = evaluate(request, identity_policies=(ALLOW_ALL,), resource_policy=policy).allowed()
    after_policy = parse_policy({**document, "Statement": [*document["Statement"], extra]}, kind=PolicyKind.RESOURCE,
                                name="bucket policy")
    after = evaluate(request, identity_policies=(ALLOW_ALL,), resource_policy=after_policy).allowed()
    if extra["Effect"] == "Allow":
        assert after or not before
    else:
        assert before or not after
