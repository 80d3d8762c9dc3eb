"""The typed, JSON-serialisable snapshot of what an AWS account really holds for one chain.

Every read is a `Read`: either a value, a documented absence (for example no bucket policy), or a
failure that keeps the API name and error code. Checks call `.require()`, which raises `ReadError`
for a failure, so an unreadable input can only ever become ERROR, never PASS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from compliance.errors import ReadError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReadFailure:
    api: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"api": self.api, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """The outcome of one read. `value is None` with no failure means the API reported absence."""

    api: str
    value: T | None = None
    failure: ReadFailure | None = None
    absent_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def absent(self) -> bool:
        return self.failure is None and self.value is None

    def require(self) -> T | None:
        """The value (None when absent). Raises `ReadError` when the read failed."""
        if self.failure is not None:
            raise ReadError(self.failure.api, self.failure.code, self.failure.message)
        return self.value

    def require_present(self, what: str) -> T:
        value = self.require()
        if value is None:
            raise ReadError(self.api, self.absent_code or "NotFound", f"{what} does not exist")
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "value": _jsonable(self.value),
            "failure": self.failure.to_json() if self.failure else None,
            "absent_code": self.absent_code,
        }


def _jsonable(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A policy document as read, with where it came from."""

    name: str
    arn: str | None
    document: Any

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "arn": self.arn, "document": self.document}


@dataclass(frozen=True, slots=True)
class RoleSnapshot:
    arn: str
    name: str
    path: str
    trust_policy: Any
    max_session_duration: int
    tags: dict[str, str]
    permissions_boundary_arn: str | None
    inline_policies: Read[tuple[NamedPolicy, ...]]
    managed_policies: Read[tuple[NamedPolicy, ...]]
    permissions_boundary: Read[NamedPolicy]

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "path": self.path,
            "trust_policy": self.trust_policy,
            "max_session_duration": self.max_session_duration,
            "tags": self.tags,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "inline_policies": self.inline_policies.to_json(),
            "managed_policies": self.managed_policies.to_json(),
            "permissions_boundary": self.permissions_boundary.to_json(),
        }


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool
    ignore_public_acls: bool
    block_public_policy: bool
    restrict_public_buckets: bool

    @property
    def all_on(self) -> bool:
        return all((self.block_public_acls, self.ignore_public_acls, self.block_public_policy,
                    self.restrict_public_buckets))

    def to_json(self) -> dict[str, bool]:
        return {
            "BlockPublicAcls": self.block_public_acls,
            "IgnorePublicAcls": self.ignore_public_acls,
            "BlockPublicPolicy": self.block_public_policy,
            "RestrictPublicBuckets": self.restrict_public_buckets,
        }


@dataclass(frozen=True, slots=True)
class Encryption:
    algorithm: str
    kms_key_id: str | None
    bucket_key_enabled: bool

    def to_json(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "kms_key_id": self.kms_key_id,
                "bucket_key_enabled": self.bucket_key_enabled}


@dataclass(frozen=True, slots=True)
class Versioning:
    status: str | None
    mfa_delete: str | None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "mfa_delete": self.mfa_delete}


@dataclass(frozen=True, slots=True)
class ObjectLock:
    enabled: bool
    mode: str | None
    days: int | None
    years: int | None

    @property
    def retention_days(self) -> int | None:
        if self.days:
            return self.days
        if self.years:
            return self.years * 365
        return None

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "mode": self.mode, "days": self.days, "years": self.years}


@dataclass(frozen=True, slots=True)
class Logging:
    target_bucket: str
    target_prefix: str

    def to_json(self) -> dict[str, str]:
        return {"target_bucket": self.target_bucket, "target_prefix": self.target_prefix}


LOG_DELIVERY_GROUP = "http://acs.amazonaws.com/groups/s3/LogDelivery"


@dataclass(frozen=True, slots=True)
class AclGrant:
    """One grant of a bucket ACL: the grantee (canonical id, group URI or email) and the permission."""

    grantee_type: str
    grantee: str
    permission: str

    def to_json(self) -> dict[str, str]:
        return {"grantee_type": self.grantee_type, "grantee": self.grantee, "permission": self.permission}


@dataclass(frozen=True, slots=True)
class LogTarget:
    """The server access log target bucket, as the customer account sees it.

    `owned`: the bucket is among the account's own buckets (s3:ListBuckets with Prefix, the read-only way to learn
    a bucket's owner account). `exists`: HeadBucket did not answer 404. Policy, ownership controls and ACL are read
    only for a bucket the account owns (absent_code NotOwnedByAccount otherwise); the ACL only while ACLs are
    enabled (absent_code AclsDisabled under BucketOwnerEnforced)."""

    bucket: str
    owned: Read[bool]
    exists: Read[bool]
    policy: Read[Any]
    ownership: Read[str]
    acl: Read[tuple[AclGrant, ...]]
    region: Read[str] = field(default_factory=lambda: Read("s3:GetBucketLocation", failure=ReadFailure(
        "s3:GetBucketLocation", "NotRead", "this snapshot was built without the log target's Region")))
    """GetBucketLocation of an owned target (us-east-1 when LocationConstraint is empty)."""

    def to_json(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "owned": self.owned.to_json(), "exists": self.exists.to_json(),
                "policy": self.policy.to_json(), "ownership": self.ownership.to_json(), "acl": self.acl.to_json(),
                "region": self.region.to_json()}


def _log_target_not_read() -> Read[LogTarget]:
    return Read("s3:GetBucketLogging", failure=ReadFailure(
        "s3:GetBucketLogging", "NotRead", "this snapshot was built without reading the log target bucket"))


class KeyState(StrEnum):
    """The states a KMS key can be in (KMS Developer Guide, "Key states of AWS KMS keys",
    https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html)."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"
    PENDING_IMPORT = "PendingImport"
    UNAVAILABLE = "Unavailable"
    CREATING = "Creating"
    UPDATING = "Updating"
    PENDING_REPLICA_DELETION = "PendingReplicaDeletion"


@dataclass(frozen=True, slots=True)
class KmsGrant:
    """One grant on the key, as ListGrants returns it (KMS API Reference, "GrantListEntry").

    `encryption_context_equals` / `encryption_context_subset` are the grant constraints: the grant allows a
    cryptographic operation only when the request's encryption context equals / includes them."""

    grant_id: str
    name: str
    grantee_principal: str
    retiring_principal: str | None
    operations: tuple[str, ...]
    encryption_context_equals: dict[str, str]
    encryption_context_subset: dict[str, str]
    issuing_account: str | None
    creation_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"grant_id": self.grant_id, "name": self.name, "grantee_principal": self.grantee_principal,
                "retiring_principal": self.retiring_principal, "operations": list(self.operations),
                "constraints": {"EncryptionContextEquals": self.encryption_context_equals,
                                "EncryptionContextSubset": self.encryption_context_subset},
                "issuing_account": self.issuing_account, "creation_date": self.creation_date}


def _grants_not_read() -> Read[tuple[KmsGrant, ...]]:
    return Read("kms:ListGrants", failure=ReadFailure("kms:ListGrants", "NotRead",
                                                      "this snapshot was built without reading the key's grants"))


@dataclass(frozen=True, slots=True)
class KmsKey:
    """The bucket's KMS key: DescribeKey's metadata, the default key policy and the grants.

    `key_state` is None when DescribeKey returned none (a check needing it then reports ERROR)."""

    key_id: str
    arn: str
    policy: Any
    key_state: str | None = None
    enabled: bool | None = None
    deletion_date: str | None = None
    """ISO 8601, set while the key is PendingDeletion (or PendingReplicaDeletion)."""
    key_manager: str | None = None
    """CUSTOMER or AWS (an AWS managed key such as aws/s3)."""
    key_spec: str | None = None
    key_usage: str | None = None
    origin: str | None = None
    grants: Read[tuple[KmsGrant, ...]] = field(default_factory=_grants_not_read)

    @property
    def state(self) -> KeyState | None:
        """The key state as an enum; None when absent or a state this suite does not know."""
        try:
            return KeyState(self.key_state) if self.key_state else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "arn": self.arn, "policy": self.policy, "key_state": self.key_state,
                "enabled": self.enabled, "deletion_date": self.deletion_date, "key_manager": self.key_manager,
                "key_spec": self.key_spec, "key_usage": self.key_usage, "origin": self.origin,
                "grants": self.grants.to_json()}


@dataclass(frozen=True, slots=True)
class ObjectSummary:
    key: str
    last_modified: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "last_modified": self.last_modified, "size": self.size}


@dataclass(frozen=True, slots=True)
class ObjectListing:
    objects: tuple[ObjectSummary, ...]
    truncated: bool

    def to_json(self) -> dict[str, Any]:
        return {"objects": [o.to_json() for o in self.objects], "truncated": self.truncated}


@dataclass(frozen=True, slots=True)
class BucketSnapshot:
    name: str
    policy: Read[Any]
    public_access_block: Read[PublicAccessBlock]
    ownership: Read[str]
    encryption: Read[Encryption]
    kms_key: Read[KmsKey]
    versioning: Read[Versioning]
    object_lock: Read[ObjectLock]
    logging: Read[Logging]
    replication: Read[Any]
    newest_objects: Read[ObjectListing]
    log_target: Read[LogTarget] = field(default_factory=_log_target_not_read)
    """Absent (absent_code LoggingDisabled) when server access logging is off."""

    def to_json(self) -> dict[str, Any]:
        return {name: _jsonable(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class ScpLevel:
    """One level of the organization path: the root, an OU, or the account itself."""

    target_id: str
    target_type: str
    name: str
    policies: tuple[NamedPolicy, ...]

    def to_json(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "target_type": self.target_type, "name": self.name,
                "policies": [p.to_json() for p in self.policies]}


ORG_NOT_READ = "NotRead"
"""The failure code of an organization / access-point field nobody read (a snapshot built without it)."""


@dataclass(frozen=True, slots=True)
class OrgContext:
    """Where the account sits in its organization, and the request-context values AWS derives from it.

    IAM User Guide, "AWS global condition context keys": aws:PrincipalOrgID / aws:ResourceOrgID are the
    organization id; aws:PrincipalOrgPaths / aws:ResourceOrgPaths are "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/.../"
    (organization, root, then every OU down to the one holding the account, each followed by "/");
    aws:PrincipalAccount / aws:ResourceAccount the 12-digit account id.
    """

    organization_id: str
    management_account: str
    root_id: str
    ou_path: tuple[str, ...]
    """OU ids from the root down to the account's parent (empty: the account sits directly under the root)."""
    account_id: str

    @property
    def org_path(self) -> str:
        return "/".join((self.organization_id, self.root_id, *self.ou_path)) + "/"

    @property
    def is_management_account(self) -> bool:
        """SCPs and RCPs do not apply to the management account (Organizations User Guide)."""
        return self.account_id == self.management_account

    def principal_keys(self) -> dict[str, str | tuple[str, ...]]:
        return {"aws:PrincipalOrgID": self.organization_id, "aws:PrincipalOrgPaths": (self.org_path,),
                "aws:PrincipalAccount": self.account_id}

    def resource_keys(self) -> dict[str, str | tuple[str, ...]]:
        return {"aws:ResourceOrgID": self.organization_id, "aws:ResourceOrgPaths": (self.org_path,),
                "aws:ResourceAccount": self.account_id}

    def to_json(self) -> dict[str, Any]:
        return {"organization_id": self.organization_id, "management_account": self.management_account,
                "root_id": self.root_id, "ou_path": list(self.ou_path), "account_id": self.account_id,
                "org_path": self.org_path}


class AccessPointKind(StrEnum):
    STANDARD = "access point"
    MULTI_REGION = "Multi-Region Access Point"
    OBJECT_LAMBDA = "Object Lambda access point"


class NetworkOrigin(StrEnum):
    INTERNET = "Internet"
    VPC = "VPC"


@dataclass(frozen=True, slots=True)
class AccessPointSnapshot:
    """One access point that reaches the bucket: a standard access point on it, a Multi-Region Access Point
    that includes it, or an Object Lambda access point whose supporting access point is on it."""

    kind: AccessPointKind
    name: str
    arn: str
    alias: str | None
    account: str
    network_origin: NetworkOrigin
    vpc_id: str | None
    policy: Read[Any]
    policy_is_public: Read[bool]
    supporting_access_point: str | None = None
    """Object Lambda only: the ARN of the standard access point it reads through."""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "name": self.name, "arn": self.arn, "alias": self.alias,
                "account": self.account, "network_origin": self.network_origin.value, "vpc_id": self.vpc_id,
                "policy": self.policy.to_json(), "policy_is_public": self.policy_is_public.to_json(),
                "supporting_access_point": self.supporting_access_point}


def _not_read(api: str) -> Read[Any]:
    return Read(api, failure=ReadFailure(api, ORG_NOT_READ, "this snapshot was built without this read"))


@dataclass(frozen=True, slots=True)
class ApiCall:
    service: str
    operation: str
    status: int | None
    error_code: str | None

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "operation": self.operation, "status": self.status,
                "error_code": self.error_code}


@dataclass(frozen=True, slots=True, weakref_slot=True)  # weakly referable: tests/scale/test_memory_release.py
class AwsSnapshot:
    chain_id: str
    target: str
    account_id: str
    region: str
    caller: Read[dict[str, str]]
    role: Read[RoleSnapshot]
    bucket: Read[BucketSnapshot]
    account_public_access_block: Read[PublicAccessBlock]
    scps: Read[tuple[ScpLevel, ...]]
    api_calls: tuple[ApiCall, ...] = field(default_factory=tuple)
    org_context: Read[OrgContext] = field(
        default_factory=lambda: _not_read("organizations:DescribeOrganization"))
    """Absent (absent_code AWSOrganizationsNotInUseException) when the account is in no organization."""
    rcps: Read[tuple[ScpLevel, ...]] = field(
        default_factory=lambda: _not_read("organizations:ListPoliciesForTarget"))
    """RCP levels from the root to the account, read like `scps` (Filter=RESOURCE_CONTROL_POLICY)."""
    access_points: Read[tuple[AccessPointSnapshot, ...]] = field(
        default_factory=lambda: _not_read("s3control:ListAccessPoints"))
    multi_region_access_points: Read[tuple[AccessPointSnapshot, ...]] = field(
        default_factory=lambda: _not_read("s3control:ListMultiRegionAccessPoints"))
    object_lambda_access_points: Read[tuple[AccessPointSnapshot, ...]] = field(
        default_factory=lambda: _not_read("s3control:ListAccessPointsForObjectLambda"))

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "target": self.target,
            "account_id": self.account_id,
            "region": self.region,
            "caller": self.caller.to_json(),
            "role": self.role.to_json(),
            "bucket": self.bucket.to_json(),
            "account_public_access_block": self.account_public_access_block.to_json(),
            "scps": self.scps.to_json(),
            "org_context": self.org_context.to_json(),
            "rcps": self.rcps.to_json(),
            "access_points": self.access_points.to_json(),
            "multi_region_access_points": self.multi_region_access_points.to_json(),
            "object_lambda_access_points": self.object_lambda_access_points.to_json(),
            "api_calls": [c.to_json() for c in self.api_calls],
        }

    def comparable(self) -> dict[str, Any]:
        """The snapshot without run-specific noise (API call log, caller), for target comparisons."""
        data = self.to_json()
        data.pop("api_calls")
        data.pop("caller")
        data.pop("target")
        return data
