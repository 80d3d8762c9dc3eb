"""Server access log delivery: does S3 really deliver the audit bucket's access logs?

S3 User Guide, "Enabling Amazon S3 server access logging"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html):

* The destination bucket "must be in the same AWS Region and AWS account as the source bucket".
* "Amazon S3 uses a special log delivery account to write server access logs. These writes are subject to the
  usual access control restrictions": grant the logging service principal `logging.s3.amazonaws.com`
  s3:PutObject on the destination (under the target prefix) in the destination bucket's policy, with the
  `aws:SourceArn` (the source bucket's ARN) and/or `aws:SourceAccount` (the source bucket's account) conditions
  ("Permissions for log delivery": they keep the service from writing for any other account's bucket, the
  confused-deputy problem). With ACLs enabled on the destination bucket, a WRITE grant to the Log Delivery group
  (http://acs.amazonaws.com/groups/s3/LogDelivery) works too; under the bucket owner enforced setting ACL grants
  have no effect.
* Logging into the source bucket itself "creates an infinite loop of logs".

The delivery is judged with the policy engine for the request the logging service makes, never by string
matching: a Deny the write falls under (an SSE-KMS header it does not send, a missing condition key), a prefix
the grant does not cover, or a condition pinned to another bucket all show up in the evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from compliance.chain.requests import principal_caller
from compliance.iam import Decision, Evaluation, PolicyDocument, PolicyKind, Request, evaluate, parse_policy
from compliance.targets.snapshot import LOG_DELIVERY_GROUP, AclGrant, LogTarget

LOGGING_SERVICE = "logging.s3.amazonaws.com"
LOG_DELIVERY_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html"
SAMPLE_LOG_OBJECT = "2026-11-28-12-00-00-0123456789ABCDEF"
"""A log object name in the default (simple) key format: [TargetPrefix]YYYY-mm-DD-HH-MM-SS-UniqueString."""
FOREIGN_SOURCE_ACCOUNT = "444455556666"
FOREIGN_SOURCE_BUCKET = "someone-elses-bucket"
ACL_DISABLED = "BucketOwnerEnforced"


def delivery_request(target: str, prefix: str, *, source_bucket: str, source_account: str,
                     target_account: str) -> Request:
    """s3:PutObject of one log object by the logging service, for `source_bucket` in `source_account`."""
    caller = principal_caller(LOGGING_SERVICE, "S3 server access log delivery")
    now = datetime.now(UTC)
    context: dict[str, str | tuple[str, ...]] = {
        **caller.context, "aws:SecureTransport": "true", "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())), "aws:SourceArn": f"arn:aws:s3:::{source_bucket}",
        "aws:SourceAccount": source_account, "aws:ResourceAccount": target_account,
    }
    return Request(caller.arn, None, "s3:PutObject", f"arn:aws:s3:::{target}/{prefix}{SAMPLE_LOG_OBJECT}",
                   target_account, context)


@dataclass(frozen=True, slots=True)
class Delivery:
    """How the target bucket treats the audit bucket's log delivery, and another account's."""

    intended: Evaluation
    foreign: Evaluation
    acls_enabled: bool
    acl_grant: AclGrant | None
    """The WRITE (or FULL_CONTROL) grant to the Log Delivery group, when ACLs are enabled and there is one."""

    @property
    def denied_by_policy(self) -> bool:
        return self.intended.decision is Decision.EXPLICIT_DENY

    @property
    def allowed_by_policy(self) -> bool:
        return self.intended.allowed()

    @property
    def allowed_by_acl(self) -> bool:
        return not self.denied_by_policy and self.acl_grant is not None

    @property
    def delivers(self) -> bool:
        return self.allowed_by_policy or self.allowed_by_acl

    @property
    def foreign_sources_allowed(self) -> bool:
        """The policy lets the service write logs of another account's bucket (no source condition pins it)."""
        return self.foreign.allowed()


Decide = Callable[[Request, PolicyDocument | None], Evaluation]
"""Decides a request against a resource policy (the chain's evaluator: organization keys filled, RCPs applied)."""


def plain_decide(request: Request, policy: PolicyDocument | None) -> Evaluation:
    return evaluate(request, resource_policy=policy)


def judge_delivery(target: LogTarget, prefix: str, *, source_bucket: str, account: str,
                   decide: Decide = plain_decide) -> Delivery:
    """Evaluate the log delivery into `target` (a bucket the account owns). Raises `ReadError` for an unreadable
    policy, ownership controls or (ACLs enabled) ACL, and `PolicyError` for a policy that does not parse.

    RCPs govern requests to the account's resources by AWS service principals too (hence the documented
    aws:PrincipalIsAWSService exemption in RCP data perimeters), so `decide` should apply them."""
    raw = target.policy.require()
    policy = parse_policy(raw, kind=PolicyKind.RESOURCE, name="log target bucket policy") if raw is not None else None
    ownership = target.ownership.require()
    acls_enabled = ownership != ACL_DISABLED
    grant = None
    if acls_enabled:
        grant = next((g for g in target.acl.require() or () if g.grantee == LOG_DELIVERY_GROUP
                      and g.permission in ("WRITE", "FULL_CONTROL")), None)

    def judged(source_bucket: str, source_account: str) -> Evaluation:
        request = delivery_request(target.bucket, prefix, source_bucket=source_bucket,
                                   source_account=source_account, target_account=account)
        return decide(request, policy)

    return Delivery(judged(source_bucket, account), judged(FOREIGN_SOURCE_BUCKET, FOREIGN_SOURCE_ACCOUNT),
                    acls_enabled, grant)
