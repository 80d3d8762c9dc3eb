"""What the vendor's requests carry (issue 10, item 7): every chain is provisioned into moto and judged with the
headers and upload kinds declared in [vendor], never assumed ones.

For each key a chain that breaks because of it (FAIL) and a secure look-alike (PASS). Sources for the AWS
behaviour are in compliance/chain/vendor_write.py: a bucket-policy Deny sees only the headers sent; an aws:kms
header without a key id means the AWS managed key aws/s3; single-part PutObject needs kms:GenerateDataKey,
multipart also kms:Decrypt; with an S3 Bucket Key the encryption context is the bucket ARN, and DSSE-KMS never uses
a Bucket Key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from compliance.chain.view import ChainView
from compliance.checks import test_aws_bucket, test_aws_chain, test_aws_role
from compliance.config import CannedAcl, Chain, SseHeader, UploadKind
from compliance.model import EvidenceKind, Finding, Status

from .chain_helpers import (
    BUCKET,
    ROLE,
    audit_bucket,
    customer,
    deployment_from,
    export_role,
    provision,
    reference_bucket_statements,
    run_check,
    view,
    with_vendor,
)

BUCKET_DENY = test_aws_bucket.test_aws_bucket_policy_denies_no_intended_write
CHAIN = test_aws_chain.test_aws_chain_allows_vendor_export
KMS = test_aws_role.test_aws_role_and_key_policy_allow_kms_for_bucket_key
ROLE_PUT = test_aws_role.test_aws_role_allows_put_under_prefix
OBJECTS = f"arn:aws:s3:::{BUCKET}/*"

Mutation = Callable[[dict[str, Any]], None]


def deployed(reference_deployment: dict[str, Any], chain: Chain, *mutations: Mutation) -> ChainView:
    """Provision the reference deployment with `mutations` applied into moto and read it back."""
    data = copy.deepcopy(reference_deployment)
    for mutate in mutations:
        mutate(data)
    return view(chain, provision(deployment_from(data), chain))


def bucket_denies(*statements: dict[str, Any]) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        audit_bucket(data)["policy"] = {"Version": "2012-10-17",
                                        "Statement": [*reference_bucket_statements(), *statements]}
    return mutate


KEY_ADMINISTRATION = {"Sid": "KeyAdministration", "Effect": "Allow",
                      "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"},
                      "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Enable*",
                                 "kms:Disable*", "kms:TagResource", "kms:UntagResource"], "Resource": "*"}


def key_policy(*statements: dict[str, Any]) -> Mutation:
    """A key policy that does not delegate to IAM (no account-root kms:*): it alone decides the role's key use."""
    def mutate(data: dict[str, Any]) -> None:
        customer(data)["kms_keys"][0]["policy"] = {"Version": "2012-10-17",
                                                   "Statement": [KEY_ADMINISTRATION, *statements]}
    return mutate


def bucket_key(enabled: bool) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        audit_bucket(data)["encryption"]["bucket_key"] = enabled
    return mutate


def role_put_condition(condition: dict[str, Any]) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        statements = export_role(data)["inline_policies"]["WriteAuditExports"]["Statement"]
        statements[0]["Condition"] = condition
    return mutate


def deny_put(sid: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS,
            "Condition": condition}


def export_role_may(actions: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "AllowExportRoleToEncrypt", "Effect": "Allow",
                                 "Principal": {"AWS": ROLE}, "Action": actions, "Resource": "*"}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def declared_evidence(finding: Finding) -> dict[str, Any]:
    """The evidence note that lists the declared [vendor] headers (every header-dependent finding has one)."""
    notes = [e.data for e in finding.evidence
             if e.kind is EvidenceKind.NOTE and e.label.startswith("What the vendor is declared to send")]
    assert notes, [e.label for e in finding.evidence]
    data: dict[str, Any] = notes[0]
    return data


def assert_status(finding: Finding, status: Status, *fragments: str) -> None:
    assert finding.status is status, finding.message
    for fragment in fragments:
        assert fragment in finding.message, finding.message


REQUIRE_KMS_HEADER = deny_put("RequireSseKms", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}})
REQUIRE_ANY_SSE_HEADER = deny_put("RequireSseHeader", {"Null": {"s3:x-amz-server-side-encryption": "true"}})
REQUIRE_OWNER_ACL = deny_put("RequireBucketOwnerFullControl",
                             {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}})


# -- sse_header -------------------------------------------------------------------------------------------------


def test_kms_header_required_but_vendor_sends_none_fails(ref_chain: Chain,
                                                         reference_deployment: dict[str, Any]) -> None:
    """The issue's example: the bucket Denies PutObject without SSE-KMS, but the vendor sends no SSE header
    (it relies on default encryption). Every export is denied; both the bucket check and the chain say so."""
    chain = with_vendor(ref_chain, sse_header=SseHeader.NONE, kms_key_id_header=False)
    chain_view = deployed(reference_deployment, chain, bucket_denies(REQUIRE_KMS_HEADER))
    finding = run_check(BUCKET_DENY, chain_view)
    assert_status(finding, Status.FAIL, "RequireSseKms", "no x-amz-server-side-encryption header")
    assert declared_evidence(finding)["declared"]["vendor.sse_header"] == "none"
    chain_finding = run_check(CHAIN, chain_view)
    assert_status(chain_finding, Status.FAIL, "RequireSseKms", "no x-amz-server-side-encryption header")
    assert declared_evidence(chain_finding)["declared"]["vendor.sse_header"] == "none"


@pytest.mark.parametrize("sse", [SseHeader.BUCKET_DEFAULT, SseHeader.AWS_KMS])
def test_kms_header_required_and_vendor_sends_it_passes(ref_chain: Chain, reference_deployment: dict[str, Any],
                                                        sse: SseHeader) -> None:
    """Secure look-alike: the same Deny, and the vendor sends aws:kms (explicitly or as the bucket default)."""
    chain = with_vendor(ref_chain, sse_header=sse)
    chain_view = deployed(reference_deployment, chain, bucket_denies(REQUIRE_KMS_HEADER, REQUIRE_ANY_SSE_HEADER))
    finding = run_check(BUCKET_DENY, chain_view)
    assert_status(finding, Status.PASS, "x-amz-server-side-encryption: aws:kms")
    assert declared_evidence(finding)["headers sent"]["x-amz-server-side-encryption"] == "aws:kms"
    assert_status(run_check(CHAIN, chain_view), Status.PASS)
    assert_status(run_check(KMS, chain_view), Status.PASS)


def test_any_sse_header_required_but_vendor_sends_none_fails(ref_chain: Chain,
                                                             reference_deployment: dict[str, Any]) -> None:
    chain = with_vendor(ref_chain, sse_header=SseHeader.NONE, kms_key_id_header=False)
    chain_view = deployed(reference_deployment, chain, bucket_denies(REQUIRE_ANY_SSE_HEADER))
    assert_status(run_check(BUCKET_DENY, chain_view), Status.FAIL, "RequireSseHeader")
    assert_status(run_check(CHAIN, chain_view), Status.FAIL, "RequireSseHeader")
    # the write without a header is still encrypted with the bucket key: the KMS gate itself is fine
    assert_status(run_check(KMS, chain_view), Status.PASS)


def test_dsse_header_against_a_kms_only_policy_fails(ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    chain = with_vendor(ref_chain, sse_header=SseHeader.AWS_KMS_DSSE)
    chain_view = deployed(reference_deployment, chain, bucket_denies(REQUIRE_KMS_HEADER))
    assert_status(run_check(BUCKET_DENY, chain_view), Status.FAIL, "x-amz-server-side-encryption: aws:kms:dsse")


def test_sse_s3_header_on_a_kms_bucket_fails_the_key_check(ref_chain: Chain,
                                                           reference_deployment: dict[str, Any]) -> None:
    """No policy stops it, so the write lands, but encrypted with SSE-S3: no key policy protects the exports."""
    chain = with_vendor(ref_chain, sse_header=SseHeader.AES256, kms_key_id_header=False)
    chain_view = deployed(reference_deployment, chain)
    finding = run_check(KMS, chain_view)
    assert_status(finding, Status.FAIL, "x-amz-server-side-encryption: AES256",
                  "overrides the bucket's aws:kms default", "no key policy protects them")
    assert declared_evidence(finding)["encryption applied by S3"]["algorithm"] == "AES256"
    assert_status(run_check(BUCKET_DENY, chain_view), Status.PASS)


def test_role_policy_requiring_the_kms_header_fails_when_vendor_sends_none(
        ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    """The requirement can sit in the role's own policy: its Allow only covers writes that carry the header."""
    require = {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    broken = with_vendor(ref_chain, sse_header=SseHeader.NONE, kms_key_id_header=False)
    chain_view = deployed(reference_deployment, broken, role_put_condition(require))
    finding = run_check(ROLE_PUT, chain_view)
    assert_status(finding, Status.FAIL, "s3:x-amz-server-side-encryption", "no x-amz-server-side-encryption header")
    assert declared_evidence(finding)["declared"]["vendor.sse_header"] == "none"
    assert_status(run_check(CHAIN, chain_view), Status.FAIL)
    secure = deployed(reference_deployment, ref_chain, role_put_condition(require))
    assert_status(run_check(ROLE_PUT, secure), Status.PASS, "x-amz-server-side-encryption: aws:kms")
    assert_status(run_check(CHAIN, secure), Status.PASS)


# -- kms_key_id_header ------------------------------------------------------------------------------------------


REQUIRE_KEY_ID = deny_put("RequireBucketKey", {"StringNotEquals": {
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "{{kms:audit-reports}}"}})


def test_key_id_required_but_not_sent_fails(ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    """The bucket requires the key id of its own key; a vendor sending aws:kms without it is denied (and its
    writes would otherwise use aws/s3)."""
    chain = with_vendor(ref_chain, sse_header=SseHeader.AWS_KMS, kms_key_id_header=False)
    chain_view = deployed(reference_deployment, chain, bucket_denies(REQUIRE_KEY_ID))
    assert_status(run_check(BUCKET_DENY, chain_view), Status.FAIL, "RequireBucketKey", "no key-id header")
    assert_status(run_check(CHAIN, chain_view), Status.FAIL, "RequireBucketKey")


def test_key_id_required_and_sent_passes(ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    secure = deployed(reference_deployment, with_vendor(ref_chain, sse_header=SseHeader.AWS_KMS),
                      bucket_denies(REQUIRE_KEY_ID))
    key = secure.kms_key()
    assert key is not None
    assert_status(run_check(BUCKET_DENY, secure), Status.PASS,
                  f"x-amz-server-side-encryption-aws-kms-key-id: {key.arn}")
    assert_status(run_check(CHAIN, secure), Status.PASS)


def test_kms_header_without_key_id_uses_aws_managed_key_and_fails(ref_chain: Chain,
                                                                  reference_deployment: dict[str, Any]) -> None:
    """PutObject API reference: aws:kms without x-amz-server-side-encryption-aws-kms-key-id means aws/s3."""
    chain = with_vendor(ref_chain, sse_header=SseHeader.AWS_KMS, kms_key_id_header=False)
    finding = run_check(KMS, deployed(reference_deployment, chain))
    assert_status(finding, Status.FAIL, "AWS managed key aws/s3", "not the bucket key")
    assert declared_evidence(finding)["encryption applied by S3"]["kms_key"] == "AWS managed key aws/s3"


def test_no_header_at_all_uses_the_bucket_key_and_passes(ref_chain: Chain,
                                                         reference_deployment: dict[str, Any]) -> None:
    """Secure look-alike: no SSE header, so S3 applies the bucket default and its key."""
    chain = with_vendor(ref_chain, sse_header=SseHeader.NONE, kms_key_id_header=False)
    chain_view = deployed(reference_deployment, chain)
    finding = run_check(KMS, chain_view)
    key = chain_view.kms_key()
    assert key is not None
    assert_status(finding, Status.PASS, key.arn)
    assert declared_evidence(finding)["encryption applied by S3"]["kms_key"] == key.arn
    assert_status(run_check(CHAIN, chain_view), Status.PASS)


# -- acl --------------------------------------------------------------------------------------------------------


def test_owner_acl_required_but_vendor_sends_no_acl_fails(ref_chain: Chain,
                                                          reference_deployment: dict[str, Any]) -> None:
    """Today's suite tried with and without an ACL and passed this chain; the vendor is declared to send none."""
    chain_view = deployed(reference_deployment, ref_chain, bucket_denies(REQUIRE_OWNER_ACL))
    finding = run_check(BUCKET_DENY, chain_view)
    assert_status(finding, Status.FAIL, "RequireBucketOwnerFullControl", "no x-amz-acl")
    assert declared_evidence(finding)["declared"]["vendor.acl"] == ""
    assert_status(run_check(CHAIN, chain_view), Status.FAIL, "RequireBucketOwnerFullControl")


def test_owner_acl_required_and_vendor_sends_it_passes(ref_chain: Chain,
                                                       reference_deployment: dict[str, Any]) -> None:
    chain = with_vendor(ref_chain, acl=CannedAcl.BUCKET_OWNER_FULL_CONTROL)
    chain_view = deployed(reference_deployment, chain, bucket_denies(REQUIRE_OWNER_ACL))
    assert_status(run_check(BUCKET_DENY, chain_view), Status.PASS, "x-amz-acl: bucket-owner-full-control")
    assert_status(run_check(CHAIN, chain_view), Status.PASS)


def test_public_acl_denied_by_bucket_fails(ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    """A bucket that refuses public ACLs stops a vendor declared to send public-read."""
    deny_public = deny_put("DenyPublicAcls", {"StringEquals": {"s3:x-amz-acl": ["public-read", "public-read-write"]}})
    broken = with_vendor(ref_chain, acl=CannedAcl.PUBLIC_READ)
    assert_status(run_check(BUCKET_DENY, deployed(reference_deployment, broken, bucket_denies(deny_public))),
                  Status.FAIL, "DenyPublicAcls", "x-amz-acl: public-read")
    assert_status(run_check(BUCKET_DENY, deployed(reference_deployment, ref_chain, bucket_denies(deny_public))),
                  Status.PASS)


def test_acl_refused_by_bucket_owner_enforced_fails_the_chain(ref_chain: Chain,
                                                               reference_deployment: dict[str, Any]) -> None:
    """No policy denies it, but ACLs are disabled (BucketOwnerEnforced): S3 answers AccessControlListNotSupported
    to a vendor declared to send bucket-owner-read."""
    broken = with_vendor(ref_chain, acl=CannedAcl.BUCKET_OWNER_READ)
    chain_view = deployed(reference_deployment, broken)
    finding = run_check(CHAIN, chain_view)
    assert_status(finding, Status.FAIL, "x-amz-acl: bucket-owner-read", "BucketOwnerEnforced",
                  "AccessControlListNotSupported")
    assert declared_evidence(finding)["declared"]["vendor.acl"] == "bucket-owner-read"
    assert_status(run_check(BUCKET_DENY, chain_view), Status.PASS)  # the bucket policy itself is fine


def test_acl_accepted_when_acls_are_enabled_passes(ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    """Look-alike: the same declared ACL on a bucket whose ACLs are enabled (BucketOwnerPreferred) is accepted;
    the chain passes (aws_bucket_ownership_enforced reports the ownership separately)."""
    def preferred(data: dict[str, Any]) -> None:
        audit_bucket(data)["ownership"] = "BucketOwnerPreferred"
    chain_view = deployed(reference_deployment, with_vendor(ref_chain, acl=CannedAcl.BUCKET_OWNER_READ), preferred)
    assert_status(run_check(CHAIN, chain_view), Status.PASS)


# -- upload_kinds -----------------------------------------------------------------------------------------------


def test_missing_decrypt_breaks_multipart_uploads(ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    """The key policy grants only kms:GenerateDataKey: multipart uploads fail, and the message says exactly that."""
    chain_view = deployed(reference_deployment, ref_chain, key_policy(export_role_may(["kms:GenerateDataKey"])),
                          role_only_generate_data_key)
    finding = run_check(KMS, chain_view)
    assert_status(finding, Status.FAIL, "kms:Decrypt", "so multipart uploads fail",
                  "a single-part PutObject does not need it")
    assert "every SSE-KMS write fails" not in finding.message
    assert declared_evidence(finding)["declared"]["vendor.upload_kinds"] == ["single", "multipart"]
    assert_status(run_check(CHAIN, chain_view), Status.FAIL, "kms:Decrypt", "multipart uploads")


def role_only_generate_data_key(data: dict[str, Any]) -> None:
    statements = export_role(data)["inline_policies"]["WriteAuditExports"]["Statement"]
    statements[1]["Action"] = ["kms:GenerateDataKey"]


def test_missing_decrypt_is_fine_for_single_part_uploads(ref_chain: Chain,
                                                         reference_deployment: dict[str, Any]) -> None:
    """Secure look-alike: the same key, and a vendor declared to upload single-part only."""
    chain = with_vendor(ref_chain, upload_kinds=(UploadKind.SINGLE,))
    chain_view = deployed(reference_deployment, chain, key_policy(export_role_may(["kms:GenerateDataKey"])),
                          role_only_generate_data_key)
    finding = run_check(KMS, chain_view)
    assert_status(finding, Status.PASS, "kms:GenerateDataKey", "single-part uploads need no kms:Decrypt")
    assert_status(run_check(CHAIN, chain_view), Status.PASS)


def test_missing_generate_data_key_breaks_every_upload_kind(ref_chain: Chain,
                                                            reference_deployment: dict[str, Any]) -> None:
    chain = with_vendor(ref_chain, upload_kinds=(UploadKind.SINGLE,))
    chain_view = deployed(reference_deployment, chain, key_policy(export_role_may(["kms:Decrypt"])))
    assert_status(run_check(KMS, chain_view), Status.FAIL, "kms:GenerateDataKey",
                  "every SSE-KMS write fails (single-part PutObject and multipart uploads both need it)")


OBJECT_CONTEXT = {"StringLike": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}/qualio/*"}}
BUCKET_CONTEXT = {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}"}}


def test_object_arn_context_condition_breaks_with_a_bucket_key(ref_chain: Chain,
                                                                reference_deployment: dict[str, Any]) -> None:
    """bucket-key.html: with an S3 Bucket Key the encryption context is the bucket ARN, so a key policy pinned to
    object ARNs denies every upload once the Bucket Key is on."""
    chain_view = deployed(reference_deployment, ref_chain, bucket_key(True),
                          key_policy(export_role_may(["kms:GenerateDataKey", "kms:Decrypt"], OBJECT_CONTEXT)))
    assert_status(run_check(KMS, chain_view), Status.FAIL, "kms:GenerateDataKey", "kms:EncryptionContext:aws:s3:arn")
    secure = deployed(reference_deployment, ref_chain, bucket_key(False),
                      key_policy(export_role_may(["kms:GenerateDataKey", "kms:Decrypt"], OBJECT_CONTEXT)))
    assert_status(run_check(KMS, secure), Status.PASS)


def test_bucket_arn_context_condition_passes_with_a_bucket_key_but_not_with_dsse(
        ref_chain: Chain, reference_deployment: dict[str, Any]) -> None:
    """Secure look-alike: pinned to the bucket ARN with the Bucket Key on. A vendor declared to send DSSE-KMS
    gets no Bucket Key (not supported for DSSE-KMS), so the same policy denies it."""
    policy = key_policy(export_role_may(["kms:GenerateDataKey", "kms:Decrypt"], BUCKET_CONTEXT))
    assert_status(run_check(KMS, deployed(reference_deployment, ref_chain, bucket_key(True), policy)), Status.PASS)
    dsse = with_vendor(ref_chain, sse_header=SseHeader.AWS_KMS_DSSE)
    finding = run_check(KMS, deployed(reference_deployment, dsse, bucket_key(True), policy))
    assert_status(finding, Status.FAIL, "kms:GenerateDataKey")
    assert declared_evidence(finding)["encryption applied by S3"]["bucket_key"] is False


# -- every AWS check on the reference, for each secure request shape --------------------------------------------

SECURE_SHAPES: dict[str, dict[str, Any]] = {
    "no-sse-header": {"sse_header": SseHeader.NONE, "kms_key_id_header": False},
    "explicit-kms-with-key": {"sse_header": SseHeader.AWS_KMS},
    "owner-full-control-acl": {"acl": CannedAcl.BUCKET_OWNER_FULL_CONTROL},
    "single-part-only": {"upload_kinds": (UploadKind.SINGLE,)},
    "multipart-only": {"upload_kinds": (UploadKind.MULTIPART,)},
}


def every_view_check() -> list[Callable[..., Finding]]:
    import importlib
    import inspect
    import pkgutil

    import compliance.checks as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("test_aws_"):
            continue
        module = importlib.import_module(f"compliance.checks.{info.name}")
        for name in sorted(dir(module)):
            fn = getattr(module, name)
            if name.startswith("test_aws_") and callable(fn) \
                    and set(inspect.signature(fn).parameters) <= {"chain_view", "fuzz_budget"}:
                found.append(fn)
    return found


@pytest.mark.parametrize("shape", sorted(SECURE_SHAPES))
def test_secure_request_shapes_keep_every_check_passing(ref_chain: Chain, reference_snapshot: Any,
                                                        monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    """On the reference deployment each of these declared request shapes is a secure look-alike: no check may
    change its verdict because of it, and none may crash."""
    import inspect

    monkeypatch.setenv("COMPLIANCE_FUZZ_SEED", "20261129")
    chain = with_vendor(ref_chain, **SECURE_SHAPES[shape])
    changed = {}
    for fn in every_view_check():
        args: tuple[Any, ...] = (10,) if "fuzz_budget" in inspect.signature(fn).parameters else ()
        before = run_check(fn, view(ref_chain, reference_snapshot), *args)
        after = run_check(fn, view(chain, reference_snapshot), *args)
        if after.status is not before.status:
            changed[fn.__name__] = f"{before.status.value} -> {after.status.value}: {after.message}"
    assert not changed, changed
