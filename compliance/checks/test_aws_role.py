"""The role's own permissions: the write and the key are allowed, and nothing else is."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.intended import KMS_ALGORITHMS, intended_put, kms_requests
from compliance.chain.requests import evaluation_ips
from compliance.chain.view import ChainView, SourcedPolicy
from compliance.iam import Effect, Statement
from compliance.model import Finding, Provider, Severity
from compliance.registry import check

MINIMUM = ("s3:putobject", "kms:generatedatakey", "kms:decrypt")
WILDCARDS = ("*", "?")


@check(
    title="The role may put objects under the prefix with the headers the bucket requires",
    severity=Severity.CRITICAL,
    provider=Provider.AWS,
    rationale="""
        The session's s3:PutObject must be allowed by the role's identity policies, within its permissions boundary
        and every SCP from the organization root down to the account, for the request the vendor sends: TLS, the
        bucket's default SSE-KMS header and key, and no ACL header (or bucket-owner-full-control). The walkthrough's
        "Verify Configuration" button only proves AssumeRole, not this.
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
    evidence_policies = (kit.policies("Role identity policies", chain_view.identity_policies()),
                         kit.policy("Permissions boundary", chain_view.boundary()), *kit.proposals())
    for ip in evaluation_ips(chain):
        own = intended_put(chain_view, evaluator, ip=ip, principal_only=True)
        if own.allowed():
            continue
        with_bucket = intended_put(chain_view, evaluator, ip=ip)
        if with_bucket.allowed():
            return Finding.passed("The role's own policies do not allow the write, but the bucket policy grants the "
                                  "role directly, within its boundary and SCPs.", resource=chain.aws.role_arn,
                                  evidence=(kit.decision("s3:PutObject with the bucket policy", with_bucket),
                                            *evidence_policies))
        return Finding.failed(kit.text(
            f"The role's permissions deny s3:PutObject on {own.request.resource} from {ip}: {cause(own)}."),
            resource=chain.aws.role_arn,
            evidence=(kit.decision("s3:PutObject by the role session (identity ∩ boundary ∩ SCPs)", own),
                      *evidence_policies))
    sample = intended_put(chain_view, evaluator, principal_only=True)
    return Finding.passed(f"The role's identity policies, boundary and SCPs allow s3:PutObject on "
                          f"{sample.request.resource} with the bucket's required headers.", resource=chain.aws.role_arn,
                          evidence=(kit.decision("s3:PutObject by the role session", sample), *evidence_policies))


@check(
    title="The role and the key policy both allow the bucket key's data-key operations",
    severity=Severity.CRITICAL,
    provider=Provider.AWS,
    rationale="""
        With SSE-KMS every put makes S3 call kms:GenerateDataKey on the bucket's key for the session, and multipart
        uploads also need kms:Decrypt. Both the key policy and the role's identity policies (within boundary and SCPs)
        must allow them, or every write fails with AccessDenied although s3:PutObject is allowed.
    """,
    remediation="""
        Role: {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "KEY_ARN"}. Key policy: {"Sid": "AllowExportRoleToEncrypt", "Effect": "Allow",
        "Principal": {"AWS": "ROLE_ARN"}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}
    """,
    controls=("21CFR11.10(c)", "21CFR11.30", "EUAnnex11-7.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.KEY),
)
def test_aws_role_and_key_policy_allow_kms_for_bucket_key(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    encryption = chain_view.bucket().encryption.require()
    if encryption is None or encryption.algorithm not in KMS_ALGORITHMS:
        return Finding.not_applicable("The bucket does not use SSE-KMS, so no key permissions are needed "
                                      "(aws_bucket_default_encryption_is_sse_kms reports that).",
                                      resource=chain.aws.bucket)
    key = chain_view.kms_key()
    if key is None:
        return Finding.passed("The bucket uses the AWS-managed aws/s3 key, whose policy lets any principal of the "
                              "account that may write through S3 use it.", resource=chain.aws.bucket)
    evaluator = ChainEvaluator(chain_view, positive=True)
    evaluations = [evaluator.kms(request) for request in kms_requests(chain_view)]
    evidence = (kit.policy("Key policy", chain_view.key_policy()),
                kit.policies("Role identity policies", chain_view.identity_policies()), *kit.proposals())
    for evaluation in evaluations:
        if not evaluation.allowed():
            return Finding.failed(kit.text(
                f"{evaluation.request.action} on the bucket key {key.arn} is denied for the role session: "
                f"{cause(evaluation)}, so every SSE-KMS write fails."), resource=key.arn,
                evidence=(kit.decision(evaluation.request.action, evaluation), *evidence))
    return Finding.passed(f"The role and the key policy allow kms:GenerateDataKey and kms:Decrypt on {key.arn}.",
                          resource=key.arn,
                          evidence=(*(kit.decision(e.request.action, e) for e in evaluations), *evidence))


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
    provider=Provider.AWS,
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
                kit.note("Grants beyond the minimum", excess), *kit.proposals())
    if excess:
        shown = "; ".join(excess[:6]) + (f"; and {len(excess) - 6} more" if len(excess) > 6 else "")
        return Finding.failed(f"The role grants {len(excess)} permission(s) beyond s3:PutObject on "
                              f"{object_base}* and the bucket key: {shown}.", resource=chain.aws.role_arn,
                              evidence=evidence)
    return Finding.passed(f"The role grants only s3:PutObject on {object_base}* and kms:GenerateDataKey/kms:Decrypt "
                          "on the bucket key.", resource=chain.aws.role_arn, evidence=evidence)


@check(
    title="The role grants no s3:PutObjectAcl on a bucket whose ACLs are disabled",
    severity=Severity.MEDIUM,
    provider=Provider.AWS,
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
    evidence = (kit.policies("Role identity policies", chain_view.identity_policies()), *kit.proposals())
    if grants:
        return Finding.failed(
            f"The role grants s3:PutObjectAcl ({', '.join(grants)}), but the bucket's ownership is "
            "BucketOwnerEnforced, so S3 rejects ACL writes with AccessControlListNotSupported: the walkthrough's "
            "grant is dead or harmful.",
            resource=chain.aws.role_arn, evidence=evidence)
    return Finding.passed("The role grants no s3:PutObjectAcl; the bucket's ACLs are disabled (BucketOwnerEnforced).",
                          resource=chain.aws.role_arn, evidence=evidence)
