"""The role's own permissions: the write and the key are allowed, and nothing else is."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.intended import KMS_ALGORITHMS, declared_write, intended_put, kms_calls
from compliance.chain.requests import evaluation_ips
from compliance.chain.vendor_write import describe_headers
from compliance.chain.view import ChainView, SourcedPolicy
from compliance.iam import Effect, Statement
from compliance.model import Finding, Provider, Severity
from compliance.registry import Subject, check

MINIMUM = ("s3:putobject", "kms:generatedatakey", "kms:decrypt")
WILDCARDS = ("*", "?")


@check(
    title="The role may put objects under the prefix with the headers the bucket requires",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        The session's s3:PutObject must be allowed by the role's identity policies, within its permissions boundary
        and every SCP from the organization root down to the account, for the request the vendor sends: TLS and
        exactly the SSE, key-id and ACL headers declared in [vendor] (sse_header, kms_key_id_header, acl; by default
        the bucket's default SSE-KMS header and key, no ACL). The walkthrough's "Verify Configuration" button only
        proves AssumeRole, not this.
    """,
    remediation="""
        Give the role exactly: {"Sid": "PutExportsUnderPrefix", "Effect": "Allow", "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::BUCKET/PREFIX*"} and make sure the permissions boundary and every SCP level allow
        s3:PutObject on it.
    """,
    controls=("21CFR11.10(a)", "21CFR11.10(d)", "EUAnnex11-5", "EUAnnex11-7.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.KEY, perms.BUCKET_POLICY),
)
def test_aws_role_allows_put_under_prefix(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    evaluator = ChainEvaluator(chain_view, positive=True)
    write = declared_write(chain_view)
    evidence_policies = (kit.policies("Role identity policies", chain_view.identity_policies()),
                         kit.policy("Permissions boundary", chain_view.boundary()),
                         kit.note("What the vendor is declared to send ([vendor] sse_header, kms_key_id_header, acl, "
                                  "upload_kinds)", write.note(chain_view), "chain config"))
    sent = describe_headers(write.headers)
    for ip in evaluation_ips(chain):
        own = intended_put(chain_view, evaluator, ip=ip, principal_only=True)
        if own.allowed():
            continue
        with_bucket = intended_put(chain_view, evaluator, ip=ip)
        if with_bucket.allowed():
            return Finding.passed("The role's own policies do not allow the write, but the bucket policy grants the "
                                  "role directly, within its boundary and SCPs.",
                                  evidence=(kit.decision("s3:PutObject with the bucket policy", with_bucket),
                                            *evidence_policies))
        return Finding.failed(kit.text(
            f"The role's permissions deny s3:PutObject on {own.request.resource} from {ip}: {cause(own)} "
            f"(the vendor is declared to send {sent})."),
            evidence=(kit.decision("s3:PutObject by the role session (identity ∩ boundary ∩ SCPs)", own),
                      *evidence_policies))
    sample = intended_put(chain_view, evaluator, principal_only=True)
    return Finding.passed(f"The role's identity policies, boundary and SCPs allow s3:PutObject on "
                          f"{sample.request.resource} with the headers the vendor is declared to send ({sent}).",
                          evidence=(kit.decision("s3:PutObject by the role session", sample), *evidence_policies))


@check(
    title="The role and the key policy both allow the bucket key's data-key operations",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        With SSE-KMS S3 calls KMS on the bucket's key for the session: kms:GenerateDataKey for every upload, and
        kms:Decrypt as well for multipart uploads (S3 decrypts the parts to assemble them); with an S3 Bucket Key the
        same actions, with the bucket ARN as encryption context (S3 User Guide: "Using server-side encryption with AWS
        KMS keys", "Multipart upload API and permissions", "Reducing the cost of SSE-KMS with Amazon S3 Bucket
        Keys"). Both the key policy and the role's identity policies (within boundary and SCPs) must allow what the
        vendor's declared upload kinds ([vendor] upload_kinds) need, or those writes fail with AccessDenied although
        s3:PutObject is allowed. A vendor whose declared headers make S3 use another key than the bucket key (an
        aws:kms header without the key id means the AWS managed key aws/s3; AES256 means SSE-S3) writes records the
        key policy does not protect.
    """,
    remediation="""
        Role: {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "KEY_ARN"}. Key policy: {"Sid": "AllowExportRoleToEncrypt", "Effect": "Allow",
        "Principal": {"AWS": "ROLE_ARN"}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}
        (kms:Decrypt only matters for multipart uploads). Have the vendor send the bucket key's ARN with an aws:kms
        header, or no SSE header at all so the bucket default applies.
    """,
    controls=("21CFR11.10(c)", "21CFR11.30", "EUAnnex11-7.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.KEY_WITH_GRANTS),
)
def test_aws_role_and_key_policy_allow_kms_for_bucket_key(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    encryption = chain_view.bucket().encryption.require()
    write = declared_write(chain_view)
    declared = kit.note("What the vendor is declared to send ([vendor] sse_header, kms_key_id_header, acl, "
                        "upload_kinds)", write.note(chain_view), "chain config")
    default = encryption.algorithm if encryption is not None else None
    key = chain_view.kms_key() if default in KMS_ALGORITHMS else None
    sent = describe_headers(write.headers)
    if not write.applied.kms:
        if default in KMS_ALGORITHMS:
            return Finding.failed(
                f"The vendor is declared to send {sent}, which overrides the bucket's {default} default: "
                f"S3 encrypts its exports with {write.applied.algorithm}, so no key policy protects them.",
                evidence=(declared,))
        return Finding.not_applicable("Neither the bucket's default encryption nor the vendor's declared headers use "
                                      "SSE-KMS, so no key permissions are needed "
                                      "(aws_bucket_default_encryption_is_sse_kms reports that).")
    if write.applied.aws_managed_key:
        if key is not None:
            return Finding.failed(
                f"The vendor is declared to send {sent}: with an SSE-KMS header but no key id S3 uses the AWS managed "
                f"key aws/s3, not the bucket key {key.arn}, so the bucket key's policy does not protect the exports.",
                resource=key.arn, evidence=(declared, kit.policy("Key policy", chain_view.key_policy())))
        return Finding.passed("The vendor's writes use the AWS-managed aws/s3 key, whose policy lets any principal of "
                              "the account that may write through S3 use it.",
                              evidence=(declared,))
    if key is None:
        return Finding.passed("The bucket uses the AWS-managed aws/s3 key, whose policy lets any principal of the "
                              "account that may write through S3 use it.",
                              evidence=(declared,))
    evaluator = ChainEvaluator(chain_view, positive=True)
    calls = kms_calls(chain_view)
    evaluations = [(call, evaluator.kms(call.request)) for call in calls]
    evidence = (declared, kit.policy("Key policy", chain_view.key_policy()),
                kit.policies("Role identity policies", chain_view.identity_policies()))
    for call, evaluation in evaluations:
        if not evaluation.allowed():
            return Finding.failed(kit.text(
                f"{evaluation.request.action} on the bucket key {key.arn} is denied for the role session: "
                f"{cause(evaluation)}, {call.need.consequence()}."), resource=key.arn,
                evidence=(kit.decision(evaluation.request.action, evaluation), *evidence))
    kinds = " and ".join(kind.value for kind in chain.vendor.upload_kinds)
    actions = " and ".join(call.request.action for call in calls)
    single_only = "" if len(calls) > 1 else " (single-part uploads need no kms:Decrypt)"
    return Finding.passed(f"The role and the key policy allow {actions} on {key.arn}, which the vendor's declared "
                          f"{kinds} uploads need{single_only}.", resource=key.arn,
                          evidence=(*(kit.decision(e.request.action, e) for _, e in evaluations), *evidence))


def _within(pattern: str, base: str) -> bool:
    """Is the resource pattern confined to `base` (no wildcard before the end of base)?"""
    return pattern.startswith(base) and not any(w in base for w in WILDCARDS)


def _excess(statement: Statement, policy: SourcedPolicy, object_base: str, key_arn: str | None) -> list[str]:
    where = f"{policy.name} statement {statement.label}"
    if statement.not_actions is not None:
        return [f"every action except {', '.join(statement.not_actions)} ({where}, NotAction)"]
    found: list[str] = []
    resources = statement.resources or ()
    for action in statement.actions or ():
        lower = action.lower()
        if lower not in MINIMUM:
            found.append(f"{action} ({where})")
            continue
        if statement.not_resources is not None:
            found.append(f"{action} on everything except {', '.join(statement.not_resources)} ({where})")
            continue
        for resource in resources:
            ok = _within(resource, object_base) if lower == "s3:putobject" else (key_arn is not None and
                                                                               resource == key_arn)
            if not ok:
                found.append(f"{action} on {resource} ({where})")
    return found


@check(
    title="The role grants nothing beyond s3:PutObject under the prefix and the bucket key's data-key operations",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        A compromised vendor session must not be able to delete or overwrite other records, change the bucket or
        its policy, touch IAM, assume further roles or reach other buckets. Every action or resource beyond the
        minimum is reported with the statement that grants it; conditions are not credited, because a least-privilege
        grant should not depend on them.
    """,
    remediation="""
        Replace the role's policies with exactly: {"Version": "2012-10-17", "Statement": [
        {"Sid": "PutExportsUnderPrefix", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::BUCKET/PREFIX*"},
        {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": "KEY_ARN"}]}
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.KEY),
)
def test_aws_role_has_least_privilege(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    key = chain_view.kms_key()
    object_base = f"arn:aws:s3:::{chain.aws.bucket}/{chain.aws.prefix}"
    excess: list[str] = []
    for policy in chain_view.identity_policies():
        for statement in policy.document.statements:
            if statement.effect is Effect.ALLOW:
                excess.extend(_excess(statement, policy, object_base, key.arn if key else None))
    evidence = (kit.policies("Role identity policies", chain_view.identity_policies()),
                kit.note("Grants beyond the minimum", excess))
    if excess:
        shown = "; ".join(excess[:6]) + (f"; and {len(excess) - 6} more" if len(excess) > 6 else "")
        return Finding.failed(f"The role grants {len(excess)} permission(s) beyond s3:PutObject on "
                              f"{object_base}* and the bucket key: {shown}.",
                              evidence=evidence)
    return Finding.passed(f"The role grants only s3:PutObject on {object_base}* and kms:GenerateDataKey/kms:Decrypt "
                          "on the bucket key.", evidence=evidence)


@check(
    title="The role grants no s3:PutObjectAcl on a bucket whose ACLs are disabled",
    severity=Severity.MEDIUM,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        The walkthrough grants s3:PutObjectAcl. With object ownership BucketOwnerEnforced, ACLs are disabled and S3
        rejects every ACL other than bucket-owner-full-control with AccessControlListNotSupported: the grant is dead at
        best, and a vendor that sends an ACL because it was granted fails its exports.
    """,
    remediation="""
        Remove s3:PutObjectAcl from the role's policy, leaving "Action": "s3:PutObject", and have the vendor send
        no ACL header (or x-amz-acl: bucket-owner-full-control).
    """,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.OWNERSHIP),
)
def test_aws_role_grants_no_object_acl_writes_with_acls_disabled(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    ownership = chain_view.bucket().ownership.require()
    if ownership != "BucketOwnerEnforced":
        return Finding.not_applicable(f"ACLs are not disabled on the bucket (ownership {ownership or 'not set'}); "
                                      "aws_bucket_ownership_enforced reports that.", resource=chain.aws.bucket)
    grants = [f"{p.name} statement {s.label}" for p in chain_view.identity_policies() for s in p.document.statements
              if s.effect is Effect.ALLOW and s.matches_action("s3:PutObjectAcl")]
    evidence = (kit.policies("Role identity policies", chain_view.identity_policies()),)
    if grants:
        return Finding.failed(
            f"The role grants s3:PutObjectAcl ({', '.join(grants)}), but the bucket's ownership is "
            "BucketOwnerEnforced, so S3 rejects ACL writes with AccessControlListNotSupported: the walkthrough's "
            "grant is dead or harmful.",
            evidence=evidence)
    return Finding.passed("The role grants no s3:PutObjectAcl; the bucket's ACLs are disabled (BucketOwnerEnforced).",
                          evidence=evidence)
