"""`python -m compliance permissions`: the least-privilege read policy the live AWS target needs.

Built from the permissions every registered check declares, never from a hand-kept list.

`READ_ACTIONS` (kept in compliance/permission_vocabulary.py, which validates every check's declaration against it)
ties the two sides together: for every AWS API call the reader can make (as the `CallLog`
records it, `service:Operation`), the IAM action AWS authorises it with. API names and IAM actions differ for
several S3 reads (GetBucketEncryption is authorised as s3:GetEncryptionConfiguration, ListObjectsV2 as
s3:ListBucket, S3 Control's GetPublicAccessBlock as s3:GetAccountPublicAccessBlock). tests/scale checks that
every call the reader makes is in this table, that every action in it is in the generated policy, and, against
an IAM-enforcing moto server, that the policy is sufficient and that each action is needed by the checks that
declare it.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any

from compliance.checks import load_all_checks
from compliance.model import Provider

__all__ = ["SNAPSHOT_ONLY_ACTIONS", "aws_actions", "declared_by", "main", "read_policy"]

# Reads the snapshot keeps as evidence (shown in the report, compared by --baseline drift) that no check decides
# on. Without them a live run still gives every check's result, but the snapshot records the AccessDenied.
SNAPSHOT_ONLY_ACTIONS: dict[str, str] = {
    "s3:GetReplicationConfiguration": "bucket replication rules (where copies of the records go): evidence and drift",
    # The access points' policy status (IsPublic) is evidence only; their policies are decided by the records proofs.
    **dict.fromkeys(
        ("s3:GetAccessPointPolicyStatus", "s3:GetMultiRegionAccessPointPolicyStatus",
         "s3:GetAccessPointPolicyStatusForObjectLambda"),
        "whether S3 calls an access point's policy public: evidence and drift"),
}


def aws_actions(*, snapshot_only: bool = True) -> dict[str, list[str]]:
    """Every AWS IAM action a check declares, mapped to the checks that need it (plus the snapshot-only reads)."""
    needed: dict[str, list[str]] = defaultdict(list)
    for check_id, meta in sorted(load_all_checks().items()):
        if meta.provider is not Provider.AWS:
            continue
        for action in meta.permissions:  # catalogued IAM actions: `@check` refuses anything else
            needed[action].append(check_id)
    if snapshot_only:
        for action in SNAPSHOT_ONLY_ACTIONS:
            needed.setdefault(action, [])
    return dict(sorted(needed.items()))


def declared_by(action: str) -> list[str]:
    """The AWS checks that declare `action`."""
    return aws_actions(snapshot_only=False).get(action, [])


def read_policy(*, organizations_role_arn: str | None = None) -> dict[str, Any]:
    """The identity policy for the audit role. With `organizations_role_arn`, it may also assume that role
    (the chain config's `aws.organizations_role_arn`, which reads the SCPs from the management account)."""
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in aws_actions():
        by_service[action.split(":")[0]].append(action)
    statements: list[dict[str, Any]] = [
        {"Sid": f"ExportChainComplianceRead{service.title().replace('-', '')}", "Effect": "Allow",
         "Action": sorted(actions), "Resource": "*"}
        for service, actions in sorted(by_service.items())
    ]
    if organizations_role_arn:
        statements.append({"Sid": "ExportChainComplianceAssumeOrganizationsReader", "Effect": "Allow",
                           "Action": "sts:AssumeRole", "Resource": organizations_role_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance permissions",
                                     description="Print the IAM read policy the live target needs.")
    parser.add_argument("--by-check", action="store_true", help="list each action with the checks that need it")
    parser.add_argument("--organizations-role-arn", metavar="ARN", default=None,
                        help="also allow sts:AssumeRole into this role (the chains' aws.organizations_role_arn)")
    args = parser.parse_args(argv)
    if args.by_check:
        for action, checks in aws_actions().items():
            users = ", ".join(checks) if checks else f"(no check; {SNAPSHOT_ONLY_ACTIONS[action]})"
            print(f"{action}: {users}")
        return 0
    print(json.dumps(read_policy(organizations_role_arn=args.organizations_role_arn), indent=2))
    return 0
