"""Generate a moto deployment and chain config with many chains across many accounts.

    python benchmarks/scale_fixture.py --chains 200 --accounts 20 --out /tmp/scale

writes /tmp/scale/deployment.json and /tmp/scale/chains.toml. What a customer with dozens of accounts in an
AWS Organization looks like:

* one organization: four regulated OUs under the root, SCPs at the root (deny leaving, deny root-user use,
  protect the account-level Block Public Access) and at the OUs (protect Object Lock, bucket policies, logging
  and keys; a region guard on half the OUs), plus the AWS-managed FullAWSAccess at every level;
* several vendors (Qualio, Veeva, MasterControl, each from its own AWS account, with its own SSO tag key);
  one export role per product line;
* per account: account-level Block Public Access and a server-access-log bucket;
* per chain: an export role (trust with ExternalId + TagSession, an inline write policy, a customer-managed KMS
  policy, a permissions boundary), a KMS key, an Object-Lock bucket with SSE-KMS, logging, and a bucket policy
  (deny plain HTTP, deny other-account writers, deny uploads with the wrong encryption header, deny deletes).

Every chain passes every AWS check of the moto target (`--chain ... --deployment ...`); `--audit-role NAME` and
`--organizations-role ARN` add the live-mode keys (aws.audit_role_arn per chain account) for runs against a
moto server.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MANAGEMENT = "222233334444"
PAB = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
VENDORS = (  # name, principal, SSO session tag key, prefix
    ("Qualio", "arn:aws:iam::999988887777:role/ExportService", "qualio-user", "qualio/"),
    ("Veeva", "arn:aws:iam::888877776666:role/VaultExport", "veeva-user", "veeva/"),
    ("MasterControl", "arn:aws:iam::777766665555:role/mc-export", "mc-user", "mastercontrol/"),
)
ADMIN_ROLE = "arn:aws:iam::*:role/PlatformAdmin"


def account_id(i: int) -> str:
    return f"{300000000000 + i * 1111:012d}"


def vendor_of(i: int) -> tuple[str, str, str, str]:
    return VENDORS[i % len(VENDORS)]


def log_bucket(account: str) -> dict[str, Any]:
    name = f"access-logs-{account}"
    return {"name": name, "ownership": "BucketOwnerEnforced", "public_access_block": PAB,
            "encryption": {"algorithm": "AES256"},
            "policy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                 "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}}


def chain_parts(i: int, account: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    _, vendor, tag_key, prefix = vendor_of(i)
    role = f"ExportRole{i:03d}"
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    bucket = f"audit-reports-{i:03d}-{account}"
    alias = f"audit-{i:03d}"
    key = {"alias": alias, "description": f"SSE-KMS key for {bucket}", "policy": {
        "Version": "2012-10-17", "Statement": [
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowExportRole", "Effect": "Allow", "Principal": {"AWS": role_arn},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}]}}
    kms_statement = {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                     "Resource": f"{{{{kms:{alias}}}}}"}
    put_statement = {"Sid": "PutExportsUnderPrefix", "Effect": "Allow", "Action": "s3:PutObject",
                     "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"}
    role_doc = {
        "name": role, "path": "/", "max_session_duration": 3600,
        "tags": {"purpose": "eqms-audit-export", "vendor": vendor_of(i)[0].lower(), "product-line": f"pl-{i:03d}"},
        "trust_policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "VendorAssumesWithExternalId", "Effect": "Allow", "Principal": {"AWS": vendor},
             "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"sts:ExternalId": "{{env:EXPORT_EXTERNAL_ID}}"}}},
            {"Sid": "VendorPassesSsoSessionTags", "Effect": "Allow", "Principal": {"AWS": vendor},
             "Action": "sts:TagSession", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [tag_key]}}}]},
        "inline_policies": {"WriteAuditExports": {"Version": "2012-10-17", "Statement": [put_statement]}},
        "managed_policies": [{"name": f"{role}-UseExportKey",
                              "document": {"Version": "2012-10-17", "Statement": [kms_statement]}}],
        "permissions_boundary": {"Version": "2012-10-17", "Statement": [
            {**put_statement, "Sid": "BoundaryExportWrites"}, {**kms_statement, "Sid": "BoundaryExportKey"}]},
    }
    bucket_doc = {
        "name": bucket, "ownership": "BucketOwnerEnforced", "public_access_block": PAB,
        "encryption": {"algorithm": "aws:kms", "kms_key": f"{{{{kms:{alias}}}}}", "bucket_key": True},
        "versioning": "Enabled", "object_lock": {"mode": "COMPLIANCE", "days": 2555},
        "logging": {"target_bucket": f"access-logs-{account}", "target_prefix": f"s3-access/{bucket}/"},
        "objects": [{"key": f"{prefix}2026/11/27/audit-trail-export.pdf", "body": "%PDF-1.7 export"},
                    {"key": f"{prefix}2026/11/28/audit-trail-export.pdf", "body": "%PDF-1.7 export"}],
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "DenyOtherAccountWriters", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"StringNotEquals": {"aws:PrincipalAccount": account}}},
            {"Sid": "DenyWrongEncryptionHeader", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                           "Null": {"s3:x-amz-server-side-encryption": "false"}}},
            {"Sid": "DenyRecordDeletion", "Effect": "Deny", "Principal": "*",
             "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration"],
             "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]},
    }
    return key, role_doc, bucket_doc


def scps() -> dict[str, Any]:
    return {
        "DenyLeaveOrg": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyLeavingOrganization", "Effect": "Deny", "Action": "organizations:LeaveOrganization",
             "Resource": "*"}]},
        "DenyRootUser": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyRootUser", "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]},
        "RegionGuard": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyOutsideApprovedRegions", "Effect": "Deny",
             "NotAction": ["iam:*", "sts:*", "organizations:*", "s3:*", "kms:*", "cloudfront:*", "support:*"],
             "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]},
        "ProtectAuditRecords": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyObjectLockTampering", "Effect": "Deny",
             "Action": ["s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention", "s3:DeleteBucket"],
             "Resource": "arn:aws:s3:::audit-reports-*"},
            {"Sid": "DenyAuditTrailTampering", "Effect": "Deny",
             "Action": ["s3:PutBucketLogging", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                        "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"],
             "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": ADMIN_ROLE}}}]},
        "ProtectAccountPublicAccessBlock": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyPublicAccessBlockChanges", "Effect": "Deny", "Action": "s3:PutAccountPublicAccessBlock",
             "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": ADMIN_ROLE}}}]},
    }


def chain_toml(i: int, account: str, role: str, bucket: str, *, audit_role: str | None,
               organizations_role: str | None) -> str:
    name, vendor, tag_key, prefix = vendor_of(i)
    live = ""
    if audit_role:
        live += f'audit_role_arn = "arn:aws:iam::{account}:role/{audit_role}"\n'
    if organizations_role:
        live += f'organizations_role_arn = "{organizations_role.format(i=i)}"\n'
    return f"""[[chains]]
id = "chain-{i:03d}"
[chains.vendor]
name = "{name}"
principal = "{vendor}"
external_id_env = "EXPORT_EXTERNAL_ID"
configured_role_arn = "arn:aws:iam::{account}:role/{role}"
session_tags = {{ "{tag_key}" = "qa.lead@example.com" }}
[chains.aws]
role_arn = "arn:aws:iam::{account}:role/{role}"
bucket = "{bucket}"
prefix = "{prefix}"
region = "us-east-1"
min_retention_days = 2555
max_export_age_hours = 26
{live}"""


def generate(chains: int, accounts: int, *, audit_role: str | None = None,
             organizations_role: str | None = None) -> tuple[dict[str, Any], str]:
    accounts = max(1, min(accounts, chains))
    account_ids = [account_id(i) for i in range(accounts)]
    body: dict[str, Any] = {vendor.split(":")[4]: {"roles": []} for _, vendor, _, _ in VENDORS}
    for acct in account_ids:
        body[acct] = {"public_access_block": PAB, "kms_keys": [], "roles": [], "buckets": [log_bucket(acct)]}
    toml = []
    for i in range(chains):
        acct = account_ids[i % accounts]
        key, role, bucket = chain_parts(i, acct)
        body[acct]["kms_keys"].append(key)
        body[acct]["roles"].append(role)
        body[acct]["buckets"].append(bucket)
        toml.append(chain_toml(i, acct, role["name"], bucket["name"], audit_role=audit_role,
                               organizations_role=organizations_role))
    ous = [{"name": f"Regulated-{n}", "scps": ["ProtectAuditRecords"] + (["RegionGuard"] if n % 2 else []),
            "accounts": account_ids[n::4]} for n in range(4)]
    deployment = {"description": f"scale benchmark: {chains} chains across {accounts} accounts",
                  "aws": {"organization": {"management_account": MANAGEMENT,
                                           "root_scps": ["DenyLeaveOrg", "DenyRootUser",
                                                         "ProtectAccountPublicAccessBlock"],
                                           "ous": ous, "scps": scps()},
                          "accounts": body}}
    return deployment, "\n".join(toml)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--audit-role", metavar="NAME", default=None,
                        help="live mode: aws.audit_role_arn = arn:aws:iam::<chain account>:role/NAME")
    parser.add_argument("--organizations-role", metavar="ARN", default=None,
                        help="live mode: aws.organizations_role_arn for every chain ({i} = the chain's number)")
    args = parser.parse_args()
    deployment, toml = generate(args.chains, args.accounts, audit_role=args.audit_role,
                                organizations_role=args.organizations_role)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "deployment.json").write_text(json.dumps(deployment, indent=1))
    (args.out / "chains.toml").write_text(toml)
    print(args.out)


if __name__ == "__main__":
    main()
