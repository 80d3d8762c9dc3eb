"""The bucket key: state and grants read from moto, `aws_kms_key_usable`, and grants as key-policy statements.

Broken chains (provisioned into moto) the check must FAIL: a Disabled key, a key PendingDeletion (with its
deletion date named). Secure look-alikes it must PASS: the reference key, a key with grants, a key whose state is
declared Enabled. The remaining states (PendingImport, Unavailable, ... which moto cannot produce) are snapshot
mutations.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from compliance.chain.grants import grant_statements
from compliance.chain.proposed import Proposal, ProposalTarget
from compliance.chain.requests import allow_all_policy, kms_request, principal_caller, session_caller
from compliance.checks.test_aws_kms import test_aws_kms_key_usable as key_usable
from compliance.errors import ConfigError, ReadError
from compliance.iam import Decision, Request, evaluate
from compliance.model import Status
from compliance.targets.snapshot import Encryption, KmsGrant, KmsKey, Read

from .chain_helpers import (
    ROLE,
    customer,
    deployment_from,
    provision,
    run_check,
    unreadable,
    view,
    with_bucket,
)

FOREIGN_ROLE = "arn:aws:iam::444455556666:role/Reader"
BUCKET_ARN = "arn:aws:s3:::company-audit-reports"


def key_of(snapshot: Any) -> KmsKey:
    key: KmsKey = snapshot.bucket.value.kms_key.value
    return key


def with_key(snapshot: Any, **changes: Any) -> Any:
    return with_bucket(snapshot, kms_key=Read("kms:GetKeyPolicy", replace(key_of(snapshot), **changes)))


def grant(grant_id: str = "g-1", grantee: str = FOREIGN_ROLE, operations: tuple[str, ...] = ("Decrypt",), *,
          equals: dict[str, str] | None = None, subset: dict[str, str] | None = None,
          retiring: str | None = None) -> KmsGrant:
    return KmsGrant(grant_id, "", grantee, retiring, operations, equals or {}, subset or {}, None)


# -- reading ---------------------------------------------------------------------------------------------------

def test_reference_key_state_and_grants_are_read(reference_snapshot: Any) -> None:
    key = key_of(reference_snapshot)
    assert (key.key_state, key.enabled, key.deletion_date, key.key_manager, key.key_spec) == (
        "Enabled", True, None, "CUSTOMER", "SYMMETRIC_DEFAULT")
    assert key.grants.api == "kms:ListGrants" and key.grants.value == ()
    assert any(c.operation == "ListGrants" for c in reference_snapshot.api_calls)


def kms_deployment(reference_deployment: Any, **key_changes: Any) -> Any:
    data = copy.deepcopy(reference_deployment)
    customer(data)["kms_keys"][0].update(key_changes)
    return deployment_from(data)


def test_provisioned_grants_are_read_with_their_constraints(ref_chain: Any, reference_deployment: Any) -> None:
    deployment = kms_deployment(reference_deployment, grants=[
        {"name": "reader", "grantee": FOREIGN_ROLE, "operations": ["Decrypt", "DescribeKey"],
         "retiring_principal": "arn:aws:iam::111122223333:root",
         "constraints": {"EncryptionContextSubset": {"aws:s3:arn": BUCKET_ARN}}},
        {"grantee": ROLE, "operations": ["GenerateDataKey"]}])
    snapshot = provision(deployment, ref_chain)
    grants = key_of(snapshot).grants.value
    assert grants is not None and len(grants) == 2
    reader = next(g for g in grants if g.grantee_principal == FOREIGN_ROLE)
    assert reader.operations == ("Decrypt", "DescribeKey") and reader.name == "reader"
    assert reader.encryption_context_subset == {"aws:s3:arn": BUCKET_ARN} and reader.encryption_context_equals == {}
    assert reader.retiring_principal == "arn:aws:iam::111122223333:root"
    assert run_check(key_usable, view(ref_chain, snapshot)).status is Status.PASS  # secure look-alike


# -- aws_kms_key_usable: provisioned broken chains and look-alikes ------------------------------------------------

def test_reference_key_is_usable(ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(key_usable, view(ref_chain, reference_snapshot))
    assert finding.status is Status.PASS and "Enabled" in finding.message


def test_provisioned_disabled_key_fails(ref_chain: Any, reference_deployment: Any) -> None:
    snapshot = provision(kms_deployment(reference_deployment, state="Disabled"), ref_chain)
    assert (key_of(snapshot).key_state, key_of(snapshot).enabled) == ("Disabled", False)
    finding = run_check(key_usable, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert "is Disabled" in finding.message and "every SSE-KMS write" in finding.message
    assert "cannot be decrypted" in finding.message


def test_provisioned_key_pending_deletion_fails_naming_the_date(ref_chain: Any, reference_deployment: Any) -> None:
    snapshot = provision(kms_deployment(reference_deployment, state="PendingDeletion", deletion_window_days=7),
                         ref_chain)
    key = key_of(snapshot)
    assert key.key_state == "PendingDeletion" and key.deletion_date
    finding = run_check(key_usable, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert "is PendingDeletion, scheduled for deletion on " + key.deletion_date in finding.message
    assert "unrecoverable" in finding.message


def test_provisioned_key_declared_enabled_passes(ref_chain: Any, reference_deployment: Any) -> None:
    snapshot = provision(kms_deployment(reference_deployment, state="Enabled"), ref_chain)
    assert run_check(key_usable, view(ref_chain, snapshot)).status is Status.PASS


# -- aws_kms_key_usable: every state, by snapshot mutation ------------------------------------------------------

@pytest.mark.parametrize(("state", "why"), [
    ("Disabled", "cannot be used in any cryptographic operation"),
    ("PendingDeletion", "unrecoverable"),
    ("PendingImport", "imported key material"),
    ("Unavailable", "custom key store is disconnected"),
    ("PendingReplicaDeletion", "replicas"),
    ("Creating", "still being created"),
])
def test_unusable_key_states_fail(ref_chain: Any, reference_snapshot: Any, state: str, why: str) -> None:
    finding = run_check(key_usable, view(ref_chain, with_key(reference_snapshot, key_state=state, enabled=False)))
    assert finding.status is Status.FAIL and f"is {state}" in finding.message and why in finding.message


def test_updating_multi_region_key_passes(ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(key_usable, view(ref_chain, with_key(reference_snapshot, key_state="Updating")))
    assert finding.status is Status.PASS and "Updating" in finding.message


@pytest.mark.parametrize(("changes", "expected"), [
    ({"key_state": None}, "returned no KeyState"),
    ({"key_state": "Frozen"}, "'Frozen', which this suite does not know"),
])
def test_unknown_or_missing_state_is_an_error(ref_chain: Any, reference_snapshot: Any, changes: Any,
                                             expected: str) -> None:
    finding = run_check(key_usable, view(ref_chain, with_key(reference_snapshot, **changes)))
    assert finding.status is Status.ERROR and expected in finding.message


def test_asymmetric_key_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(key_usable, view(ref_chain, with_key(reference_snapshot, key_spec="RSA_2048")))
    assert finding.status is Status.FAIL and "RSA_2048" in finding.message and "symmetric" in finding.message


def test_unreadable_key_is_an_error(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_bucket(reference_snapshot, kms_key=unreadable("kms:DescribeKey"))
    finding = run_check(key_usable, view(ref_chain, snapshot))
    assert finding.status is Status.ERROR and "kms:DescribeKey" in finding.message and "AccessDenied" in finding.message


@pytest.mark.parametrize(("encryption", "kms_key", "expected"), [
    (Encryption("AES256", None, False), Read("kms:GetKeyPolicy", None, absent_code="NoKmsKeyConfigured"),
     "does not use SSE-KMS (AES256)"),
    (Encryption("aws:kms", None, False), Read("kms:GetKeyPolicy", None, absent_code="AwsManagedKey"),
     "AWS managed key aws/s3"),
], ids=["sse-s3", "aws-managed-default"])
def test_no_customer_managed_key_is_not_applicable(ref_chain: Any, reference_snapshot: Any, encryption: Any,
                                                   kms_key: Any, expected: str) -> None:
    snapshot = with_bucket(reference_snapshot, encryption=Read("s3:GetBucketEncryption", encryption),
                           kms_key=kms_key)
    finding = run_check(key_usable, view(ref_chain, snapshot))
    assert finding.status is Status.NOT_APPLICABLE and expected in finding.message


def test_aws_managed_key_named_by_arn_is_not_applicable(ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(key_usable, view(ref_chain, with_key(reference_snapshot, key_manager="AWS",
                                                             key_state="Disabled")))
    assert finding.status is Status.NOT_APPLICABLE


# -- deployment validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "where"), [
    ({"state": "Deleted"}, "kms_keys[0].state"),
    ({"deletion_window_days": 3}, "kms_keys[0].deletion_window_days"),
    ({"grants": [{"operations": ["Decrypt"]}]}, "kms_keys[0].grants[0].grantee"),
    ({"grants": [{"grantee": ROLE, "operations": []}]}, "kms_keys[0].grants[0].operations"),
    ({"grants": [{"grantee": ROLE, "operations": ["Decrypt"], "constraints": {"Equals": {}}}]},
     "kms_keys[0].grants[0].constraints.Equals"),
    ({"colour": "red"}, "kms_keys[0].colour"),
], ids=["state", "window", "grantee", "operations", "constraint", "unknown-key"])
def test_bad_kms_key_declarations_are_one_line_errors(reference_deployment: Any, changes: Any, where: str) -> None:
    with pytest.raises(ConfigError) as raised:
        kms_deployment(reference_deployment, **changes)
    assert where in str(raised.value) and "\n" not in str(raised.value)


# -- grants as key-policy statements ----------------------------------------------------------------------------

def test_grant_statements_follow_the_documented_mapping() -> None:
    statements = grant_statements(grant("abc", operations=("Decrypt", "GenerateDataKey", "DescribeKey"),
                                        subset={"aws:s3:arn": BUCKET_ARN}, retiring="arn:aws:iam::111122223333:root"))
    assert statements == [
        {"Sid": "Grant abc", "Effect": "Allow", "Principal": {"AWS": FOREIGN_ROLE},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": BUCKET_ARN}}},
        {"Sid": "Grant abc (no encryption context)", "Effect": "Allow", "Principal": {"AWS": FOREIGN_ROLE},
         "Action": ["kms:DescribeKey"], "Resource": "*"},
        {"Sid": "Grant abc (retiring principal)", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:RetireGrant", "Resource": "*"},
    ]
    equals = grant_statements(grant("eq", equals={"Department": "QA", "aws:s3:arn": BUCKET_ARN}))[0]
    assert equals["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:Department": "QA", "kms:EncryptionContext:aws:s3:arn": BUCKET_ARN},
        "ForAllValues:StringEqualsIgnoreCase": {"kms:EncryptionContextKeys": ["Department", "aws:s3:arn"]}}
    unconstrained = grant_statements(grant("free", grantee="dynamodb.amazonaws.com"))
    assert unconstrained == [{"Sid": "Grant free", "Effect": "Allow",
                              "Principal": {"Service": "dynamodb.amazonaws.com"}, "Action": ["kms:Decrypt"],
                              "Resource": "*"}]


def test_key_policy_with_grants_appends_one_statement_per_grant(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_key(reference_snapshot, grants=Read("kms:ListGrants", (grant("g-1"), grant("g-2"))))
    chain_view = view(ref_chain, snapshot)
    sourced = chain_view.key_policy_with_grants()
    assert sourced is not None and sourced.origin == "kms:GetKeyPolicy + kms:ListGrants"
    assert [s.get("Sid") for s in sourced.raw["Statement"]] == [
        "EnableIamPolicies", "AllowExportRoleToEncrypt", "Grant g-1", "Grant g-2"]
    assert chain_view.key_grants() == (grant("g-1"), grant("g-2"))
    assert key_of(snapshot).policy["Statement"][-1]["Sid"] == "AllowExportRoleToEncrypt"  # the read is untouched


def test_key_policy_with_no_grants_is_the_key_policy(ref_chain: Any, reference_snapshot: Any) -> None:
    chain_view = view(ref_chain, reference_snapshot)
    assert chain_view.key_policy_with_grants() is chain_view.key_policy()


def test_unreadable_grants_raise(ref_chain: Any, reference_snapshot: Any) -> None:
    chain_view = view(ref_chain, with_key(reference_snapshot, grants=unreadable("kms:ListGrants")))
    with pytest.raises(ReadError) as raised:
        chain_view.key_policy_with_grants()
    assert (raised.value.api, raised.value.code) == ("kms:ListGrants", "AccessDenied")
    assert chain_view.key_policy() is not None  # the policy alone stays readable


def test_grants_not_read_raise_not_read(ref_chain: Any, reference_snapshot: Any) -> None:
    key = key_of(reference_snapshot)
    bare = KmsKey(key.key_id, key.arn, key.policy)
    chain_view = view(ref_chain, with_bucket(reference_snapshot, kms_key=Read("kms:GetKeyPolicy", bare)))
    with pytest.raises(ReadError) as raised:
        chain_view.key_grants()
    assert raised.value.code == "NotRead"


def test_grants_are_appended_to_a_proposed_key_policy(ref_chain: Any, reference_snapshot: Any) -> None:
    proposed = {"Version": "2012-10-17", "Statement": [
        {"Sid": "OnlyRoot", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*",
         "Resource": "*"}]}
    proposal = Proposal(ProposalTarget.KEY, None, proposed, "key.json")
    snapshot = with_key(reference_snapshot, grants=Read("kms:ListGrants", (grant("g-9"),)))
    sourced = view(ref_chain, snapshot, (proposal,)).key_policy_with_grants()
    assert sourced is not None and [s["Sid"] for s in sourced.raw["Statement"]] == ["OnlyRoot", "Grant g-9"]
    assert sourced.origin.startswith("proposed")


def decrypt(caller_arn: str, key_arn: str, context: dict[str, Any]) -> Request:
    caller = principal_caller(caller_arn, "caller")
    return Request(caller.arn, caller.account, "kms:Decrypt", key_arn, "111122223333",
                   {**caller.context, **context})


@pytest.mark.parametrize(("grant_kwargs", "context", "decision"), [
    ({}, {}, Decision.ALLOW),
    ({"subset": {"aws:s3:arn": BUCKET_ARN}},
     {"kms:EncryptionContext:aws:s3:arn": BUCKET_ARN, "kms:EncryptionContextKeys": ("aws:s3:arn",)}, Decision.ALLOW),
    ({"subset": {"aws:s3:arn": BUCKET_ARN}},
     {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::other", "kms:EncryptionContextKeys": ("aws:s3:arn",)},
     Decision.IMPLICIT_DENY),
    ({"subset": {"aws:s3:arn": BUCKET_ARN}}, {}, Decision.IMPLICIT_DENY),
    ({"equals": {"aws:s3:arn": BUCKET_ARN}},
     {"kms:EncryptionContext:aws:s3:arn": BUCKET_ARN, "kms:EncryptionContext:extra": "x",
      "kms:EncryptionContextKeys": ("aws:s3:arn", "extra")}, Decision.IMPLICIT_DENY),
    ({"equals": {"aws:s3:arn": BUCKET_ARN}},
     {"kms:EncryptionContext:aws:s3:arn": BUCKET_ARN, "kms:EncryptionContextKeys": ("aws:s3:arn",)}, Decision.ALLOW),
    ({"subset": {"aws:s3:arn": BUCKET_ARN}},
     {"kms:EncryptionContext:aws:s3:arn": BUCKET_ARN, "kms:EncryptionContext:extra": "x",
      "kms:EncryptionContextKeys": ("aws:s3:arn", "extra")}, Decision.ALLOW),
], ids=["unconstrained", "subset-match", "subset-other-value", "subset-no-context", "equals-extra-key",
        "equals-exact", "subset-extra-key"])
def test_engine_judges_grants_like_policy_statements(ref_chain: Any, reference_snapshot: Any, grant_kwargs: Any,
                                                     context: Any, decision: Decision) -> None:
    """A foreign role with an allow-everything identity policy, against the key policy with its grant."""
    snapshot = with_key(reference_snapshot, grants=Read("kms:ListGrants", (grant("g", **grant_kwargs),)))
    sourced = view(ref_chain, snapshot).key_policy_with_grants()
    assert sourced is not None
    key_arn = key_of(snapshot).arn
    evaluation = evaluate(decrypt(FOREIGN_ROLE, key_arn, context), identity_policies=(allow_all_policy(),),
                          resource_policy=sourced.document)
    assert evaluation.decision is decision
    without = evaluate(decrypt(FOREIGN_ROLE, key_arn, context), identity_policies=(allow_all_policy(),),
                       resource_policy=view(ref_chain, snapshot).key_policy().document)  # type: ignore[union-attr]
    assert without.decision is Decision.IMPLICIT_DENY  # the key policy alone never lets the outsider in


def test_grant_to_the_role_admits_the_intended_data_key_request(ref_chain: Any, reference_snapshot: Any) -> None:
    """The key policy names only the account; a grant gives the role GenerateDataKey with the bucket's context."""
    root_only = {"Version": "2012-10-17", "Statement": [
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*",
         "Resource": "*"}]}
    role_grant = grant("r", grantee=ROLE, operations=("GenerateDataKey", "Decrypt"),
                       subset={"aws:s3:arn": BUCKET_ARN})
    snapshot = with_key(reference_snapshot, policy=root_only, grants=Read("kms:ListGrants", (role_grant,)))
    chain_view = view(ref_chain, snapshot)
    session = session_caller(ref_chain, chain_view.role())
    request = kms_request(ref_chain, session, "kms:GenerateDataKey", key_of(snapshot).arn,
                          "qualio/report.pdf", bucket_key=True)
    with_grant = chain_view.key_policy_with_grants()
    policy_only = chain_view.key_policy()
    assert with_grant is not None and policy_only is not None
    assert evaluate(request, resource_policy=with_grant.document).allowed()
    assert not evaluate(request, resource_policy=policy_only.document).allowed()
