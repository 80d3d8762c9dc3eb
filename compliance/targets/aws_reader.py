"""The one read-only AWS reader: the same code reads moto and live AWS into an `AwsSnapshot`."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from compliance.config import Chain
from compliance.errors import ReadOnlyViolation
from compliance.targets import aws_access_points
from compliance.targets.snapshot import (
    AccessPointSnapshot,
    AclGrant,
    ApiCall,
    AwsSnapshot,
    BucketSnapshot,
    Encryption,
    KmsGrant,
    KmsKey,
    Logging,
    LogTarget,
    NamedPolicy,
    ObjectListing,
    ObjectLock,
    ObjectSummary,
    OrgContext,
    PublicAccessBlock,
    Read,
    ReadFailure,
    RoleSnapshot,
    ScpLevel,
    Versioning,
)

T = TypeVar("T")

READ_PREFIXES = ("Get", "List", "Head", "Describe")
READ_EXCEPTIONS = frozenset({"AssumeRole"})
MAX_LISTED_KEYS = 10_000
NEWEST_KEPT = 5

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30)


_LOADER: Any = None


def new_session(**kwargs: Any) -> boto3.Session:
    """A boto3 session sharing one botocore data loader with every other session of this process.

    Each chain reads through its own sessions (its account, its assumed role). A fresh botocore session loads
    and parses the service models and endpoint rulesets from disk again (~40 ms a client); with many chains
    that was the largest cost of a run. The loader only caches read-only model data."""
    global _LOADER
    import botocore.session

    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, **kwargs)


def is_read_operation(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or operation in READ_EXCEPTIONS


class CallLog:
    """Records every AWS API call a session makes (service, operation, HTTP status, error code)."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []

    def after_call(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        status = getattr(http_response, "status_code", None)
        self.calls.append(ApiCall(model.service_model.service_name, model.name, status, error))


def guard_read_only(model: Any = None, **_: Any) -> None:
    if not is_read_operation(model.name):
        raise ReadOnlyViolation(
            f"refused {model.service_model.service_name}:{model.name}: live mode is read-only"
        )


_ACCOUNT_LABEL = re.compile(r"^(https?://)\d{12}\.")
_AWS_HOST = re.compile(r"^https?://\d{12}\.[^/:]*\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws)(?=[:/]|$)")


def _strip_account_host_prefix(request: Any, **_: Any) -> None:
    """s3control prefixes the account id to a custom endpoint's host, which a loopback server lacks.

    Real AWS endpoints keep the prefix; any other (custom) endpoint loses it, however it was configured
    (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3_CONTROL, or `endpoint_url` in the AWS_PROFILE's config)."""
    if _AWS_HOST.match(request.url):
        return
    request.url = _ACCOUNT_LABEL.sub(r"\1", request.url)
    host = request.headers.get("Host")
    if host:
        request.headers["Host"] = re.sub(r"^\d{12}\.", "", host if isinstance(host, str) else host.decode())


def instrument_session(session: boto3.Session, log: CallLog, *, read_only: bool) -> None:
    session.events.register("after-call.*.*", log.after_call)
    if read_only:
        session.events.register("before-call.*.*", guard_read_only)
    # before signing: a host changed after SigV4 signing no longer matches the signature (IAM-enforcing servers)
    session.events.register("before-sign.s3-control.*", _strip_account_host_prefix)


def read(api: str, fn: Callable[[], T | None], *, absent: Iterable[str] = ()) -> Read[T]:
    """Run one read and keep its outcome. Never raises for AWS-side failures."""
    absent_codes = set(absent)
    try:
        return Read(api, fn())
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Unknown"))
        if code in absent_codes:
            return Read(api, None, absent_code=code)
        return Read(api, failure=ReadFailure(api, code, str(error.get("Message") or exc)))
    except BotoCoreError as exc:
        return Read(api, failure=ReadFailure(api, type(exc).__name__, str(exc)))
    except NotImplementedError as exc:
        return Read(api, failure=ReadFailure(api, "NotImplemented", str(exc) or "not implemented by this target"))


def _document(raw: Any) -> Any:
    """IAM returns documents URL-encoded JSON strings (boto3 decodes valid JSON to dicts)."""
    if isinstance(raw, str):
        text = urllib.parse.unquote(raw)
        try:
            return json.loads(text)
        except ValueError:
            return text
    return raw


def _json_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class AwsReader:
    """Reads one chain's AWS side. `session` reads the chain's account; `org_session` reads Organizations."""

    def __init__(self, session: boto3.Session, *, org_session: boto3.Session | None = None,
                 org_failure: ReadFailure | None = None) -> None:
        self.session = session
        self.org_session = org_session or session
        self.org_failure = org_failure  # e.g. the management-account role could not be assumed
        self._org_paths: dict[str, tuple[dict[str, Any], list[tuple[str, str, str]]]] = {}

    def _client(self, service: str, region: str, session: boto3.Session | None = None) -> Any:
        client: Any = (session or self.session).client(service, region_name=region, config=CLIENT_CONFIG)
        return client

    def snapshot(self, chain: Chain, *, target: str, calls: CallLog) -> AwsSnapshot:
        region = chain.aws.region
        sts = self._client("sts", region)
        caller = read("sts:GetCallerIdentity", lambda: {
            k: v for k, v in sts.get_caller_identity().items() if k in ("Account", "Arn")})
        return AwsSnapshot(
            chain_id=chain.id,
            target=target,
            account_id=chain.aws.account,
            region=region,
            caller=caller,
            role=self.read_role(chain),
            bucket=self.read_bucket(chain),
            account_public_access_block=self.read_account_pab(chain),
            scps=self.read_scps(chain),
            org_context=self.read_org_context(chain),
            rcps=self.read_rcps(chain),
            **self.read_access_points(chain),
            api_calls=tuple(calls.calls),
        )

    def read_role(self, chain: Chain) -> Read[RoleSnapshot]:
        iam = self._client("iam", chain.aws.region)
        got = read("iam:GetRole", lambda: iam.get_role(RoleName=chain.aws.role_name)["Role"])
        if got.failure is not None or got.value is None:
            return Read("iam:GetRole", failure=got.failure)
        role = got.value
        boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return Read("iam:GetRole", RoleSnapshot(
            arn=role["Arn"],
            name=role["RoleName"],
            path=role.get("Path", "/"),
            trust_policy=_document(role.get("AssumeRolePolicyDocument")),
            max_session_duration=int(role.get("MaxSessionDuration", 3600)),
            tags={t["Key"]: t["Value"] for t in role.get("Tags", [])},
            permissions_boundary_arn=boundary_arn,
            inline_policies=read("iam:ListRolePolicies", lambda: self._inline(iam, role["RoleName"])),
            managed_policies=read("iam:ListAttachedRolePolicies", lambda: self._attached(iam, role["RoleName"])),
            permissions_boundary=(read("iam:GetPolicy", lambda: self._managed(iam, boundary_arn, boundary_arn))
                                  if boundary_arn else Read("iam:GetPolicy", None)),
        ))

    @staticmethod
    def _inline(iam: Any, role: str) -> tuple[NamedPolicy, ...]:
        names = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=role)
                 for n in page["PolicyNames"]]
        return tuple(
            NamedPolicy(n, None, _document(iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]))
            for n in names)

    def _attached(self, iam: Any, role: str) -> tuple[NamedPolicy, ...]:
        attached = [p for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role)
                    for p in page["AttachedPolicies"]]
        return tuple(self._managed(iam, p["PolicyArn"], p["PolicyName"]) for p in attached)

    @staticmethod
    def _managed(iam: Any, arn: str, name: str) -> NamedPolicy:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        return NamedPolicy(name.rsplit("/", 1)[-1], arn, _document(doc))

    def read_bucket(self, chain: Chain) -> Read[BucketSnapshot]:
        s3 = self._client("s3", chain.aws.region)
        name = chain.aws.bucket
        located = read("s3:GetBucketLocation", lambda: s3.get_bucket_location(Bucket=name))
        if located.failure is not None:
            return Read("s3:GetBucketLocation", failure=located.failure)
        encryption = read("s3:GetBucketEncryption", lambda: _encryption(s3.get_bucket_encryption(Bucket=name)),
                          absent=["ServerSideEncryptionConfigurationNotFoundError"])
        logging = read("s3:GetBucketLogging", lambda: _logging(s3.get_bucket_logging(Bucket=name)))
        return Read("s3:GetBucketLocation", BucketSnapshot(
            name=name,
            policy=read("s3:GetBucketPolicy", lambda: _json_text(s3.get_bucket_policy(Bucket=name)["Policy"]),
                        absent=["NoSuchBucketPolicy"]),
            public_access_block=read("s3:GetPublicAccessBlock", lambda: _pab(
                s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]),
                absent=["NoSuchPublicAccessBlockConfiguration"]),
            ownership=read("s3:GetBucketOwnershipControls", lambda: s3.get_bucket_ownership_controls(
                Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
                absent=["OwnershipControlsNotFoundError"]),
            encryption=encryption,
            kms_key=self._kms_key(chain, encryption),
            versioning=read("s3:GetBucketVersioning", lambda: _versioning(s3.get_bucket_versioning(Bucket=name))),
            object_lock=read("s3:GetObjectLockConfiguration", lambda: _object_lock(
                s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]),
                absent=["ObjectLockConfigurationNotFoundError"]),
            logging=logging,
            replication=read("s3:GetBucketReplication", lambda: s3.get_bucket_replication(
                Bucket=name)["ReplicationConfiguration"], absent=["ReplicationConfigurationNotFoundError"]),
            newest_objects=read("s3:ListObjectsV2", lambda: self._newest(s3, name, chain.aws.prefix)),
            log_target=self._log_target(s3, logging),
        ))

    @staticmethod
    def _log_target(s3: Any, logging: Read[Logging]) -> Read[LogTarget]:
        """The log target bucket: is it the account's own (ListBuckets), does it exist (HeadBucket, only for a
        bucket that is not), its policy and ownership controls, and its ACL while ACLs are enabled.

        S3 User Guide, "Enabling Amazon S3 server access logging": the destination bucket must be owned by the
        same account as the source bucket, and log delivery is granted by the bucket policy (to
        logging.s3.amazonaws.com) or, with ACLs enabled, by an ACL grant to the Log Delivery group."""
        if logging.failure is not None:
            return Read("s3:GetBucketLogging", failure=logging.failure)
        if logging.value is None or not logging.value.target_bucket:
            return Read("s3:GetBucketLogging", None, absent_code="LoggingDisabled")
        target = logging.value.target_bucket
        owned = read("s3:ListBuckets", lambda: _owns_bucket(s3, target))
        if owned.failure is not None or not owned.value:
            exists = read("s3:HeadBucket", lambda: _bucket_exists(s3, target))
            not_owned: Read[Any] = Read("s3:ListBuckets", None, absent_code="NotOwnedByAccount")
            return Read("s3:GetBucketLogging", LogTarget(target, owned, exists, not_owned, not_owned, not_owned))
        ownership: Read[str] = read("s3:GetBucketOwnershipControls", lambda: s3.get_bucket_ownership_controls(
            Bucket=target)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            absent=["OwnershipControlsNotFoundError"])
        if ownership.value == "BucketOwnerEnforced":
            acl: Read[tuple[AclGrant, ...]] = Read("s3:GetBucketAcl", None, absent_code="AclsDisabled")
        else:
            acl = read("s3:GetBucketAcl", lambda: _acl_grants(s3.get_bucket_acl(Bucket=target)))
        return Read("s3:GetBucketLogging", LogTarget(
            bucket=target,
            owned=owned,
            exists=Read("s3:ListBuckets", True),
            policy=read("s3:GetBucketPolicy", lambda: _json_text(s3.get_bucket_policy(Bucket=target)["Policy"]),
                        absent=["NoSuchBucketPolicy"]),
            ownership=ownership,
            acl=acl,
            region=read("s3:GetBucketLocation", lambda: s3.get_bucket_location(
                Bucket=target).get("LocationConstraint") or "us-east-1"),
        ))

    def _kms_key(self, chain: Chain, encryption: Read[Encryption]) -> Read[KmsKey]:
        if encryption.failure is not None:
            return Read("kms:GetKeyPolicy", failure=encryption.failure)
        enc = encryption.value
        if enc is None or enc.algorithm not in ("aws:kms", "aws:kms:dsse"):
            return Read("kms:GetKeyPolicy", None, absent_code="NoKmsKeyConfigured")
        key_ref = enc.kms_key_id
        if not key_ref:
            return Read("kms:GetKeyPolicy", None, absent_code="AwsManagedKey")
        region = key_ref.split(":")[3] if key_ref.startswith("arn:") else chain.aws.region
        kms = self._client("kms", region)

        described = read("kms:DescribeKey", lambda: kms.describe_key(KeyId=key_ref)["KeyMetadata"])
        if described.failure is not None or described.value is None:
            return Read("kms:GetKeyPolicy", failure=described.failure)
        meta: dict[str, Any] = described.value

        def fetch() -> KmsKey:
            policy = kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]
            grants = read("kms:ListGrants", lambda: _grants(kms, meta["KeyId"]))
            return _kms_key(meta, _json_text(policy), grants)

        return read("kms:GetKeyPolicy", fetch)

    @staticmethod
    def _newest(s3: Any, bucket: str, prefix: str) -> ObjectListing:
        found: list[ObjectSummary] = []
        truncated = False
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found.append(ObjectSummary(obj["Key"], obj["LastModified"].isoformat(), int(obj.get("Size", 0))))
            if len(found) >= MAX_LISTED_KEYS:
                truncated = bool(page.get("IsTruncated"))
                break
        found.sort(key=lambda o: (o.last_modified, o.key), reverse=True)  # ties: later key first
        return ObjectListing(tuple(found[:NEWEST_KEPT]), truncated)

    def read_account_pab(self, chain: Chain) -> Read[PublicAccessBlock]:
        s3control = self._client("s3control", chain.aws.region)
        return read("s3:GetAccountPublicAccessBlock", lambda: _pab(s3control.get_public_access_block(
            AccountId=chain.aws.account)["PublicAccessBlockConfiguration"]),
            absent=["NoSuchPublicAccessBlockConfiguration"])

    def read_scps(self, chain: Chain) -> Read[tuple[ScpLevel, ...]]:
        return self._org_read(chain, "organizations:ListPoliciesForTarget",
                              lambda org: self._policy_levels(org, chain.aws.account, "SERVICE_CONTROL_POLICY"))

    def read_rcps(self, chain: Chain) -> Read[tuple[ScpLevel, ...]]:
        """RCPs along the account's path, read exactly as the SCPs (Filter=RESOURCE_CONTROL_POLICY).

        Organizations User Guide, "Resource control policies (RCPs)": when RCPs are enabled, the AWS-managed
        RCPFullAWSAccess is attached to the root, every OU and every account and cannot be detached. A path with
        no RCP at any level therefore means RCPs are not enabled, and the levels are kept empty (none apply)."""
        def levels(org: Any) -> tuple[ScpLevel, ...]:
            try:
                found = self._policy_levels(org, chain.aws.account, "RESOURCE_CONTROL_POLICY")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PolicyTypeNotEnabledException":
                    return ()
                raise
            return found if any(level.policies for level in found) else ()

        return self._org_read(chain, "organizations:ListPoliciesForTarget", levels)

    def read_org_context(self, chain: Chain) -> Read[OrgContext]:
        """The organization id, the account's OU path and the management account (DescribeOrganization and
        ListParents, the same calls as the SCP path)."""
        def context(org: Any) -> OrgContext:
            organization, path = self._org_path(org, chain.aws.account)
            return OrgContext(organization["Id"], organization.get("MasterAccountId", ""), path[-1][0],
                              tuple(target for target, kind, _ in reversed(path) if kind == "ORGANIZATIONAL_UNIT"),
                              chain.aws.account)

        return self._org_read(chain, "organizations:DescribeOrganization", context)

    def _org_read(self, chain: Chain, api: str, fn: Callable[[Any], T]) -> Read[T]:
        # No organization → AWSOrganizationsNotInUseException, a documented absence.
        if self.org_failure is not None:
            return Read(api, failure=self.org_failure)
        org = self._client("organizations", "us-east-1", self.org_session)
        return read(api, lambda: fn(org), absent=["AWSOrganizationsNotInUseException"])

    def _org_path(self, org: Any, account: str) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
        """(DescribeOrganization's Organization, [(id, type, name)] from the account up to the root), read once."""
        cache = self._org_paths
        if account in cache:
            return cache[account]
        # DescribeOrganization first: moto answers ListParents for an account outside any organization with
        # AccountNotFoundException, AWS with AWSOrganizationsNotInUseException.
        organization = org.describe_organization()["Organization"]
        path: list[tuple[str, str, str]] = [(account, "ACCOUNT", account)]
        child = account
        while True:
            parent = org.list_parents(ChildId=child)["Parents"][0]
            if parent["Type"] == "ROOT":
                path.append((parent["Id"], "ROOT", "Root"))
                break
            ou = org.describe_organizational_unit(OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]
            path.append((parent["Id"], "ORGANIZATIONAL_UNIT", ou.get("Name", parent["Id"])))
            child = parent["Id"]
        cache[account] = (organization, path)
        return organization, path

    def _policy_levels(self, org: Any, account: str, kind: str) -> tuple[ScpLevel, ...]:
        _, path = self._org_path(org, account)
        levels = []
        for target_id, target_type, name in reversed(path):
            summaries = [p for page in org.get_paginator("list_policies_for_target").paginate(
                TargetId=target_id, Filter=kind) for p in page["Policies"]]
            policies = tuple(
                NamedPolicy(s["Name"], s["Arn"],
                            _json_text(org.describe_policy(PolicyId=s["Id"])["Policy"]["Content"]))
                for s in summaries)
            levels.append(ScpLevel(target_id, target_type, name, policies))
        return tuple(levels)

    def read_access_points(self, chain: Chain) -> dict[str, Read[tuple[AccessPointSnapshot, ...]]]:
        """Access points on the bucket, Multi-Region Access Points including it, Object Lambda access points
        supported by one of its access points (see aws_access_points for the documented calls)."""
        account, bucket = chain.aws.account, chain.aws.bucket
        s3control = self._client("s3control", chain.aws.region)
        west = self._client("s3control", aws_access_points.MRAP_CONTROL_REGION)
        standard: Read[tuple[AccessPointSnapshot, ...]] = read(
            "s3control:ListAccessPoints", lambda: aws_access_points.standard(s3control, account, bucket, read))
        return {
            "access_points": standard,
            "multi_region_access_points": read("s3control:ListMultiRegionAccessPoints",
                                               lambda: aws_access_points.multi_region(west, account, bucket, read)),
            "object_lambda_access_points": aws_access_points.object_lambda_read(s3control, account, standard, read),
        }

def _pab(c: dict[str, Any]) -> PublicAccessBlock:
    return PublicAccessBlock(bool(c.get("BlockPublicAcls")), bool(c.get("IgnorePublicAcls")),
                             bool(c.get("BlockPublicPolicy")), bool(c.get("RestrictPublicBuckets")))


def _encryption(resp: dict[str, Any]) -> Encryption:
    rule = resp["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    return Encryption(default.get("SSEAlgorithm", ""), default.get("KMSMasterKeyID"),
                      bool(rule.get("BucketKeyEnabled", False)))


def _versioning(resp: dict[str, Any]) -> Versioning:
    return Versioning(resp.get("Status"), resp.get("MFADelete"))


def _object_lock(c: dict[str, Any]) -> ObjectLock:
    retention = (c.get("Rule") or {}).get("DefaultRetention") or {}
    return ObjectLock(c.get("ObjectLockEnabled") == "Enabled", retention.get("Mode"),
                      retention.get("Days") or None, retention.get("Years") or None)


def _kms_key(meta: dict[str, Any], policy: Any, grants: Read[tuple[KmsGrant, ...]]) -> KmsKey:
    """DescribeKey's KeyMetadata (KMS API Reference, "KeyMetadata"): KeyState, Enabled, DeletionDate, ..."""
    deletion = meta.get("DeletionDate")
    return KmsKey(meta["KeyId"], meta["Arn"], policy, key_state=meta.get("KeyState"), enabled=meta.get("Enabled"),
                  deletion_date=_iso(deletion) if deletion is not None else None,
                  key_manager=meta.get("KeyManager"), key_spec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                  key_usage=meta.get("KeyUsage"), origin=meta.get("Origin"), grants=grants)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _grants(kms: Any, key_id: str) -> tuple[KmsGrant, ...]:
    """Every grant on the key (ListGrants, paginated; KMS API Reference, "GrantListEntry")."""
    found: list[KmsGrant] = []
    for page in kms.get_paginator("list_grants").paginate(KeyId=key_id):
        for grant in page.get("Grants", []):
            constraints = grant.get("Constraints") or {}
            created = grant.get("CreationDate")
            found.append(KmsGrant(
                grant_id=grant["GrantId"], name=grant.get("Name") or "",
                grantee_principal=grant.get("GranteePrincipal") or "",
                retiring_principal=grant.get("RetiringPrincipal") or None,
                operations=tuple(grant.get("Operations") or ()),
                encryption_context_equals=dict(constraints.get("EncryptionContextEquals") or {}),
                encryption_context_subset=dict(constraints.get("EncryptionContextSubset") or {}),
                issuing_account=grant.get("IssuingAccount") or None,
                creation_date=_iso(created) if created is not None else None))
    return tuple(found)


def _owns_bucket(s3: Any, bucket: str) -> bool:
    """Is `bucket` one of the calling account's own buckets? ListBuckets lists exactly the buckets the requester's
    account owns (S3 API Reference, "ListBuckets"); Prefix narrows it, ContinuationToken pages it."""
    kwargs: dict[str, Any] = {"Prefix": bucket}
    while True:
        page = s3.list_buckets(**kwargs)
        if any(b.get("Name") == bucket for b in page.get("Buckets", [])):
            return True
        token = page.get("ContinuationToken")
        if not token:
            return False
        kwargs["ContinuationToken"] = token


def _bucket_exists(s3: Any, bucket: str) -> bool:
    """HeadBucket answers 404 for a bucket that does not exist, whoever asks; 403 (another account's bucket the
    caller may not read) and 301 (another region) mean it exists (S3 API Reference, "HeadBucket")."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied", "Forbidden", "301", "PermanentRedirect"):
            return True
        raise
    return True


def _acl_grants(resp: dict[str, Any]) -> tuple[AclGrant, ...]:
    out = []
    for grant in resp.get("Grants", []):
        grantee = grant.get("Grantee") or {}
        kind = grantee.get("Type", "")
        who = grantee.get("URI") or grantee.get("ID") or grantee.get("EmailAddress") or ""
        out.append(AclGrant(kind, who, grant.get("Permission", "")))
    return tuple(out)


def _logging(resp: dict[str, Any]) -> Logging | None:
    enabled = resp.get("LoggingEnabled")
    if not enabled:
        return None
    return Logging(enabled.get("TargetBucket", ""), enabled.get("TargetPrefix", ""))
