"""S3's own reading of "public", for the RestrictPublicBuckets setting of Block Public Access.

S3 User Guide, "Blocking public access to your Amazon S3 storage", The meaning of "public", and the
PublicAccessBlockConfiguration API reference: "Amazon S3 considers a bucket policy public unless at least one of
the following conditions is true: The policy limits access to a set of CIDRs using aws:SourceIp. The policy grants
permissions, not including any "bad actions," to one of the following: A fixed AWS principal, user, role, or
service principal; A fixed aws:SourceArn; A fixed aws:SourceVpc; A fixed aws:SourceVpce; A fixed aws:SourceOwner;
A fixed aws:SourceAccount; A fixed value of s3:x-amz-server-side-encryption-aws-kms-key-id; A fixed value of
aws:userid outside the pattern "AROLEID:*"." "Bad actions" are s3:Get*, s3:List*, s3:AbortMultipartUpload,
s3:Delete*, s3:Put* and s3:RestoreObject.

RestrictPublicBuckets "restricts access to buckets with public policies to only AWS service principals and
authorized users within this account ... public and cross-account access within any public bucket policy,
including non-public delegation to specific accounts, is blocked."

The reading here errs towards *not public* (a restriction not applied can only make more requests allowed, never
hide one): it also counts the organization and principal-account keys as fixed, and any aws:SourceIp condition.
"""

from __future__ import annotations

from compliance.iam import Effect, PolicyDocument, Statement

BAD_ACTIONS = ("s3:get*", "s3:list*", "s3:abortmultipartupload", "s3:delete*", "s3:put*", "s3:restoreobject")
FIXED_KEYS = frozenset({
    "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner", "aws:sourceaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid",
    # not in the list above, counted as fixed so that the restriction is never assumed where S3 might not apply it
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "aws:sourceorgid",
    "aws:sourceorgpaths", "s3:dataaccesspointarn", "s3:dataaccesspointaccount",
})
FIXED_OPERATORS = ("StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "StringLike", "ArnLike")


def _grants_bad_action(statement: Statement) -> bool:
    samples = ("s3:GetObject", "s3:ListBucket", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject",
               "s3:RestoreObject", "s3:PutBucketPolicy")
    return any(statement.matches_action(action) for action in samples)


def _fixed(statement: Statement) -> bool:
    for condition in statement.conditions:
        key = condition.key.lower()
        base = condition.operator.split(":", 1)[-1].removesuffix("IfExists")
        if key == "aws:sourceip" and base == "IpAddress":
            return True
        if key in FIXED_KEYS and base in FIXED_OPERATORS and condition.operator == base:
            if key == "aws:userid" and any(v.upper().startswith("ARO") and v.endswith(":*") for v in
                                           condition.values):
                continue
            if all("*" not in v and "?" not in v for v in condition.values):
                return True
    return False


def _public_principal(statement: Statement) -> bool:
    if statement.not_principal is not None:
        return True
    principal = statement.principal
    return principal is not None and principal.is_everyone


def is_public(policy: PolicyDocument | None) -> bool:
    """Does S3 consider this bucket (or access point) policy public?"""
    if policy is None:
        return False
    return any(s.effect is Effect.ALLOW and _public_principal(s) and _grants_bad_action(s) and not _fixed(s)
               for s in policy.statements)


def reached_under_restriction(policy: PolicyDocument | None, *, caller: str, caller_account: str | None,
                              owner: str) -> bool:
    """Whom a public bucket policy still reaches when RestrictPublicBuckets is on: the owner account's principals
    and the AWS service principals the policy names (a "*" grant reaches an unnamed service only as that service
    acting on its own, which S3 documents for no read or write of a customer's objects)."""
    if caller_account == owner:
        return True
    named = {value.lower() for s in (policy.statements if policy else ()) if s.principal is not None
             for value in s.principal.service}
    return caller.lower() in named
