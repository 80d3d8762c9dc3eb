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
from importlib import resources
from pathlib import Path
from typing import Any

from compliance.errors import ConfigError

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
    _check_keys(source, "", data, _TOP_KEYS)
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
        for i, role in enumerate(body.get("roles", [])):
            _check_keys(source, f"{where}.roles[{i}]", role, _ROLE_KEYS)
            for required in ("name", "trust_policy"):
                if required not in role:
                    raise ConfigError(source, f"{where}.roles[{i}].{required}", "missing required key",
                                      f"add `{required}` to the role")
        for i, key in enumerate(body.get("kms_keys", [])):
            _validate_kms_key(source, f"{where}.kms_keys[{i}]", key)
        for i, bucket in enumerate(body.get("buckets", [])):
            _check_keys(source, f"{where}.buckets[{i}]", bucket, _BUCKET_KEYS)
            if "name" not in bucket:
                raise ConfigError(source, f"{where}.buckets[{i}].name", "missing required key", "name the bucket")
            for j, point in enumerate(bucket.get("access_points", [])):
                _named(source, f"{where}.buckets[{i}].access_points[{j}]", point, _ACCESS_POINT_KEYS)
        for i, mrap in enumerate(body.get("multi_region_access_points", [])):
            _named(source, f"{where}.multi_region_access_points[{i}]", mrap, _MRAP_KEYS)
            if not mrap.get("buckets"):
                raise ConfigError(source, f"{where}.multi_region_access_points[{i}].buckets", "missing required key",
                                  "list the bucket names the Multi-Region Access Point routes to")
    _validate_organization(source, aws.get("organization"))
    azure = data.get("azure")
    if azure is not None:
        _check_keys(source, "azure", azure, _AZURE_KEYS)
        if "container" not in azure:
            raise ConfigError(source, "azure.container", "missing required key", "name the container")
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


def _named(source: str, where: str, table: Any, allowed: set[str]) -> None:
    _check_keys(source, where, table, allowed)
    if "name" not in table:
        raise ConfigError(source, f"{where}.name", "missing required key", "add `name`")


def _validate_organization(source: str, org: Any) -> None:
    if org is None:
        return
    _check_keys(source, "aws.organization", org, _ORGANIZATION_KEYS)
    if "management_account" not in org:
        raise ConfigError(source, "aws.organization.management_account", "missing required key",
                          "name the management account (12 digits)")
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


def load_deployment(path: Path | None = None) -> Deployment:
    path = path or reference_deployment_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "file not found", "pass an existing file to --deployment") from None
    except ValueError as exc:
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
