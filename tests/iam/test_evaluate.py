"""Evaluation order, principal forms, gates and the explanation an inspector reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compliance.iam import Decision, Outcome, PolicyDocument, PolicyKind, Request, evaluate, parse_policy

A = "111122223333"
B = "444455556666"
BUCKET = "arn:aws:s3:::audit"
OBJECT = f"{BUCKET}/r.pdf"
USER = f"arn:aws:iam::{A}:user/alice"
ROLE = f"arn:aws:iam::{A}:role/Writer"
SESSION = f"arn:aws:sts::{A}:assumed-role/Writer/s1"


def doc(kind: PolicyKind, *statements: dict[str, Any], name: str = "p") -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, kind=kind, name=name)


def allow(action: str = "s3:GetObject", resource: str = OBJECT, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "s3:GetObject", resource: str = OBJECT, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def request(principal: str = USER, account: str | None = A, action: str = "s3:GetObject", resource: str = OBJECT,
            owner: str | None = A, **context: Any) -> Request:
    return Request(principal, account, action, resource, owner, context)


IDENTITY_ALLOW = doc(PolicyKind.IDENTITY, allow(), name="reader")


def test_identity_allow_and_default_deny() -> None:
    assert evaluate(request(), identity_policies=[IDENTITY_ALLOW]).decision is Decision.ALLOW
    assert evaluate(request()).decision is Decision.IMPLICIT_DENY


def test_explicit_deny_beats_every_allow() -> None:
    result = evaluate(
        request(),
        identity_policies=[IDENTITY_ALLOW, doc(PolicyKind.IDENTITY, deny(Sid="NoReads"), name="guard")],
        resource_policy=doc(PolicyKind.RESOURCE, allow(Principal="*")),
    )
    assert result.decision is Decision.EXPLICIT_DENY
    assert [e.statement for e in result.deciding_statements()] == ["'NoReads'"]
    assert result.summary() == (
        "Denied explicitly by identity policy 'guard' statement 'NoReads'; an explicit deny overrides every allow.")


@pytest.mark.parametrize(
    ("principal", "caller", "expected"),
    [
        ("*", USER, Decision.ALLOW),
        ({"AWS": "*"}, USER, Decision.ALLOW),
        ({"AWS": USER}, USER, Decision.ALLOW),
        ({"AWS": f"arn:aws:iam::{A}:user/Alice"}, USER, Decision.IMPLICIT_DENY),
        ({"AWS": ROLE}, SESSION, Decision.ALLOW),
        ({"AWS": SESSION}, SESSION, Decision.ALLOW),
        ({"AWS": f"arn:aws:sts::{A}:assumed-role/Writer/other"}, SESSION, Decision.IMPLICIT_DENY),
        ({"AWS": A}, USER, Decision.IMPLICIT_DENY),
        ({"AWS": f"arn:aws:iam::{A}:root"}, USER, Decision.IMPLICIT_DENY),
        ({"Service": "cloudtrail.amazonaws.com"}, "cloudtrail.amazonaws.com", Decision.ALLOW),
        ({"Service": "cloudtrail.amazonaws.com"}, USER, Decision.IMPLICIT_DENY),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
         "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", Decision.ALLOW),
        ({"Federated": "accounts.google.com"}, "accounts.google.com", Decision.ALLOW),
        ("*", "*", Decision.ALLOW),
    ],
)
def test_same_account_bucket_policy_principal_forms_without_identity_policies(
    principal: Any, caller: str, expected: Decision
) -> None:
    """Same account, no identity policy: only a grant to the caller itself (not its account) suffices."""
    policy = doc(PolicyKind.RESOURCE, allow(Principal=principal))
    account = A if caller.startswith("arn:") else None
    assert evaluate(request(caller, account), resource_policy=policy).decision is expected


def test_account_principal_delegates_to_identity_policies() -> None:
    policy = doc(PolicyKind.RESOURCE, allow(Principal={"AWS": A}))
    assert evaluate(request(), resource_policy=policy, identity_policies=[IDENTITY_ALLOW]).allowed()


def test_role_arn_grant_is_limited_by_boundary_but_session_arn_grant_is_not() -> None:
    boundary = doc(PolicyKind.BOUNDARY, allow("s3:ListBucket", BUCKET), name="limit")
    by_role = evaluate(request(SESSION), resource_policy=doc(PolicyKind.RESOURCE, allow(Principal={"AWS": ROLE})),
                       permission_boundary=boundary)
    by_session = evaluate(request(SESSION), permission_boundary=boundary,
                          resource_policy=doc(PolicyKind.RESOURCE, allow(Principal={"AWS": SESSION})))
    assert by_role.decision is Decision.IMPLICIT_DENY
    assert "names the role, not the session" in by_role.summary()
    assert by_session.decision is Decision.ALLOW


def test_session_policies_intersect_identity_permissions() -> None:
    session = doc(PolicyKind.SESSION, allow("s3:ListBucket", BUCKET), name="narrow")
    result = evaluate(request(SESSION), identity_policies=[IDENTITY_ALLOW], session_policies=[session])
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.summary().startswith("Denied implicitly: no session policy allows s3:GetObject")


def test_cross_account_needs_both_sides() -> None:
    bob = f"arn:aws:iam::{B}:user/bob"
    grant = doc(PolicyKind.RESOURCE, allow(Principal={"AWS": B}))
    assert evaluate(request(bob, B), identity_policies=[IDENTITY_ALLOW], resource_policy=grant).allowed()
    only_identity = evaluate(request(bob, B), identity_policies=[IDENTITY_ALLOW])
    assert only_identity.decision is Decision.IMPLICIT_DENY
    assert "cross-account request: no resource-based policy" in only_identity.summary()
    assert evaluate(request(bob, B), resource_policy=grant).decision is Decision.IMPLICIT_DENY


def test_scp_levels_each_need_an_allow() -> None:
    full = doc(PolicyKind.SCP, allow("*", "*"), name="FullAWSAccess")
    s3_only = doc(PolicyKind.SCP, allow("s3:*", "*"), name="S3Only")
    kms_only = doc(PolicyKind.SCP, allow("kms:*", "*"), name="KmsOnly")
    assert evaluate(request(), identity_policies=[IDENTITY_ALLOW], scps=[[full], [s3_only]]).allowed()
    blocked = evaluate(request(), identity_policies=[IDENTITY_ALLOW], scps=[[full], [kms_only]])
    assert blocked.decision is Decision.IMPLICIT_DENY
    assert blocked.summary() == f"Denied implicitly: no SCP at level 2 allows s3:GetObject on {OBJECT}."


def test_scps_do_not_restrict_service_principals_or_service_linked_roles() -> None:
    nothing = doc(PolicyKind.SCP, allow("kms:*", "*"), name="KmsOnly")
    logging = doc(PolicyKind.RESOURCE, allow(Principal={"Service": "logging.s3.amazonaws.com"}))
    service = evaluate(request("logging.s3.amazonaws.com", None), scps=[[nothing]], resource_policy=logging)
    assert service.allowed()
    assert any(e.outcome is Outcome.NOT_APPLICABLE for e in service.trace)
    linked = request(f"arn:aws:sts::{A}:assumed-role/AWSServiceRoleForX/s", **{
        "aws:PrincipalArn": f"arn:aws:iam::{A}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"})
    assert evaluate(linked, identity_policies=[IDENTITY_ALLOW], scps=[[nothing]]).allowed()


def test_root_user_has_full_access_in_its_account_but_not_past_scps_or_key_policies() -> None:
    root = f"arn:aws:iam::{A}:root"
    assert evaluate(request(root)).allowed()
    assert "root user" in evaluate(request(root)).summary()
    kms_only = doc(PolicyKind.SCP, allow("kms:*", "*"), name="KmsOnly")
    assert not evaluate(request(root), scps=[[kms_only]]).allowed()
    key = doc(PolicyKind.KEY, allow("kms:*", "*", Principal={"AWS": USER}))
    key_request = request(root, action="kms:Decrypt", resource=f"arn:aws:kms:eu-west-1:{A}:key/k")
    assert not evaluate(key_request, resource_policy=key).allowed()


def test_key_policy_must_allow_and_root_principal_enables_iam_policies() -> None:
    key_arn = f"arn:aws:kms:eu-west-1:{A}:key/k"
    decrypt = request(action="kms:Decrypt", resource=key_arn)
    iam_decrypt = doc(PolicyKind.IDENTITY, allow("kms:Decrypt", key_arn))
    enable_iam = doc(PolicyKind.KEY, allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{A}:root"}))
    other = doc(PolicyKind.KEY, allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{A}:user/admin"}))
    assert evaluate(decrypt, identity_policies=[iam_decrypt], resource_policy=enable_iam).allowed()
    assert not evaluate(decrypt, resource_policy=enable_iam).allowed()
    refused = evaluate(decrypt, identity_policies=[iam_decrypt], resource_policy=other)
    assert refused.decision is Decision.IMPLICIT_DENY
    assert "identity-based policies alone never suffice" in refused.summary()


def test_trust_policy_external_id_and_the_explanation() -> None:
    vendor = f"arn:aws:sts::{B}:assumed-role/ExportService/run"
    trust = doc(PolicyKind.TRUST, {
        "Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:role/ExportService"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "qualio-1"}},
    })
    may_assume = doc(PolicyKind.IDENTITY, allow("sts:AssumeRole", ROLE))
    good = request(vendor, B, "sts:AssumeRole", ROLE, A, **{"sts:ExternalId": "qualio-1"})
    wrong = request(vendor, B, "sts:AssumeRole", ROLE, A, **{"sts:ExternalId": "guess"})
    assert evaluate(good, identity_policies=[may_assume], resource_policy=trust).allowed()
    refused = evaluate(wrong, identity_policies=[may_assume], resource_policy=trust)
    assert refused.decision is Decision.IMPLICIT_DENY
    sentences = refused.sentences()
    assert any("condition is not met" in s and "sts:ExternalId is guess" in s for s in sentences)


def test_the_trace_is_json_and_names_the_context_values_seen() -> None:
    bucket = doc(PolicyKind.RESOURCE, deny("s3:*", f"{BUCKET}/*", Sid="DenyInsecure", Principal="*",
                                           Condition={"Bool": {"aws:SecureTransport": "false"}}))
    insecure: dict[str, Any] = {"aws:SecureTransport": False}
    result = evaluate(request(**insecure), identity_policies=[IDENTITY_ALLOW],
                      resource_policy=bucket)
    assert result.summary() == (
        "Denied explicitly by bucket policy statement 'DenyInsecure' (aws:SecureTransport is false); "
        "an explicit deny overrides every allow."
    )
    data = json.loads(json.dumps(result.to_json()))
    deny_entry = next(e for e in data["trace"] if e["outcome"] == "deny")
    assert deny_entry["conditions"] == [{"operator": "Bool", "key": "aws:SecureTransport", "values": ["false"],
                                         "seen": "false", "result": True}]
    assert data["sentences"][0] == result.summary()


def test_resource_variables_need_version_2012_10_17() -> None:
    statement = allow("s3:GetObject", f"{BUCKET}/home/${{aws:username}}/*")
    new = parse_policy({"Version": "2012-10-17", "Statement": [statement]}, kind=PolicyKind.IDENTITY, name="n")
    old = parse_policy({"Statement": [statement]}, kind=PolicyKind.IDENTITY, name="o")
    mine = request(resource=f"{BUCKET}/home/alice/f", **{"aws:username": "alice"})
    literal = request(resource=f"{BUCKET}/home/${{aws:username}}/f", **{"aws:username": "alice"})
    assert evaluate(mine, identity_policies=[new]).allowed()
    assert not evaluate(mine, identity_policies=[old]).allowed()
    assert evaluate(literal, identity_policies=[old]).allowed()
    assert not evaluate(request(resource=f"{BUCKET}/home/alice/f"), identity_policies=[new]).allowed()


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("arn:aws:s3:::audit/*", "arn:aws:s3:::audit/a/b:c", True),
        ("arn:aws:s3:::audit/*", "arn:aws:s3:::Audit/a", False),
        ("arn:aws:s3:::audit?", "arn:aws:s3:::audit1", True),
        ("arn:aws:iam::*:user/*", f"arn:aws:iam::{A}:user/x", True),
        ("arn:aws:*:us-east-1:*:*", "arn:aws:sqs:eu-west-1:1:q", False),
        ("*", "anything", True),
    ],
)
def test_resource_wildcards_are_case_sensitive_and_segment_aware(pattern: str, resource: str, expected: bool) -> None:
    policy = doc(PolicyKind.IDENTITY, allow("*", pattern))
    assert evaluate(request(resource=resource), identity_policies=[policy]).allowed() is expected


def test_not_action_and_not_resource() -> None:
    policy = doc(PolicyKind.IDENTITY, {"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/secret"})
    assert evaluate(request(action="S3:getObject"), identity_policies=[policy]).allowed()
    assert not evaluate(request(action="iam:CreateUser"), identity_policies=[policy]).allowed()
    assert not evaluate(request(resource=f"{BUCKET}/secret"), identity_policies=[policy]).allowed()


def test_cross_account_identity_gap_is_explained_plainly() -> None:
    bob = f"arn:aws:iam::{B}:user/bob"
    grant = doc(PolicyKind.RESOURCE, {**allow(Principal={"AWS": B}), "Sid": "PartnerRead"})
    gap = evaluate(request(bob, B), resource_policy=grant)
    assert gap.decision is Decision.IMPLICIT_DENY
    summary = gap.summary()
    assert "cross-account request: the bucket policy statement 'PartnerRead'" in summary
    assert f"the caller's account {B} must also allow this in an identity-based policy, and none does" in summary
    both = evaluate(request(bob, B), identity_policies=[IDENTITY_ALLOW], resource_policy=grant)
    assert both.summary() == ("Allowed by identity policy 'reader' statement #1 and bucket policy statement "
                              "'PartnerRead': a cross-account request needs both accounts to allow it.")


def test_implicit_deny_names_the_closest_statement_and_the_value_seen() -> None:
    tls_only = doc(PolicyKind.IDENTITY, allow(Condition={"Bool": {"aws:SecureTransport": "true"}}), name="tls")
    result = evaluate(request(**{"aws:SecureTransport": "false"}), identity_policies=[tls_only])
    assert result.summary() == (
        f"Denied implicitly: no identity-based policy allows s3:GetObject on {OBJECT}. Closest: the identity "
        "policy 'tls' statement #1 would allow it, but it requires Bool aws:SecureTransport true but "
        "aws:SecureTransport is false.")


def test_role_arn_caller_is_limited_like_a_role_grant() -> None:
    by_role = doc(PolicyKind.RESOURCE, allow(Principal={"AWS": ROLE}))
    limit = doc(PolicyKind.BOUNDARY, allow("ec2:*", "*"))
    assert evaluate(request(ROLE), resource_policy=by_role).allowed()
    assert evaluate(request(ROLE), resource_policy=by_role, permission_boundary=limit).decision is (
        Decision.IMPLICIT_DENY)


def test_trust_and_key_policies_are_required_even_when_absent() -> None:
    anything = doc(PolicyKind.IDENTITY, allow("*", "*"))
    assume = evaluate(request(action="sts:AssumeRole", resource=ROLE), identity_policies=[anything])
    assert assume.decision is Decision.IMPLICIT_DENY
    assert "no role trust policy was given" in assume.summary()
    key = f"arn:aws:kms:eu-west-1:{A}:key/k"
    assert evaluate(request(action="kms:Decrypt", resource=key), identity_policies=[anything]).decision is (
        Decision.IMPLICIT_DENY)
    assert evaluate(request(action="kms:ListKeys", resource="*"), identity_policies=[anything]).allowed()


def test_federated_user_matches_a_grant_to_its_iam_user_within_its_session_policy() -> None:
    federated = f"arn:aws:sts::{A}:federated-user/alice"
    by_user = doc(PolicyKind.RESOURCE, allow(Principal={"AWS": USER}))
    reads = doc(PolicyKind.SESSION, allow())
    other = doc(PolicyKind.SESSION, allow("ec2:*", "*"))
    assert evaluate(request(federated), resource_policy=by_user, session_policies=[reads]).allowed()
    assert evaluate(request(federated), resource_policy=by_user, session_policies=[other]).decision is (
        Decision.IMPLICIT_DENY)


def test_anonymous_caller_is_described_in_words() -> None:
    result = evaluate(request("anonymous", None))
    assert "the caller is anonymous (unauthenticated)" in result.summary()
