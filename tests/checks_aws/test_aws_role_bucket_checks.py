"""Role, bucket and whole-chain checks: PASS on the reference, FAIL naming the cause for each mutation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from compliance.checks import test_aws_bucket as bucket_checks
from compliance.checks import test_aws_chain as chain_checks
from compliance.checks import test_aws_role as role_checks
from compliance.model import Status
from compliance.targets.snapshot import NamedPolicy, ObjectLock, Read, ScpLevel

from .chain_helpers import (
    BUCKET,
    ROLE,
    reference_bucket_statements,
    run_check,
    unreadable,
    view,
    with_bucket,
    with_bucket_policy,
    with_inline,
    with_key_policy,
    with_role,
)

ROLE_CHECKS = (role_checks.test_aws_role_allows_put_under_prefix,
               role_checks.test_aws_role_and_key_policy_allow_kms_for_bucket_key,
               role_checks.test_aws_role_has_least_privilege,
               role_checks.test_aws_role_grants_no_object_acl_writes_with_acls_disabled)
BUCKET_CHECKS = tuple(getattr(bucket_checks, name) for name in dir(bucket_checks) if name.startswith("test_aws_"))
CHAIN = chain_checks.test_aws_chain_allows_vendor_export


def key_arn(snapshot: Any) -> str:
    arn: str = snapshot.bucket.value.kms_key.value.arn
    return arn


def kms_statement(snapshot: Any) -> dict[str, Any]:
    return {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn(snapshot)}


@pytest.mark.parametrize("check", (*ROLE_CHECKS, *BUCKET_CHECKS, CHAIN), ids=lambda c: c.__name__)
def test_reference_passes(check: Any, ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(check, view(ref_chain, reference_snapshot))
    assert finding.status is Status.PASS, finding.message


def test_walkthrough_role_policy_fails_acl_and_least_privilege(ref_chain: Any, reference_snapshot: Any) -> None:
    """The walkthrough grants s3:PutObject and s3:PutObjectAcl on the whole bucket."""
    snapshot = with_inline(reference_snapshot, {"Walkthrough": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        kms_statement(reference_snapshot)]})
    acl = run_check(role_checks.test_aws_role_grants_no_object_acl_writes_with_acls_disabled, view(ref_chain, snapshot))
    assert acl.status is Status.FAIL
    assert "s3:PutObjectAcl" in acl.message and "AccessControlListNotSupported" in acl.message
    least = run_check(role_checks.test_aws_role_has_least_privilege, view(ref_chain, snapshot))
    assert least.status is Status.FAIL
    assert "s3:PutObjectAcl (Walkthrough statement #1)" in least.message
    assert f"s3:PutObject on arn:aws:s3:::{BUCKET}/*" in least.message
    assert run_check(CHAIN, view(ref_chain, snapshot)).status is Status.PASS


@pytest.mark.parametrize(("statements", "expected"), [
    ([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], "s3:* (Broad statement #1)"),
    ([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], "every action except iam:*"),
    ([{"Effect": "Allow", "Action": ["s3:DeleteObject", "sts:AssumeRole"], "Resource": "*"}], "s3:DeleteObject"),
], ids=["s3-star", "not-action", "delete-and-assume"])
def test_excess_grants_fail_least_privilege(ref_chain: Any, reference_snapshot: Any, statements: Any,
                                            expected: str) -> None:
    current = reference_snapshot.role.value.inline_policies.value[0].document["Statement"]
    snapshot = with_inline(reference_snapshot, {"WriteAuditExports": current, "Broad": statements})
    finding = run_check(role_checks.test_aws_role_has_least_privilege, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and expected in finding.message


def test_missing_put_grant_fails_put_and_chain_though_assume_works(ref_chain: Any, reference_snapshot: Any) -> None:
    """'Verify Configuration passes, so role assumption works' does not prove the write path."""
    snapshot = with_inline(reference_snapshot, {"OnlyKms": [kms_statement(reference_snapshot)]})
    put = run_check(role_checks.test_aws_role_allows_put_under_prefix, view(ref_chain, snapshot))
    assert put.status is Status.FAIL and "no identity-based policy allows s3:putobject" in put.message.lower()
    chain = run_check(CHAIN, view(ref_chain, snapshot))
    assert chain.status is Status.FAIL
    assert "step 3" in chain.message and "Verify Configuration" in chain.message


def test_boundary_without_put_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    boundary = NamedPolicy("ExportBoundary", "arn:aws:iam::111122223333:policy/ExportBoundary", {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    snapshot = with_role(reference_snapshot, permissions_boundary_arn=boundary.arn,
                         permissions_boundary=Read("iam:GetPolicy", boundary))
    finding = run_check(role_checks.test_aws_role_allows_put_under_prefix, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "permissions boundary 'ExportBoundary'" in finding.message


def scp_levels(snapshot: Any, extra: list[dict[str, Any]]) -> Any:
    levels = list(snapshot.scps.value)
    last = levels[-1]
    levels[-1] = ScpLevel(last.target_id, last.target_type, last.name, (*last.policies, NamedPolicy(
        "FreezeWrites", None, {"Version": "2012-10-17", "Statement": extra})))
    return replace(snapshot, scps=Read(snapshot.scps.api, tuple(levels)))


def test_scp_deny_fails_put_and_chain(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = scp_levels(reference_snapshot, [{"Sid": "NoWrites", "Effect": "Deny", "Action": "s3:PutObject",
                                                "Resource": "*"}])
    finding = run_check(role_checks.test_aws_role_allows_put_under_prefix, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "SCP 'FreezeWrites'" in finding.message and "'NoWrites'" in finding.message
    assert run_check(CHAIN, view(ref_chain, snapshot)).status is Status.FAIL


def test_unreadable_scps_error_positive_checks_only(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = replace(reference_snapshot, scps=unreadable("organizations:ListPoliciesForTarget"))
    for check in (role_checks.test_aws_role_allows_put_under_prefix, CHAIN,
                  role_checks.test_aws_role_and_key_policy_allow_kms_for_bucket_key):
        finding = run_check(check, view(ref_chain, snapshot))
        assert finding.status is Status.ERROR, check.__name__
        assert "an SCP could deny" in finding.message
    negative = run_check(role_checks.test_aws_role_has_least_privilege, view(ref_chain, snapshot))
    assert negative.status is Status.PASS


def test_key_policy_without_the_role_fails_kms(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_key_policy(reference_snapshot, [
        {"Sid": "AdminsOnly", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"},
         "Action": "kms:*", "Resource": "*"}])
    finding = run_check(role_checks.test_aws_role_and_key_policy_allow_kms_for_bucket_key, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert "kms:GenerateDataKey" in finding.message and "key policy" in finding.message
    assert "step 4" in run_check(CHAIN, view(ref_chain, snapshot)).message


def test_bucket_policy_deny_catching_the_role_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    """The walkthrough's 'common gotcha': a Deny in the bucket policy that catches the role."""
    snapshot = with_bucket_policy(reference_snapshot, [*reference_bucket_statements(), {
        "Sid": "OnlyAdminsWrite", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}])
    finding = run_check(bucket_checks.test_aws_bucket_policy_denies_no_intended_write, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "'OnlyAdminsWrite'" in finding.message
    chain = run_check(CHAIN, view(ref_chain, snapshot))
    assert chain.status is Status.FAIL and "'OnlyAdminsWrite'" in chain.message


def test_bucket_policy_requiring_unsent_header_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_bucket_policy(reference_snapshot, [*reference_bucket_statements(), {
        "Sid": "RequireAes", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}])
    finding = run_check(bucket_checks.test_aws_bucket_policy_denies_no_intended_write, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "s3:x-amz-server-side-encryption" in finding.message


@pytest.mark.parametrize("statements", [None, [{"Sid": "Nothing", "Effect": "Deny", "Principal": "*",
                                                 "Action": "s3:DeleteBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}]],
                         ids=["no-policy", "no-tls-statement"])
def test_missing_secure_transport_deny_fails(ref_chain: Any, reference_snapshot: Any, statements: Any) -> None:
    snapshot = with_bucket_policy(reference_snapshot, statements)
    finding = run_check(bucket_checks.test_aws_bucket_policy_denies_insecure_transport, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "aws:SecureTransport=false" in finding.message


@pytest.mark.parametrize(("lock", "expected"), [
    (ObjectLock(True, "GOVERNANCE", 2555, None), "GOVERNANCE mode"),
    (ObjectLock(True, "COMPLIANCE", 30, None), "30 days, shorter than the required 2555"),
    (ObjectLock(True, None, None, None), "no default retention"),
    (None, "Object Lock is not enabled"),
], ids=["governance", "short", "no-default", "off"])
def test_object_lock_failures(ref_chain: Any, reference_snapshot: Any, lock: Any, expected: str) -> None:
    snapshot = with_bucket(reference_snapshot, object_lock=Read("s3:GetObjectLockConfiguration", lock))
    finding = run_check(bucket_checks.test_aws_bucket_object_lock_compliance_retention, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and expected in finding.message


def test_unreadable_bucket_inputs_are_errors(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_bucket(reference_snapshot, policy=unreadable("s3:GetBucketPolicy"),
                           logging=unreadable("s3:GetBucketLogging"))
    for check in (bucket_checks.test_aws_bucket_policy_denies_insecure_transport,
                  bucket_checks.test_aws_bucket_policy_denies_no_intended_write,
                  bucket_checks.test_aws_bucket_access_logging_enabled, CHAIN):
        finding = run_check(check, view(ref_chain, snapshot))
        assert finding.status is Status.ERROR, check.__name__
    gone = replace(reference_snapshot, bucket=unreadable("s3:GetBucketLocation"))
    for check in BUCKET_CHECKS:
        if check is bucket_checks.test_aws_account_public_access_blocked:
            continue
        assert run_check(check, view(ref_chain, gone)).status is Status.ERROR, check.__name__


def test_role_arn_is_the_resource(ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(CHAIN, view(ref_chain, reference_snapshot))
    assert finding.resource == ROLE
    trace = next(e for e in finding.evidence if e.kind.value == "chain_trace")
    assert len(trace.data["lines"]) == 5 and trace.data["lines"][0].startswith("1. the vendor")
