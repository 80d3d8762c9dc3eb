"""The read permissions each kind of chain check needs (they generate the least-privilege read policy).

Names are IAM actions, not API names: GetBucketEncryption is authorised as s3:GetEncryptionConfiguration,
GetObjectLockConfiguration as s3:GetBucketObjectLockConfiguration, GetPublicAccessBlock as
s3:GetBucketPublicAccessBlock, ListObjectsV2 as s3:ListBucket.
"""

from __future__ import annotations

ROLE = ("iam:GetRole",)
ROLE_POLICIES = ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                 "iam:GetPolicy", "iam:GetPolicyVersion")
SCPS = ("organizations:DescribeOrganization", "organizations:ListParents", "organizations:DescribeOrganizationalUnit",
        "organizations:ListPoliciesForTarget", "organizations:DescribePolicy")
BUCKET = ("s3:GetBucketLocation",)
BUCKET_POLICY = (*BUCKET, "s3:GetBucketPolicy")
ENCRYPTION = (*BUCKET, "s3:GetEncryptionConfiguration")
KEY = (*ENCRYPTION, "kms:DescribeKey", "kms:GetKeyPolicy")
PUBLIC_ACCESS_BLOCK = (*BUCKET, "s3:GetBucketPublicAccessBlock")
ACCOUNT_PUBLIC_ACCESS_BLOCK = ("s3:GetAccountPublicAccessBlock",)
OWNERSHIP = (*BUCKET, "s3:GetBucketOwnershipControls")
VERSIONING = (*BUCKET, "s3:GetBucketVersioning")
OBJECT_LOCK = (*BUCKET, "s3:GetBucketObjectLockConfiguration")
LOGGING = (*BUCKET, "s3:GetBucketLogging")
LISTING = (*BUCKET, "s3:ListBucket")


def union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for group in groups for p in group))
