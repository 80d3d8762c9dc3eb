"""The canary export: the vendor's real calls (AssumeRole, PutObject, HeadObject), performed by a target.

Only the emulated target writes (`MotoAwsTarget.canary_export`); the live target has no vendor credentials and
never writes (`CanaryMode.NEVER_WRITES`). The target reports what happened as a `CanaryExport`; the check
(`aws_canary_export_encrypted_and_locked`) only judges it against the chain's intended encryption and retention.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from compliance.config import Chain

CANARY_DIR = "compliance-canary/"
CANARY_BODY = b"export-chain-compliance canary\n"
SESSION_NAME = "compliance-canary"

ClientFactory = Callable[..., Any]
"""`client(service, account, region, **credentials)` → a boto3 client acting in `account`."""


class CanaryMode(StrEnum):
    WRITES = "writes"
    """The target performs the vendor's calls and writes one canary object (the emulated target)."""
    NEVER_WRITES = "never writes"
    """The target holds no vendor credentials and never writes (live)."""


class CanaryOutcome(StrEnum):
    LANDED = "landed"
    ROLE_REFUSED = "role refused"
    """The vendor's AssumeRole failed."""
    PUT_REFUSED = "put refused"
    """PutObject or HeadObject with the role session failed (or the bucket policy could not be lifted)."""


class LockMode(StrEnum):
    COMPLIANCE = "COMPLIANCE"
    GOVERNANCE = "GOVERNANCE"


@dataclass(frozen=True, slots=True)
class LandedObject:
    """What HeadObject says of the canary (None: the response did not carry the field)."""

    encryption: str | None
    kms_key_id: str | None
    bucket_key_enabled: bool | None
    lock_mode: LockMode | None
    retain_until: datetime | None
    version_id: str | None

    def to_json(self) -> dict[str, Any]:
        fields = {"ServerSideEncryption": self.encryption, "SSEKMSKeyId": self.kms_key_id,
                  "BucketKeyEnabled": self.bucket_key_enabled,
                  "ObjectLockMode": self.lock_mode.value if self.lock_mode else None,
                  "ObjectLockRetainUntilDate": self.retain_until.isoformat() if self.retain_until else None,
                  "VersionId": self.version_id}
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True)
class CanaryExport:
    """One canary export: how far it got, the steps taken, and the landed object when it landed."""

    outcome: CanaryOutcome
    object_key: str
    steps: tuple[str, ...]
    error_code: str | None = None
    landed: LandedObject | None = None


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def canary_key(chain: Chain) -> str:
    return f"{chain.aws.prefix}{CANARY_DIR}{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.txt"


def landed_object(head: dict[str, Any]) -> LandedObject:
    until = head.get("ObjectLockRetainUntilDate")
    mode = head.get("ObjectLockMode")
    return LandedObject(
        encryption=head.get("ServerSideEncryption"), kms_key_id=head.get("SSEKMSKeyId"),
        bucket_key_enabled=head.get("BucketKeyEnabled"), lock_mode=LockMode(mode) if mode else None,
        retain_until=until if isinstance(until, datetime) else None, version_id=head.get("VersionId"))


def export_canary(client: ClientFactory, chain: Chain, external_id: str) -> CanaryExport:
    """Assume the vendor role, lift the bucket policy (moto applies any Deny to every put, whatever its
    conditions), put the canary with the session's credentials, read it back, restore the policy."""
    region, bucket = chain.aws.region, chain.aws.bucket
    object_key = canary_key(chain)
    tags = [{"Key": k, "Value": v} for k, v in chain.vendor.session_tags.items()]
    try:
        creds = client("sts", chain.vendor.account, region).assume_role(
            RoleArn=chain.vendor.configured_role_arn, RoleSessionName=SESSION_NAME, ExternalId=external_id,
            **({"Tags": tags} if tags else {}))["Credentials"]
    except ClientError as exc:
        return CanaryExport(CanaryOutcome.ROLE_REFUSED, object_key, (), error_code(exc))
    steps = ["sts:AssumeRole as the vendor with the ExternalId and session tags: OK"]
    s3 = client("s3", chain.aws.account, region, aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    admin = client("s3", chain.aws.account, region)
    lifted: str | None = None
    try:
        try:
            lifted = admin.get_bucket_policy(Bucket=bucket)["Policy"]
            admin.delete_bucket_policy(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) != "NoSuchBucketPolicy":
                raise
        s3.put_object(Bucket=bucket, Key=object_key, Body=CANARY_BODY)
        steps.append(f"s3:PutObject {object_key} with the session's credentials: OK")
        head = s3.head_object(Bucket=bucket, Key=object_key)
    except ClientError as exc:
        return CanaryExport(CanaryOutcome.PUT_REFUSED, object_key, tuple(steps), error_code(exc))
    finally:
        if lifted is not None:
            admin.put_bucket_policy(Bucket=bucket, Policy=lifted)
    if lifted is not None:
        steps.append("bucket policy restored")
    return CanaryExport(CanaryOutcome.LANDED, object_key, tuple(steps), landed=landed_object(head))
