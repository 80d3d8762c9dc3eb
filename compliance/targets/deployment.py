"""Deployment files: the AWS and Azure resources the moto/Azurite target provisions.

The format is JSON (see README "Deployment files"). Secrets never appear in it: a string
`{{env:NAME}}` is replaced by the value of environment variable NAME at provisioning time,
`{{kms:ALIAS}}` by the ARN of the KMS key created with that alias, and `{{org:id}}`, `{{org:root}}`,
`{{org:ou/NAME}}` by the ids of the organization, its root and a declared OU (for aws:PrincipalOrgID /
aws:PrincipalOrgPaths conditions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from compliance.config import BUCKET_RE, nesting_error
from compliance.errors import ConfigError, one_line
from compliance.nesting import MAX_NESTING, Syntax
from compliance.targets.azure_spec import parse_spec

PLACEHOLDER = re.compile(r"\{\{(env|kms|org):([A-Za-z0-9_./-]+)\}\}")

_ACCOUNT_KEYS = {"description", "roles", "buckets", "kms_keys", "public_access_block", "multi_region_access_points"}
_ROLE_KEYS = {"name", "path", "trust_policy", "inline_policies", "managed_policies", "permissions_boundary",
              "tags", "max_session_duration", "description"}
_BUCKET_KEYS = {"name", "region", "policy", "public_access_block", "ownership", "encryption", "versioning", "acl",
                "object_lock", "logging", "objects", "replication", "description", "access_points"}
_ACCESS_POINT_KEYS = {"name", "policy", "vpc_id", "description"}
_MRAP_KEYS = {"name", "buckets", "policy", "description"}
_ORGANIZATION_KEYS = {"management_account", "accounts", "ous", "scps", "root_scps", "rcps", "root_rcps",
                      "description"}
_OU_KEYS = {"name", "accounts", "scps", "rcps", "description"}
_TOP_KEYS = {"description", "aws", "azure"}
_AWS_KEYS = {"accounts", "organization"}
_PAB_KEYS = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"}
_AZURE_KEYS = {"container", "public_access", "sas", "blobs", "stored_access_policies", "description"}


def reference_deployment_path() -> Path:
    return Path(str(resources.files("compliance") / "data" / "reference-deployment.json"))


@dataclass(frozen=True, slots=True)
class Deployment:
    source: str
    data: Mapping[str, Any]

    @property
    def aws(self) -> Mapping[str, Any]:
        aws: Mapping[str, Any] = self.data.get("aws", {})
        return aws

    @property
    def azure(self) -> Mapping[str, Any] | None:
        return self.data.get("azure")


def _check_keys(source: str, where: str, table: Any, allowed: set[str]) -> None:
    if not isinstance(table, dict):
        raise ConfigError(source, where, "expected a JSON object", "see README, 'Deployment files'")
    for key in table:
        if key not in allowed:
            raise ConfigError(source, f"{where}.{key}" if where else key, "unknown key",
                              f"use one of: {', '.join(sorted(allowed))}")


_KMS_KEY_KEYS = {"alias", "description", "policy", "state", "deletion_window_days", "grants"}
_GRANT_KEYS = {"name", "grantee", "operations", "retiring_principal", "constraints", "description"}
_GRANT_CONSTRAINTS = {"EncryptionContextEquals", "EncryptionContextSubset"}
KMS_PROVISIONED_STATES = ("Enabled", "Disabled", "PendingDeletion")
"""Key states a deployment can ask for: DisableKey, ScheduleKeyDeletion (moto supports both)."""


def _validate_kms_key(source: str, where: str, key: Any) -> None:
    _check_keys(source, where, key, _KMS_KEY_KEYS)
    for required in ("alias", "policy"):
        if required not in key:
            raise ConfigError(source, f"{where}.{required}", "missing required key", f"add `{required}` to the key")
    _string(source, f"{where}.alias", key["alias"])
    if not KMS_ALIAS_RE.match(key["alias"]):
        raise ConfigError(source, f"{where}.alias", f"{one_line(repr(key['alias']), 60)} is not a valid KMS alias name",
                          "use letters, digits, / _ - (without the alias/ prefix; aws/ is reserved)")
    _string(source, f"{where}.description", key.get("description"), required=False)
    _policy(source, f"{where}.policy", key["policy"], Limit.KEY, required=True)
    state = key.get("state", "Enabled")
    if state not in KMS_PROVISIONED_STATES:
        raise ConfigError(source, f"{where}.state", f"unsupported key state {state!r}",
                          f"use one of: {', '.join(KMS_PROVISIONED_STATES)}")
    window = key.get("deletion_window_days", 30)
    if not isinstance(window, int) or isinstance(window, bool) or not 7 <= window <= 30:
        raise ConfigError(source, f"{where}.deletion_window_days", "must be a whole number of days from 7 to 30",
                          "use the PendingWindowInDays ScheduleKeyDeletion accepts (7-30)")
    grants = key.get("grants", [])
    if not isinstance(grants, list):
        raise ConfigError(source, f"{where}.grants", "expected a list of grants", 'write `"grants": [{...}]`')
    for i, grant in enumerate(grants):
        at = f"{where}.grants[{i}]"
        _check_keys(source, at, grant, _GRANT_KEYS)
        if not isinstance(grant.get("grantee"), str) or not grant["grantee"]:
            raise ConfigError(source, f"{at}.grantee", "missing or not a principal ARN", "name the grantee principal")
        operations = grant.get("operations")
        if not isinstance(operations, list) or not operations or not all(isinstance(o, str) for o in operations):
            raise ConfigError(source, f"{at}.operations", "expected a non-empty list of KMS operations",
                              'write e.g. `"operations": ["Decrypt", "GenerateDataKey"]`')
        _check_keys(source, f"{at}.constraints", grant.get("constraints", {}), _GRANT_CONSTRAINTS)


def validate(source: str, data: Any) -> Deployment:
    """Validate a parsed deployment: one `ConfigError` line for the first problem, never another exception."""
    too_deep = _too_deep(data)
    if too_deep is not None:
        raise ConfigError(source, too_deep, f"nested deeper than {MAX_NESTING} levels", "flatten the nesting")
    try:
        return _validate(source, data)
    except ConfigError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
        # a shape the checks below do not name yet: still one line, never a traceback
        raise ConfigError(source, "(file)", f"unexpected structure ({type(exc).__name__})",
                          "compare the file with compliance/data/reference-deployment.json") from None


def _too_deep(data: Any) -> str | None:
    """The dotted path of the first value nested deeper than MAX_NESTING (walked without recursion), else None."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_NESTING:
            return where or "(file)"
        if isinstance(value, dict):
            stack.extend((item, f"{where}.{key}" if where else str(key), depth + 1) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
    return None


def _validate(source: str, data: Any) -> Deployment:
    _check_keys(source, "", data, _TOP_KEYS)
    _string(source, "description", data.get("description"), required=False)
    aws = data.get("aws", {})
    _check_keys(source, "aws", aws, _AWS_KEYS)
    accounts = aws.get("accounts", {})
    if not isinstance(accounts, dict):
        raise ConfigError(source, "aws.accounts", "expected an object keyed by 12-digit account id",
                          'write `"accounts": {"111122223333": {...}}`')
    for account, body in accounts.items():
        where = f"aws.accounts.{account}"
        if not re.fullmatch(r"\d{12}", account):
            raise ConfigError(source, where, "account ids are 12 digits", "use the 12-digit account id as the key")
        _check_keys(source, where, body, _ACCOUNT_KEYS)
        _flags(source, f"{where}.public_access_block", body.get("public_access_block"))
        for i, role in enumerate(_items(source, f"{where}.roles", body.get("roles"))):
            _validate_role(source, f"{where}.roles[{i}]", role)
        for i, key in enumerate(_items(source, f"{where}.kms_keys", body.get("kms_keys"))):
            _validate_kms_key(source, f"{where}.kms_keys[{i}]", key)
        for i, bucket in enumerate(_items(source, f"{where}.buckets", body.get("buckets"))):
            _validate_bucket(source, f"{where}.buckets[{i}]", bucket)
        mraps = _items(source, f"{where}.multi_region_access_points", body.get("multi_region_access_points"))
        for i, mrap in enumerate(mraps):
            _named(source, f"{where}.multi_region_access_points[{i}]", mrap, _MRAP_KEYS)
            names = mrap.get("buckets")
            if not names:
                raise ConfigError(source, f"{where}.multi_region_access_points[{i}].buckets", "missing required key",
                                  "list the bucket names the Multi-Region Access Point routes to")
            for j, name in enumerate(_items(source, f"{where}.multi_region_access_points[{i}].buckets", names)):
                _string(source, f"{where}.multi_region_access_points[{i}].buckets[{j}]", name)
            _policy(source, f"{where}.multi_region_access_points[{i}].policy", mrap.get("policy"), Limit.BUCKET)
    _validate_organization(source, aws.get("organization"))
    azure = data.get("azure")
    if azure is not None:
        _check_keys(source, "azure", azure, _AZURE_KEYS)
        if "container" not in azure:
            raise ConfigError(source, "azure.container", "missing required key", "name the container")
        _string(source, "azure.container", azure["container"])
        _azure_numbers(source, azure)
        parse_spec(source, azure)
    aliases = {key.get("alias") for body in accounts.values() if isinstance(body, dict)
               for key in body.get("kms_keys", []) if isinstance(key, dict)}
    org = aws.get("organization") or {}
    org_names = {"id", "root", *(f"ou/{ou.get('name')}" for ou in org.get("ous", []) if isinstance(ou, dict))}
    for kind, name, where in placeholders(data):
        if kind == "kms" and name not in aliases:
            raise ConfigError(source, where, f"{{{{kms:{name}}}}} names no kms_keys alias",
                              f"declare a kms_keys entry with \"alias\": \"{name}\" or fix the alias")
        if kind == "org" and (not org or name not in org_names):
            raise ConfigError(source, where, f"{{{{org:{name}}}}} names nothing in aws.organization",
                              "use {{org:id}}, {{org:root}} or {{org:ou/NAME}} of a declared OU")
    return Deployment(source, data)


def _azure_numbers(source: str, azure: Mapping[str, Any]) -> None:
    """SAS and stored-policy day counts are finite and within 100 years either way (a SAS may be set to have
    expired, or to start later); a permission string is lower-case letters, https_only true or false."""
    bodies: list[tuple[str, Any]] = [("azure.sas", azure.get("sas"))]
    policies = azure.get("stored_access_policies")
    if isinstance(policies, dict):
        bodies += [(f"azure.stored_access_policies.{name}", body) for name, body in policies.items()]
    for where, body in bodies:
        if not isinstance(body, dict):
            continue
        for key in ("expiry_days", "start_days_ago"):
            value = body.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not -36_500 <= value <= 36_500:
                raise ConfigError(source, f"{where}.{key}", f"expected a number of days from -36500 to 36500, got "
                                  f"{one_line(repr(value), 60)}", "write a number like 180")
        permissions = body.get("permissions")
        if permissions is not None and (not isinstance(permissions, str) or not re.fullmatch(r"[a-z]*", permissions)):
            raise ConfigError(source, f"{where}.permissions", "expected SAS permission letters like \"cw\"",
                              'write e.g. `"permissions": "cw"`')
        if "https_only" in body and not isinstance(body["https_only"], bool):
            raise ConfigError(source, f"{where}.https_only", "expected true or false", '`"https_only": true`')
        _string(source, f"{where}.stored_policy", body.get("stored_policy"), required=False)


ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
ROLE_PATH_RE = re.compile(r"^/(?:[\x21-\x7e]{0,510}/)?$")
KMS_ALIAS_RE = re.compile(r"^(?!aws/)[A-Za-z0-9/_-]{1,250}$")
"""IAM API Reference (CreateRole: RoleName, Path) and KMS API Reference (CreateAlias: AliasName without alias/)."""
OWNERSHIP = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")
VERSIONING = ("Enabled", "Suspended")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def _named(source: str, where: str, table: Any, allowed: set[str]) -> None:
    _check_keys(source, where, table, allowed)
    if "name" not in table:
        raise ConfigError(source, f"{where}.name", "missing required key", "add `name`")
    _string(source, f"{where}.name", table["name"])
    _string(source, f"{where}.description", table.get("description"), required=False)


class SizeUnit(StrEnum):
    NON_WHITESPACE = "non-whitespace characters"
    BYTES = "bytes"
    CHARACTERS = "characters"


class Limit(Enum):
    """AWS's documented size limit of each kind of policy a deployment provisions.

    IAM counts policy size in characters without white space (IAM User Guide, "IAM and AWS STS quotas",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: role trust policy 2,048 by
    default, managed policy 6,144, all inline policies of a role together 10,240). S3 refuses a bucket policy over
    20 KB (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html); KMS a key policy over
    32 KB (KMS Developer Guide, "Key policies"); Organizations an SCP or RCP over 5,120 characters
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html; white space counts
    when the policy is saved through the API).
    """

    TRUST = "the IAM role trust policy quota"
    MANAGED = "the IAM managed policy size quota"
    INLINE = "the IAM quota for all inline policies of one role together"
    BUCKET = "the S3 bucket policy limit (20 KB)"
    KEY = "the KMS key policy limit (32 KB)"
    ORGANIZATIONS = "the AWS Organizations SCP/RCP size limit"

    @property
    def maximum(self) -> int:
        return _LIMITS[self][0]

    @property
    def unit(self) -> SizeUnit:
        return _LIMITS[self][1]

    def size(self, document: Any) -> int:
        text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
        if self.unit is SizeUnit.NON_WHITESPACE:
            return sum(1 for char in text if not char.isspace())
        if self.unit is SizeUnit.BYTES:
            return len(text.encode("utf-8"))
        return len(text)

    def check(self, source: str, where: str, size: int) -> None:
        if size > self.maximum:
            raise ConfigError(source, where, f"{size:,} {self.unit.value}, over {self.value} of {self.maximum:,}; "
                              "AWS would refuse it", "split the policy or remove statements")


_LIMITS: dict[Limit, tuple[int, SizeUnit]] = {
    Limit.TRUST: (2_048, SizeUnit.NON_WHITESPACE),
    Limit.MANAGED: (6_144, SizeUnit.NON_WHITESPACE),
    Limit.INLINE: (10_240, SizeUnit.NON_WHITESPACE),
    Limit.BUCKET: (20_480, SizeUnit.BYTES),
    Limit.KEY: (32_768, SizeUnit.BYTES),
    Limit.ORGANIZATIONS: (5_120, SizeUnit.CHARACTERS),
}


def _policy(source: str, where: str, document: Any, limit: Limit, *, required: bool = False) -> int:
    """A policy document (an object, or JSON text for a bucket policy) within its AWS size limit; its size."""
    if document is None:
        if required:
            raise ConfigError(source, where, "missing required policy document", 'write `{"Version": ..., '
                              '"Statement": [...]}`')
        return 0
    if isinstance(document, str):
        if limit is not Limit.BUCKET:
            raise ConfigError(source, where, "expected a policy object, got a string",
                              'write the policy as a JSON object {"Version": ..., "Statement": [...]}')
    elif not isinstance(document, dict):
        raise ConfigError(source, where, f"expected a policy object, got {type(document).__name__}",
                          'write the policy as a JSON object {"Version": ..., "Statement": [...]}')
    size = limit.size(document)
    limit.check(source, where, size)
    return size


def _items(source: str, where: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(source, where, f"expected a list, got {type(value).__name__}", "write it as `[...]`")
    return value


def _string(source: str, where: str, value: Any, *, required: bool = True, choices: tuple[str, ...] = ()) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise ConfigError(source, where, f"expected a non-empty string, got {type(value).__name__}",
                          "write it as a JSON string")
    if choices and value not in choices:
        raise ConfigError(source, where, f"{one_line(repr(value), 60)} is not one of {', '.join(choices)}",
                          f"use one of {', '.join(choices)}")


def _whole(source: str, where: str, value: Any, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(source, where, f"expected a whole number from {low} to {high}, got "
                          f"{one_line(repr(value), 60)}", f"use a value from {low} to {high}")


def _flags(source: str, where: str, value: Any) -> None:
    """A PublicAccessBlockConfiguration: its four settings, each true or false."""
    if value is None:
        return
    _check_keys(source, where, value, _PAB_KEYS)
    for key, flag in value.items():
        if not isinstance(flag, bool):
            raise ConfigError(source, f"{where}.{key}", f"expected true or false, got {type(flag).__name__}",
                              f'write `"{key}": true`')


def _validate_role(source: str, where: str, role: Any) -> None:
    _check_keys(source, where, role, _ROLE_KEYS)
    for required in ("name", "trust_policy"):
        if required not in role:
            raise ConfigError(source, f"{where}.{required}", "missing required key", f"add `{required}` to the role")
    _string(source, f"{where}.name", role["name"])
    if not ROLE_NAME_RE.match(role["name"]):
        raise ConfigError(source, f"{where}.name", f"{one_line(repr(role['name']), 60)} is not a valid IAM role name",
                          "use 1-64 letters, digits and + = , . @ _ -")
    _string(source, f"{where}.path", role.get("path"), required=False)
    if role.get("path") is not None and not ROLE_PATH_RE.match(role["path"]):
        raise ConfigError(source, f"{where}.path", "an IAM path starts and ends with /", 'write e.g. `"path": "/"`')
    _string(source, f"{where}.description", role.get("description"), required=False)
    _policy(source, f"{where}.trust_policy", role["trust_policy"], Limit.TRUST, required=True)
    _policy(source, f"{where}.permissions_boundary", role.get("permissions_boundary"), Limit.MANAGED)
    # MaxSessionDuration: 3,600 to 43,200 seconds (IAM API Reference, CreateRole)
    _whole(source, f"{where}.max_session_duration", role.get("max_session_duration"), 3_600, 43_200)
    tags = role.get("tags")
    if tags is not None and (not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())):
        raise ConfigError(source, f"{where}.tags", "expected an object of tag key → string value",
                          'write `"tags": {"team": "audit"}`')
    inline = role.get("inline_policies")
    if inline is not None:
        if not isinstance(inline, dict):
            raise ConfigError(source, f"{where}.inline_policies", "expected an object of policy name → document",
                              'write `"inline_policies": {"Export": {...}}`')
        total = sum(_policy(source, f"{where}.inline_policies.{name}", doc, Limit.INLINE, required=True)
                    for name, doc in inline.items())
        Limit.INLINE.check(source, f"{where}.inline_policies", total)
    for i, managed in enumerate(_items(source, f"{where}.managed_policies", role.get("managed_policies"))):
        at = f"{where}.managed_policies[{i}]"
        if not isinstance(managed, dict):
            raise ConfigError(source, at, "expected a JSON object", 'write `{"name": "...", "document": {...}}`')
        _string(source, f"{at}.name", managed.get("name"))
        _policy(source, f"{at}.document", managed.get("document"), Limit.MANAGED, required=True)


def _validate_bucket(source: str, where: str, bucket: Any) -> None:
    _check_keys(source, where, bucket, _BUCKET_KEYS)
    if "name" not in bucket:
        raise ConfigError(source, f"{where}.name", "missing required key", "name the bucket")
    _string(source, f"{where}.name", bucket["name"])
    if not BUCKET_RE.match(bucket["name"]):
        raise ConfigError(source, f"{where}.name", f"{one_line(repr(bucket['name']), 80)} is not a valid S3 "
                          "bucket name",
                          "use 3-63 lower-case letters, digits, dots and hyphens")
    for key in ("region", "description"):
        _string(source, f"{where}.{key}", bucket.get(key), required=False)
    _string(source, f"{where}.ownership", bucket.get("ownership"), required=False, choices=OWNERSHIP)
    _string(source, f"{where}.versioning", bucket.get("versioning"), required=False, choices=VERSIONING)
    _policy(source, f"{where}.policy", bucket.get("policy"), Limit.BUCKET)
    _flags(source, f"{where}.public_access_block", bucket.get("public_access_block"))
    acl = bucket.get("acl")
    if acl is not None and not isinstance(acl, str | dict):
        raise ConfigError(source, f"{where}.acl", "expected a canned ACL name or an object of grant headers",
                          'write `"acl": "private"` or `"acl": {"GrantWrite": "uri=..."}`')
    for key in ("encryption", "object_lock", "logging", "replication"):
        value = bucket.get(key)
        if value is not None and not isinstance(value, dict):
            raise ConfigError(source, f"{where}.{key}", f"expected a JSON object, got {type(value).__name__}",
                              "see README, 'Deployment files'")
    lock = bucket.get("object_lock") or {}
    # Object Lock default retention: Days or Years, a positive whole number (S3 API Reference, DefaultRetention)
    _whole(source, f"{where}.object_lock.days", lock.get("days"), 1, 36_500)
    _whole(source, f"{where}.object_lock.years", lock.get("years"), 1, 100)
    _string(source, f"{where}.object_lock.mode", lock.get("mode"), required=False,
            choices=("GOVERNANCE", "COMPLIANCE"))
    encryption = bucket.get("encryption") or {}
    _string(source, f"{where}.encryption.algorithm", encryption.get("algorithm"), required=bool(encryption),
            choices=SSE_ALGORITHMS if encryption else ())
    logging = bucket.get("logging") or {}
    if logging:
        _string(source, f"{where}.logging.target_bucket", logging.get("target_bucket"))
        _string(source, f"{where}.logging.target_prefix", logging.get("target_prefix"), required=False)
    for i, obj in enumerate(_items(source, f"{where}.objects", bucket.get("objects"))):
        if not isinstance(obj, dict):
            raise ConfigError(source, f"{where}.objects[{i}]", "expected a JSON object", 'write `{"key": "..."}`')
        _string(source, f"{where}.objects[{i}].key", obj.get("key"))
        _string(source, f"{where}.objects[{i}].body", obj.get("body"), required=False)
    for j, point in enumerate(_items(source, f"{where}.access_points", bucket.get("access_points"))):
        _named(source, f"{where}.access_points[{j}]", point, _ACCESS_POINT_KEYS)
        _policy(source, f"{where}.access_points[{j}].policy", point.get("policy"), Limit.BUCKET)
        _string(source, f"{where}.access_points[{j}].vpc_id", point.get("vpc_id"), required=False)


def _validate_organization(source: str, org: Any) -> None:
    if org is None:
        return
    _check_keys(source, "aws.organization", org, _ORGANIZATION_KEYS)
    if "management_account" not in org:
        raise ConfigError(source, "aws.organization.management_account", "missing required key",
                          "name the management account (12 digits)")
    if not isinstance(org["management_account"], str) or not re.fullmatch(r"\d{12}", org["management_account"]):
        raise ConfigError(source, "aws.organization.management_account", "account ids are 12 digits",
                          "use the management account's 12-digit id")
    for kind in ("scps", "rcps"):
        documents = org.get(kind, {})
        if not isinstance(documents, dict):
            raise ConfigError(source, f"aws.organization.{kind}", "expected an object of policy name → document",
                              f'write `"{kind}": {{"Name": {{...}}}}`')
        for name, document in documents.items():
            _policy(source, f"aws.organization.{kind}.{name}", document, Limit.ORGANIZATIONS, required=True)
        for i, name in enumerate(_items(source, f"aws.organization.root_{kind}", org.get(f"root_{kind}"))):
            _string(source, f"aws.organization.root_{kind}[{i}]", name)
    for i, account in enumerate(_items(source, "aws.organization.accounts", org.get("accounts"))):
        if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
            raise ConfigError(source, f"aws.organization.accounts[{i}]", "account ids are 12 digits",
                              "use the 12-digit account id")
    for i, ou in enumerate(_items(source, "aws.organization.ous", org.get("ous"))):
        _named(source, f"aws.organization.ous[{i}]", ou, _OU_KEYS)
        for key in ("accounts", "scps", "rcps"):
            for j, item in enumerate(_items(source, f"aws.organization.ous[{i}].{key}", ou.get(key))):
                _string(source, f"aws.organization.ous[{i}].{key}[{j}]", item)
    for kind in ("scps", "rcps"):
        declared = set(org.get(kind, {}))
        attached = [("aws.organization", n) for n in org.get(f"root_{kind}", [])] + [
            (f"aws.organization.ous[{i}]", n) for i, ou in enumerate(org.get("ous", []))
            for n in (ou.get(kind, []) if isinstance(ou, dict) else [])]
        for where, name in attached:
            if name not in declared:
                raise ConfigError(source, f"{where}.{kind if where != 'aws.organization' else 'root_' + kind}",
                                  f"{name!r} is not declared", f"declare it under aws.organization.{kind}")
    for i, ou in enumerate(org.get("ous", [])):
        _named(source, f"aws.organization.ous[{i}]", ou, _OU_KEYS)


def placeholders(value: Any, where: str = "") -> list[tuple[str, str, str]]:
    """Every `{{env:X}}` / `{{kms:Y}}` in a JSON value as (kind, name, dotted path where it is used)."""
    if isinstance(value, str):
        return [(m.group(1), m.group(2), where) for m in PLACEHOLDER.finditer(value)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in placeholders(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in placeholders(v, f"{where}.{k}" if where else str(k))]
    return []


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_deployment(path: Path | None = None) -> Deployment:
    path = path or reference_deployment_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "file not found", "pass an existing file to --deployment") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "(file)", f"cannot be read ({type(exc).__name__})",
                          "pass a readable UTF-8 JSON file to --deployment") from None
    too_deep = nesting_error(str(path), text, Syntax.JSON)
    if too_deep is not None:
        raise too_deep
    try:
        data = json.loads(text, parse_constant=_no_constant)  # NaN and Infinity are not JSON (RFC 8259)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(str(path), "(file)", f"not valid JSON ({exc})",
                          "fix the JSON syntax at that position") from None
    return validate(str(path), data)


def substitute(value: Any, resolve: Callable[[str, str], str]) -> Any:
    """Replace `{{env:X}}` / `{{kms:Y}}` placeholders in every string of a JSON value."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: resolve(m.group(1), m.group(2)), value)
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, resolve) for k, v in value.items()}
    return value
