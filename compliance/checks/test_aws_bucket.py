"""The audit bucket: its policy, public access, ownership, encryption, versioning, Object Lock and logging."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.intended import KMS_ALGORITHMS, declared_write
from compliance.chain.log_delivery import LOG_DELIVERY_DOC, LOGGING_SERVICE, judge_delivery
from compliance.chain.remediation import bucket_deny_fix, find_statement, raw_statement
from compliance.chain.requests import (
    UNPUBLISHED_IP,
    evaluation_ips,
    principal_caller,
    put_context,
    put_request,
    sample_key,
    session_caller,
)
from compliance.chain.vendor_write import describe_headers
from compliance.chain.view import ChainView, SourcedPolicy
from compliance.iam import Decision, Evaluation, Outcome, PolicyKind
from compliance.model import Finding, Provider, Remediation, Severity
from compliance.registry import Subject, check
from compliance.targets.snapshot import PublicAccessBlock

PAB_REMEDY = ('{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, '
              '"RestrictPublicBuckets": true}')


def _deny_fix(view: ChainView, policy: SourcedPolicy, evaluation: Evaluation) -> Remediation | None:
    """The denying statement rewritten to exempt the role (or the vendor's published CIDRs): never widened."""
    entry = next((e for e in evaluation.trace if e.outcome is Outcome.DENY and e.policy_kind is PolicyKind.RESOURCE),
                 None)
    statement = find_statement(policy.document, entry.statement) if entry is not None else None
    if entry is None or statement is None:
        return None
    caught_by = [c.key.lower() for c in entry.conditions if c.result]
    chain = view.chain
    return bucket_deny_fix(statement, raw_statement(policy.raw, statement), chain.aws.role_arn,
                           chain.vendor.source_ips, caught_by, UNPUBLISHED_IP, chain.vendor.name)


def _bucket_denies(evaluation: Evaluation) -> bool:
    return evaluation.decision is Decision.EXPLICIT_DENY and any(
        e.outcome is Outcome.DENY and e.policy_kind is PolicyKind.RESOURCE for e in evaluation.trace)


@check(
    title="The bucket policy denies none of the role's intended writes",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        The classic silent break: a Deny in the bucket policy (a NotPrincipal, an IP or VPC-endpoint restriction, an
        encryption or tag requirement) that also catches the export role. An explicit Deny wins over every Allow, so
        the role's own permissions cannot help. The walkthrough's "common gotcha" is this case. The write is evaluated
        with exactly the headers the vendor is declared to send ([vendor] sse_header, kms_key_id_header, acl): a policy
        that requires a header the vendor does not send denies every export.
    """,
    remediation="""
        Narrow the Deny so the role's writes are outside it, for example by excluding the role:
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "ROLE_ARN"}}, or by aligning the condition with what the
        vendor sends (TLS, SSE-KMS with the bucket key).
    """,
    controls=("21CFR11.10(a)", "EUAnnex11-5", "EUAnnex11-7.1"),
    permissions=perms.union(perms.ROLE, perms.BUCKET_POLICY, perms.KEY),
)
def test_aws_bucket_policy_denies_no_intended_write(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    policy = chain_view.bucket_policy()
    if policy is None:
        return Finding.passed("The bucket has no bucket policy, so no bucket-policy Deny can catch the role.")
    evaluator = ChainEvaluator(chain_view, positive=False)
    write = declared_write(chain_view)
    declared = kit.note("What the vendor is declared to send ([vendor] sse_header, kms_key_id_header, acl, "
                        "upload_kinds)", write.note(chain_view), "chain config")
    session = session_caller(chain, chain_view.role())
    keys = (sample_key(chain), chain.aws.prefix + "report.pdf")
    for ip in evaluation_ips(chain):
        for object_key in keys:
            attempt = evaluator.stranger_on_bucket(put_request(
                chain, session, chain.aws.bucket, object_key,
                put_context(chain, None, None, source_ip=ip, headers=write.headers)))
            if _bucket_denies(attempt):
                return Finding.failed(kit.text(
                    f"The bucket policy denies the role's intended s3:PutObject on {attempt.request.resource}: "
                    f"{cause(attempt)} (the vendor is declared to send {describe_headers(write.headers)})."),
                    remediation=_deny_fix(chain_view, policy, attempt),
                    evidence=(kit.decision("Intended write against the bucket policy", attempt), declared,
                              kit.policy("Bucket policy", policy)))
    return Finding.passed("No statement of the bucket policy denies the role's intended writes under "
                          f"{chain.aws.prefix} with the headers the vendor is declared to send "
                          f"({describe_headers(write.headers)}).",
                          evidence=(declared, kit.policy("Bucket policy", policy)))


@check(
    title="The bucket policy denies every request with aws:SecureTransport=false",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        Records and credentials must not travel over plain HTTP (21 CFR 11.30, open systems). S3 accepts HTTP unless
        the bucket policy explicitly denies requests where aws:SecureTransport is false.
    """,
    remediation="""
        Add: {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    """,
    controls=("21CFR11.30", "21CFR11.10(c)", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE, perms.BUCKET_POLICY),
)
def test_aws_bucket_policy_denies_insecure_transport(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    policy = chain_view.bucket_policy()
    if policy is None:
        return Finding.failed("The bucket has no bucket policy, so nothing denies requests with "
                              "aws:SecureTransport=false.")
    evaluator = ChainEvaluator(chain_view, positive=False)
    session = session_caller(chain, chain_view.role())
    stranger = principal_caller(f"arn:aws:iam::{chain.aws.account}:user/someone", "an IAM user of the account")
    context = put_context(chain, None, None, secure=False)
    probes = [(session, "s3:PutObject", sample_key(chain)), (session, "s3:GetObject", sample_key(chain)),
              (stranger, "s3:GetObject", sample_key(chain)), (stranger, "s3:DeleteObject", "other/record.pdf")]
    for caller, action, key in probes:
        evaluation = evaluator.stranger_on_bucket(put_request(chain, caller, chain.aws.bucket, key, context,
                                                              action=action))
        if not _bucket_denies(evaluation):
            return Finding.failed(
                f"The bucket policy does not deny {action} by {caller.label} with aws:SecureTransport=false, so "
                "records can travel over plain HTTP.",
                evidence=(kit.decision(f"{action} over HTTP", evaluation), kit.policy("Bucket policy", policy)))
    return Finding.passed("The bucket policy explicitly denies requests with aws:SecureTransport=false.",
                          evidence=(kit.policy("Bucket policy", policy),))


def _pab_finding(pab: PublicAccessBlock | None, where: str, kit: EvidenceKit) -> Finding:
    if pab is None:
        return Finding.failed(f"No public access block is configured at {where} level, so a public policy or ACL "
                              "would take effect.")
    evidence = (kit.note(f"Public access block ({where})", pab.to_json()),)
    if not pab.all_on:
        off = ", ".join(k for k, v in pab.to_json().items() if not v)
        return Finding.failed(f"The {where}-level public access block has {off} switched off.", evidence=evidence)
    return Finding.passed(f"All four {where}-level public access block settings are on.", evidence=evidence)


@check(
    title="All four public access block settings are on for the bucket",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="Public access to regulated records would breach confidentiality and limit access to authorized "
              "individuals only in name; the bucket-level block stops public ACLs and policies.",
    remediation=f"aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration '{PAB_REMEDY}'",
    controls=("21CFR11.10(d)", "21CFR11.10(c)", "EUAnnex11-12.1"),
    permissions=perms.PUBLIC_ACCESS_BLOCK,
)
def test_aws_bucket_public_access_blocked(chain_view: ChainView) -> Finding:
    kit = EvidenceKit(chain_view)
    pab = chain_view.bucket().public_access_block.require()
    return _pab_finding(pab, "bucket", kit)


@check(
    title="All four public access block settings are on for the account",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.ACCOUNT,
    rationale="The account-level block protects the audit bucket even if its own block is removed by mistake.",
    remediation=f"aws s3control put-public-access-block --account-id ACCOUNT --public-access-block-configuration "
                f"'{PAB_REMEDY}'",
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"),
    permissions=perms.ACCOUNT_PUBLIC_ACCESS_BLOCK,
)
def test_aws_account_public_access_blocked(chain_view: ChainView) -> Finding:
    kit = EvidenceKit(chain_view)
    pab = chain_view.snapshot.account_public_access_block.require()
    return _pab_finding(pab, "account", kit)


@check(
    title="Object ownership is BucketOwnerEnforced (ACLs disabled)",
    severity=Severity.MEDIUM,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        With ACLs enabled, an object written by another principal can be owned by it and readable through ACLs the
        bucket policy does not show. BucketOwnerEnforced makes the customer own every record and access depend on
        policies alone.
    """,
    remediation="""aws s3api put-bucket-ownership-controls --bucket BUCKET
        --ownership-controls '{"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}'""",
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"),
    permissions=perms.OWNERSHIP,
)
def test_aws_bucket_ownership_enforced(chain_view: ChainView) -> Finding:
    ownership = chain_view.bucket().ownership.require()
    if ownership != "BucketOwnerEnforced":
        return Finding.failed(f"The bucket's object ownership is {ownership or 'not set'}, not BucketOwnerEnforced, "
                              "so ACLs still decide who owns and reads objects.")
    return Finding.passed("Object ownership is BucketOwnerEnforced: ACLs are disabled.")


@check(
    title="The bucket's default encryption is SSE-KMS",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        SSE-KMS with a customer-managed key puts a second, auditable policy (the key policy) between the records and
        anyone who can read the bucket, and every use of the key is logged in CloudTrail.
    """,
    remediation="""aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration
        '{"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "KEY_ARN"},
        "BucketKeyEnabled": true}]}'""",
    controls=("21CFR11.10(c)", "21CFR11.30", "EUAnnex11-7.1"),
    permissions=perms.ENCRYPTION,
)
def test_aws_bucket_default_encryption_is_sse_kms(chain_view: ChainView) -> Finding:
    kit = EvidenceKit(chain_view)
    encryption = chain_view.bucket().encryption.require()
    if encryption is None:
        return Finding.failed("The bucket has no default encryption configuration.")
    evidence = (kit.note("Default encryption", encryption.to_json(), "s3:GetBucketEncryption"),)
    if encryption.algorithm not in KMS_ALGORITHMS:
        return Finding.failed(f"The bucket's default encryption is {encryption.algorithm}, not SSE-KMS, so no key "
                              "policy limits who can read the records.", evidence=evidence)
    which = encryption.kms_key_id or "the AWS-managed aws/s3 key"
    return Finding.passed(f"The bucket encrypts new objects with {encryption.algorithm} using {which}.",
                          evidence=evidence)


@check(
    title="Versioning is enabled on the bucket",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="Versioning keeps every version of a record, so an overwrite cannot destroy the original; Object Lock "
              "requires it.",
    remediation="aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled",
    controls=("21CFR11.10(a)", "21CFR11.10(c)", "EUAnnex11-7.2", "EUAnnex11-17"),
    permissions=perms.VERSIONING,
)
def test_aws_bucket_versioning_enabled(chain_view: ChainView) -> Finding:
    versioning = chain_view.bucket().versioning.require()
    status = versioning.status if versioning else None
    if status != "Enabled":
        return Finding.failed(f"Bucket versioning is {status or 'never enabled'}, so an overwrite replaces the "
                              "record.")
    return Finding.passed("Bucket versioning is Enabled.")


@check(
    title="Object Lock is on with COMPLIANCE-mode default retention of at least the required period",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        21 CFR 11.10(c) requires records to be protected throughout their retention period. COMPLIANCE mode cannot be
        shortened or removed by anyone, the root user included. GOVERNANCE mode is weaker: any principal allowed
        s3:BypassGovernanceRetention can delete or shorten it, so it is reported as a failure (an SCP that denies the
        bypass narrows but does not close that gap, since SCPs do not bind the management account).
    """,
    remediation="""aws s3api put-object-lock-configuration --bucket BUCKET --object-lock-configuration
        '{"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": DAYS}}}'""",
    controls=("21CFR11.10(c)", "21CFR11.10(a)", "EUAnnex11-7.1", "EUAnnex11-17"),
    permissions=perms.OBJECT_LOCK,
)
def test_aws_bucket_object_lock_compliance_retention(chain_view: ChainView) -> Finding:
    kit = EvidenceKit(chain_view)
    chain = chain_view.chain
    lock = chain_view.bucket().object_lock.require()
    required = chain.aws.min_retention_days
    if lock is None or not lock.enabled:
        return Finding.failed("Object Lock is not enabled on the bucket, so records can be deleted before their "
                              "retention period ends.")
    evidence = (kit.note("Object Lock configuration", lock.to_json(), "s3:GetObjectLockConfiguration"),)
    days = lock.retention_days
    if lock.mode is None or days is None:
        return Finding.failed("Object Lock is enabled but has no default retention, so new exports are not locked.",
                              evidence=evidence)
    if lock.mode != "COMPLIANCE":
        return Finding.failed(f"Object Lock default retention is {lock.mode} mode ({days} days), which principals "
                              "with s3:BypassGovernanceRetention can shorten or remove; use COMPLIANCE.",
                              evidence=evidence)
    if days < required:
        return Finding.failed(f"Object Lock default retention is {days} days, shorter than the required {required} "
                              "days (aws.min_retention_days).", evidence=evidence)
    return Finding.passed(f"Object Lock locks every new export in COMPLIANCE mode for {days} days "
                          f"(required: {required}).", evidence=evidence)


@check(
    title="Server access logging records every request to the bucket and really delivers",
    severity=Severity.MEDIUM,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale=f"""
        21 CFR 11.10(e) asks for a secure, time-stamped audit trail. S3 server access logs record every write and
        read of the records with the requester, but only when S3 can deliver them ({LOG_DELIVERY_DOC}): the target
        bucket must exist and belong to the customer account (else the trail is lost, or kept by someone else), its
        policy must let logging.s3.amazonaws.com put objects under the target prefix, pinned with aws:SourceArn
        and/or aws:SourceAccount to this bucket and account (else any account's logs can be written into the audit
        trail), or, with ACLs enabled, its ACL must grant the Log Delivery group WRITE; and it must not be the audit
        bucket itself. The delivery is evaluated with the policy engine for the request the logging service makes.
        CloudTrail S3 data events would also serve but are not read by this suite yet.
    """,
    remediation="""aws s3api put-bucket-logging --bucket BUCKET --bucket-logging-status
        '{"LoggingEnabled": {"TargetBucket": "LOG_BUCKET", "TargetPrefix": "s3-access/BUCKET/"}}' with LOG_BUCKET in the
        same account and Region, and in LOG_BUCKET's policy: {"Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::LOG_BUCKET/s3-access/BUCKET/*", "Condition": {"ArnLike": {"aws:SourceArn":
        "arn:aws:s3:::BUCKET"}, "StringEquals": {"aws:SourceAccount": "ACCOUNT"}}}""",
    controls=("21CFR11.10(e)", "EUAnnex11-9"),
    permissions=perms.union(perms.LOG_TARGET, perms.RCPS),
)
def test_aws_bucket_access_logging_enabled(chain_view: ChainView) -> Finding:
    kit = EvidenceKit(chain_view)
    chain = chain_view.chain
    bucket = chain.aws.bucket
    logging = chain_view.bucket().logging.require()
    if logging is None or not logging.target_bucket:
        return Finding.failed("Server access logging is off for the bucket, so no audit trail shows who wrote or "
                              "read the records (CloudTrail data events are not verified by this suite).")
    if logging.target_bucket == bucket:
        return Finding.failed("The bucket logs into itself, which creates endless log objects; use a separate "
                              "log bucket.")
    where = f"s3://{logging.target_bucket}/{logging.target_prefix}"
    evidence = [kit.note("Logging", logging.to_json(), "s3:GetBucketLogging")]
    target = chain_view.bucket().log_target.require_present(f"the log target bucket {logging.target_bucket}")
    if not target.owned.require():
        if not target.exists.require():
            return Finding.failed(f"Server access logs go to {where}, but the bucket {logging.target_bucket} does not "
                                  "exist, so S3 delivers no logs.", evidence=tuple(evidence))
        return Finding.failed(
            f"Server access logs go to {where}, a bucket that exists but is not one of account "
            f"{chain.aws.account}'s own buckets: the audit trail is held (and can be altered) outside the customer "
            "account, and S3 delivers logs only into a bucket of the source bucket's account.",
            evidence=tuple(evidence))
    evaluator = ChainEvaluator(chain_view, positive=True)  # proves delivery is allowed: unreadable RCPs are ERROR
    region = target.region.require()
    if region != chain.aws.region:
        return Finding.failed(f"Server access logs go to {where}, a bucket in {region}, not {chain.aws.region}: S3 "
                              "delivers logs only into a bucket in the source bucket's Region.",
                              evidence=tuple(evidence))
    delivery = judge_delivery(target, logging.target_prefix, source_bucket=bucket, account=chain.aws.account,
                              decide=lambda request, policy: evaluator.decide(request, resource_policy=policy))
    target_policy = target.policy.value
    evidence += [kit.note("Log target bucket policy", target_policy, "s3:GetBucketPolicy"),
                 kit.note("Log target ownership and ACL", {"ownership": target.ownership.value,
                          "acl": [g.to_json() for g in target.acl.value or ()]}, "s3:GetBucketOwnershipControls"),
                 kit.decision(f"{LOGGING_SERVICE} puts a log object for {bucket}", delivery.intended)]
    if not delivery.delivers:
        acl = (" and its ACL grants the Log Delivery group no WRITE" if delivery.acls_enabled
               else " (ACLs are disabled, so only the policy can grant it)")
        return Finding.failed(kit.text(
            f"The log target bucket's policy does not let {LOGGING_SERVICE} put {delivery.intended.request.resource}"
            f"{acl}: {cause(delivery.intended)}; S3 delivers no access logs."),
            evidence=tuple(evidence))
    if delivery.allowed_by_policy and delivery.foreign_sources_allowed:
        evidence.append(kit.decision(f"{LOGGING_SERVICE} puts a log object for another account's bucket",
                                     delivery.foreign))
        return Finding.failed(
            f"The log target bucket's policy lets {LOGGING_SERVICE} write for any source bucket: no aws:SourceArn "
            f"or aws:SourceAccount condition pins it to {bucket} or account {chain.aws.account}, so another "
            "account's logs can be delivered into the audit trail.", evidence=tuple(evidence))
    how = ("its policy lets logging.s3.amazonaws.com write for this bucket only" if delivery.allowed_by_policy
           else "its ACL grants the Log Delivery group WRITE (ACLs are enabled)")
    return Finding.passed(f"Server access logs go to {where}, a bucket of the customer account; {how}.",
                          evidence=tuple(evidence))
