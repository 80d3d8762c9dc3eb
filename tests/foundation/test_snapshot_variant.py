"""A deployment unlike the reference: role path, permissions boundary, managed policy (v2 default),
replication, Governance lock in years, AWS-managed KMS key, no public access blocks, no organization."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from compliance.config import Chain, parse_chain_config
from compliance.targets.aws_moto import MotoAwsTarget
from compliance.targets.deployment import validate
from compliance.targets.snapshot import AwsSnapshot, NamedPolicy, ObjectLock, Read

from .conftest import aws_only_chain, to_toml

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/exports/BoundedRole"
REPLICATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/s3-replication"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


BOUNDARY = _doc({"Sid": "Ceiling", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"})
MANAGED_V1 = _doc({"Sid": "V1", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})
MANAGED_V2 = _doc({"Sid": "V2", "Effect": "Allow", "Action": "s3:ListBucket",
                   "Resource": "arn:aws:s3:::variant-reports"})
REPLICATION = {"Role": REPLICATION_ROLE, "Rules": [{
    "ID": "to-replica", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": "exports/"},
    "DeleteMarkerReplication": {"Status": "Disabled"},
    "Destination": {"Bucket": "arn:aws:s3:::variant-replica", "StorageClass": "STANDARD"}}]}
OBJECT_KEYS = [f"exports/2026/11/{day:02d}/audit.pdf" for day in range(20, 27)]

DEPLOYMENT = {
    "description": "foundation test variant",
    "aws": {"accounts": {ACCOUNT: {
        "roles": [
            {"name": "BoundedRole", "path": "/exports/", "max_session_duration": 7200,
             "trust_policy": _doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                                   "Action": "sts:AssumeRole"}),
             "permissions_boundary": BOUNDARY,
             "managed_policies": [{"name": "ReadReports", "document": MANAGED_V1}],
             "inline_policies": {"B": _doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}),
                                 "A": _doc({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})}},
        ],
        "buckets": [
            {"name": "variant-replica", "versioning": "Enabled"},
            {"name": "variant-reports", "encryption": {"algorithm": "aws:kms"},
             "object_lock": {"mode": "GOVERNANCE", "years": 1}, "replication": REPLICATION,
             "objects": [{"key": k, "body": "x" * i} for i, k in enumerate(OBJECT_KEYS, 1)]
             + [{"key": "elsewhere/newer.pdf", "body": "outside the prefix"}]},
        ],
    }}},
}


def make_chain() -> Chain:
    data = aws_only_chain()
    data["vendor"]["configured_role_arn"] = ROLE_ARN
    data["aws"].update(role_arn=ROLE_ARN, bucket="variant-reports", prefix="exports/", min_retention_days=365)
    return parse_chain_config(to_toml(data), "variant.toml", require_secrets=False).chains[0]


@pytest.fixture(scope="module")
def target() -> Iterator[MotoAwsTarget]:
    t = MotoAwsTarget(validate("variant", DEPLOYMENT), env={})
    t.start()
    try:
        iam = t.client("iam", ACCOUNT)
        arn = f"arn:aws:iam::{ACCOUNT}:policy/ReadReports"
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(MANAGED_V2), SetAsDefault=True)
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
def snapshot(target: MotoAwsTarget) -> AwsSnapshot:
    return target.snapshot(make_chain())


def value(read: Read[Any], api: str) -> Any:
    assert read.api == api and read.failure is None and read.value is not None, read
    return read.value


def absent(read: Read[Any], api: str, code: str) -> None:
    assert read.api == api and read.absent and read.absent_code == code, read


def test_role_with_path_boundary_and_managed_policy_at_default_version(snapshot: AwsSnapshot) -> None:
    role = value(snapshot.role, "iam:GetRole")
    assert (role.arn, role.name, role.path) == (ROLE_ARN, "BoundedRole", "/exports/")
    assert role.max_session_duration == 7200 and role.tags == {}
    assert role.trust_policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::999988887777:root"}
    assert role.permissions_boundary_arn == f"arn:aws:iam::{ACCOUNT}:policy/BoundedRole-boundary"
    assert value(role.permissions_boundary, "iam:GetPolicy") == NamedPolicy(
        "BoundedRole-boundary", role.permissions_boundary_arn, BOUNDARY)
    managed = value(role.managed_policies, "iam:ListAttachedRolePolicies")
    assert managed == (NamedPolicy("ReadReports", f"arn:aws:iam::{ACCOUNT}:policy/ReadReports", MANAGED_V2),)
    inline = value(role.inline_policies, "iam:ListRolePolicies")
    assert sorted(p.name for p in inline) == ["A", "B"]
    assert {p.name: p.document["Statement"][0]["Effect"] for p in inline} == {"A": "Deny", "B": "Allow"}


def test_bucket_absences_are_documented_not_failures(snapshot: AwsSnapshot) -> None:
    bucket = value(snapshot.bucket, "s3:GetBucketLocation")
    absent(bucket.policy, "s3:GetBucketPolicy", "NoSuchBucketPolicy")
    absent(bucket.public_access_block, "s3:GetPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration")
    absent(bucket.ownership, "s3:GetBucketOwnershipControls", "OwnershipControlsNotFoundError")
    assert bucket.logging.api == "s3:GetBucketLogging" and bucket.logging.ok and bucket.logging.value is None
    absent(snapshot.account_public_access_block, "s3:GetAccountPublicAccessBlock",
           "NoSuchPublicAccessBlockConfiguration")
    absent(snapshot.scps, "organizations:ListPoliciesForTarget", "AWSOrganizationsNotInUseException")


def test_aws_managed_key_governance_lock_in_years_and_replication(snapshot: AwsSnapshot) -> None:
    bucket = value(snapshot.bucket, "s3:GetBucketLocation")
    encryption = value(bucket.encryption, "s3:GetBucketEncryption")
    assert (encryption.algorithm, encryption.kms_key_id, encryption.bucket_key_enabled) == ("aws:kms", None, False)
    absent(bucket.kms_key, "kms:GetKeyPolicy", "AwsManagedKey")
    lock = value(bucket.object_lock, "s3:GetObjectLockConfiguration")
    assert lock == ObjectLock(True, "GOVERNANCE", None, 1) and lock.retention_days == 365
    assert value(bucket.versioning, "s3:GetBucketVersioning").status == "Enabled"
    replication = value(bucket.replication, "s3:GetBucketReplication")
    assert replication["Role"] == REPLICATION_ROLE
    (rule,) = replication["Rules"]
    assert (rule["ID"], rule["Status"]) == ("to-replica", "Enabled")
    assert rule["Destination"]["Bucket"] == "arn:aws:s3:::variant-replica"


def test_newest_objects_under_the_prefix_only(snapshot: AwsSnapshot) -> None:
    listing = value(value(snapshot.bucket, "s3:GetBucketLocation").newest_objects, "s3:ListObjectsV2")
    keys = [o.key for o in listing.objects]
    assert len(keys) == 5 and all(k.startswith("exports/") for k in keys)
    stamps = [o.last_modified for o in listing.objects]
    assert stamps == sorted(stamps, reverse=True)
    # written in key order (moto stamps to the second): on ties the later key counts as newer
    assert keys == sorted(OBJECT_KEYS, reverse=True)[:5]
    assert {o.key: o.size for o in listing.objects} == {k: i for i, k in enumerate(OBJECT_KEYS, 1) if k in keys}
    assert listing.truncated is False


def test_variant_snapshot_round_trips_as_json(snapshot: AwsSnapshot) -> None:
    data = json.loads(json.dumps(snapshot.to_json()))
    assert data["scps"] == {"api": "organizations:ListPoliciesForTarget", "value": None, "failure": None,
                            "absent_code": "AWSOrganizationsNotInUseException"}
    assert data["role"]["value"]["managed_policies"]["value"][0]["document"] == MANAGED_V2
