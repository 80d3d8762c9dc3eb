"""Helpers for the AWS chain check tests: snapshot and deployment mutators, running a check like the plugin.

Most tests call check functions directly on a mutated copy of the reference snapshot; a few provision a mutated
deployment into moto, and a few run the whole suite end to end with pytester.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from compliance.chain.proposed import Proposal
from compliance.chain.view import ChainView
from compliance.config import Chain
from compliance.errors import ComplianceError, PolicyError, ReadError
from compliance.model import Finding
from compliance.targets.aws_moto import MotoAwsTarget
from compliance.targets.deployment import Deployment, validate
from compliance.targets.snapshot import AwsSnapshot, NamedPolicy, Read, ReadFailure

EXTERNAL_ID_ENV = "EXPORT_EXTERNAL_ID"
os.environ.setdefault(EXTERNAL_ID_ENV, "test-Ext3rnal-Id-7f3a9c")

VENDOR = "arn:aws:iam::999988887777:role/ExportService"
ROLE = "arn:aws:iam::111122223333:role/QualioExportRole"
BUCKET = "company-audit-reports"


def secret() -> str:
    return os.environ[EXTERNAL_ID_ENV]


def run_check(fn: Callable[..., Finding], *args: Any) -> Finding:
    """Call a check the way the plugin does: a read or policy error becomes ERROR."""
    try:
        return fn(*args)
    except ReadError as exc:
        return Finding.error(f"Could not read {exc.api} ({exc.code}): {exc.message}")
    except (PolicyError, ComplianceError) as exc:
        return Finding.error(str(exc))




def provision(deployment: Deployment, chain: Chain) -> AwsSnapshot:
    target = MotoAwsTarget(deployment)
    target.start()
    try:
        return target.snapshot(chain)
    finally:
        target.stop()


def deployment_from(data: Mapping[str, Any]) -> Deployment:
    return validate("mutated-deployment.json", copy.deepcopy(dict(data)))


def write_deployment(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def account(data: dict[str, Any], account_id: str = "111122223333") -> dict[str, Any]:
    accounts: dict[str, Any] = data["aws"]["accounts"]
    return dict(accounts[account_id])


def customer(data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = data["aws"]["accounts"]["111122223333"]
    return body


def audit_bucket(data: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in customer(data)["buckets"] if b["name"] == BUCKET)


def export_role(data: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in customer(data)["roles"] if r["name"] == "QualioExportRole")


# -- snapshot mutators ---------------------------------------------------------------------------

def with_role(snapshot: AwsSnapshot, **changes: Any) -> AwsSnapshot:
    role = snapshot.role.value
    assert role is not None
    return replace(snapshot, role=Read(snapshot.role.api, replace(role, **changes)))


def with_trust(snapshot: AwsSnapshot, statements: list[dict[str, Any]]) -> AwsSnapshot:
    return with_role(snapshot, trust_policy={"Version": "2012-10-17", "Statement": statements})


def with_inline(snapshot: AwsSnapshot, policies: Mapping[str, list[dict[str, Any]]]) -> AwsSnapshot:
    named = tuple(NamedPolicy(name, None, {"Version": "2012-10-17", "Statement": statements})
                  for name, statements in policies.items())
    return with_role(snapshot, inline_policies=Read("iam:ListRolePolicies", named))


def with_bucket(snapshot: AwsSnapshot, **changes: Any) -> AwsSnapshot:
    bucket = snapshot.bucket.value
    assert bucket is not None
    return replace(snapshot, bucket=Read(snapshot.bucket.api, replace(bucket, **changes)))


def with_bucket_policy(snapshot: AwsSnapshot, statements: list[dict[str, Any]] | None) -> AwsSnapshot:
    if statements is None:
        return with_bucket(snapshot, policy=Read("s3:GetBucketPolicy", None, absent_code="NoSuchBucketPolicy"))
    return with_bucket(snapshot, policy=Read("s3:GetBucketPolicy", {"Version": "2012-10-17",
                                                                    "Statement": statements}))


def with_key_policy(snapshot: AwsSnapshot, statements: list[dict[str, Any]]) -> AwsSnapshot:
    bucket = snapshot.bucket.value
    assert bucket is not None and bucket.kms_key.value is not None
    key = replace(bucket.kms_key.value, policy={"Version": "2012-10-17", "Statement": statements})
    return with_bucket(snapshot, kms_key=Read("kms:GetKeyPolicy", key))


def without_restrict_public_buckets(snapshot: AwsSnapshot) -> AwsSnapshot:
    """Block Public Access's RestrictPublicBuckets switched off at bucket and account level (it would keep other
    accounts out of a public bucket policy, which tests of policy holes do not want)."""
    bucket = snapshot.bucket.value
    account = snapshot.account_public_access_block.value
    assert bucket is not None and bucket.public_access_block.value is not None and account is not None
    bucket = replace(bucket, public_access_block=Read("s3:GetPublicAccessBlock", replace(
        bucket.public_access_block.value, restrict_public_buckets=False)))
    return replace(snapshot, bucket=Read(snapshot.bucket.api, bucket), account_public_access_block=Read(
        "s3:GetAccountPublicAccessBlock", replace(account, restrict_public_buckets=False)))


def unreadable(api: str, code: str = "AccessDenied") -> Read[Any]:
    return Read(api, failure=ReadFailure(api, code, "not authorized (test)"))


def reference_trust() -> list[dict[str, Any]]:
    return [
        {"Sid": "VendorAssumesWithExternalId", "Effect": "Allow", "Principal": {"AWS": VENDOR},
         "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": secret()}}},
        {"Sid": "VendorPassesSsoSessionTags", "Effect": "Allow", "Principal": {"AWS": VENDOR},
         "Action": "sts:TagSession", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["qualio-user"]}}},
    ]


def reference_bucket_statements() -> list[dict[str, Any]]:
    return [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]


def view(chain: Chain, snapshot: AwsSnapshot, proposals: tuple[Proposal, ...] = ()) -> ChainView:
    return ChainView(chain, snapshot, proposals)


def with_vendor(chain: Chain, **changes: Any) -> Chain:
    return replace(chain, vendor=replace(chain.vendor, **changes))
