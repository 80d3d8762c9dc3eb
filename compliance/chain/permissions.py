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
KEY_WITH_GRANTS = (*KEY, "kms:ListGrants")
"""The key policy as it decides: with the key's grants (`ChainView.key_policy_with_grants`)."""
PUBLIC_ACCESS_BLOCK = (*BUCKET, "s3:GetBucketPublicAccessBlock")
ACCOUNT_PUBLIC_ACCESS_BLOCK = ("s3:GetAccountPublicAccessBlock",)
OWNERSHIP = (*BUCKET, "s3:GetBucketOwnershipControls")
VERSIONING = (*BUCKET, "s3:GetBucketVersioning")
OBJECT_LOCK = (*BUCKET, "s3:GetBucketObjectLockConfiguration")
LOGGING = (*BUCKET, "s3:GetBucketLogging")
# the log target bucket: ListBuckets (is it the account's own), its policy, ownership controls, and its ACL while
# ACLs are enabled. HeadBucket (s3:ListBucket) is asked only for a target the account does not own, and answers
# 404 for a missing bucket whatever the caller may do, so it is not required.
LOG_TARGET = (*LOGGING, "s3:ListAllMyBuckets", "s3:GetBucketPolicy", "s3:GetBucketOwnershipControls",
              "s3:GetBucketAcl")
LISTING = (*BUCKET, "s3:ListBucket")
RCPS = SCPS
"""RCPs are read along the same path with the same calls (Filter=RESOURCE_CONTROL_POLICY)."""
ORG_CONTEXT = ("organizations:DescribeOrganization", "organizations:ListParents")
"""aws:PrincipalOrgID/OrgPaths and aws:ResourceOrgID/OrgPaths: the organization and the account's OU path."""
ACCESS_POINTS = ("s3:ListAccessPoints", "s3:GetAccessPointPolicy", "s3:ListMultiRegionAccessPoints",
                 "s3:GetMultiRegionAccessPointPolicy", "s3:ListAccessPointsForObjectLambda",
                 "s3:GetAccessPointConfigurationForObjectLambda", "s3:GetAccessPointPolicyForObjectLambda")
"""Every access point that reaches the bucket (compliance/targets/aws_access_points.py)."""


def union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for group in groups for p in group))
