"""Generate a moto deployment and chain config with many chains across many accounts.

    python benchmarks/scale_fixture.py --chains 200 --accounts 20 --out /tmp/scale

writes /tmp/scale/deployment.json and /tmp/scale/chains.toml: one organization (4 OUs, SCPs at
root, OU and account level), and per chain a role, a KMS key, an Object-Lock bucket and a bucket policy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

VENDOR = "arn:aws:iam::999988887777:role/ExportService"
MANAGEMENT = "222233334444"
PAB = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def account_id(i: int) -> str:
    return f"{300000000000 + i * 1111:012d}"


def chain_parts(i: int, account: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    role = f"ExportRole{i:03d}"
    bucket = f"audit-reports-{i:03d}-{account}"
    alias = f"audit-{i:03d}"
    key = {"alias": alias, "policy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowExportRole", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/{role}"},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}]}}
    role_doc = {"name": role, "trust_policy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "VendorAssumesWithExternalId", "Effect": "Allow", "Principal": {"AWS": VENDOR},
         "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "{{env:EXPORT_EXTERNAL_ID}}"}}},
        {"Sid": "VendorPassesSsoSessionTags", "Effect": "Allow", "Principal": {"AWS": VENDOR},
         "Action": "sts:TagSession", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["qualio-user"]}}}]},
        "inline_policies": {"WriteAuditExports": {"Version": "2012-10-17", "Statement": [
            {"Sid": "PutExportsUnderPrefix", "Effect": "Allow", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/qualio/*"},
            {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
             "Resource": f"{{{{kms:{alias}}}}}"}]}}}
    bucket_doc = {"name": bucket, "ownership": "BucketOwnerEnforced", "public_access_block": PAB,
                  "encryption": {"algorithm": "aws:kms", "kms_key": f"{{{{kms:{alias}}}}}", "bucket_key": True},
                  "versioning": "Enabled", "object_lock": {"mode": "COMPLIANCE", "days": 2555},
                  "objects": [{"key": "qualio/2026/11/28/export.pdf", "body": "%PDF"}],
                  "policy": {"Version": "2012-10-17", "Statement": [
                      {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                      {"Sid": "DenyOtherWriters", "Effect": "Deny", "NotPrincipal": {"AWS": [
                          f"arn:aws:iam::{account}:role/{role}", f"arn:aws:iam::{account}:root"]},
                       "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"StringNotEquals": {"aws:PrincipalAccount": account}}}]}}
    return key, role_doc, bucket_doc


def scps() -> dict[str, Any]:
    return {
        "DenyLeaveOrg": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]},
        "RegionGuard": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*", "s3:*", "kms:*"], "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]},
        "ProtectAuditRecords": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention"],
             "Resource": "*"}]},
    }


def generate(chains: int, accounts: int) -> tuple[dict[str, Any], str]:
    account_ids = [account_id(i) for i in range(accounts)]
    body: dict[str, Any] = {"999988887777": {"roles": []}}
    for acct in account_ids:
        body[acct] = {"public_access_block": PAB, "kms_keys": [], "roles": [], "buckets": []}
    toml = []
    for i in range(chains):
        acct = account_ids[i % accounts]
        key, role, bucket = chain_parts(i, acct)
        body[acct]["kms_keys"].append(key)
        body[acct]["roles"].append(role)
        body[acct]["buckets"].append(bucket)
        toml.append(f"""[[chains]]
id = "chain-{i:03d}"
[chains.vendor]
name = "Qualio"
principal = "{VENDOR}"
external_id_env = "EXPORT_EXTERNAL_ID"
configured_role_arn = "arn:aws:iam::{acct}:role/{role['name']}"
session_tags = {{ "qualio-user" = "qa.lead@example.com" }}
[chains.aws]
role_arn = "arn:aws:iam::{acct}:role/{role['name']}"
bucket = "{bucket['name']}"
prefix = "qualio/"
region = "us-east-1"
min_retention_days = 2555
max_export_age_hours = 26
""")
    ous = [{"name": f"Regulated-{n}", "scps": ["ProtectAuditRecords"] + (["RegionGuard"] if n % 2 else []),
            "accounts": account_ids[n::4]} for n in range(4)]
    deployment = {"description": f"scale benchmark: {chains} chains across {accounts} accounts",
                  "aws": {"organization": {"management_account": MANAGEMENT, "root_scps": ["DenyLeaveOrg"],
                                           "ous": ous, "scps": scps()},
                          "accounts": body}}
    return deployment, "\n".join(toml)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    deployment, toml = generate(args.chains, min(args.accounts, args.chains))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "deployment.json").write_text(json.dumps(deployment, indent=1))
    (args.out / "chains.toml").write_text(toml)
    print(args.out)


if __name__ == "__main__":
    main()
