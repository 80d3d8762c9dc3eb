"""Deployment files: the AWS and Azure resources the moto/Azurite target provisions.

The format is JSON (see README "Deployment files"). Secrets never appear in it: a string
`{{env:NAME}}` is replaced by the value of environment variable NAME at provisioning time, and
`{{kms:ALIAS}}` by the ARN of the KMS key created with that alias.
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

PLACEHOLDER = re.compile(r"\{\{(env|kms):([A-Za-z0-9_./-]+)\}\}")

_ACCOUNT_KEYS = {"description", "roles", "buckets", "kms_keys", "public_access_block"}
_ROLE_KEYS = {"name", "path", "trust_policy", "inline_policies", "managed_policies", "permissions_boundary",
              "tags", "max_session_duration", "description"}
_BUCKET_KEYS = {"name", "region", "policy", "public_access_block", "ownership", "encryption", "versioning",
                "object_lock", "logging", "objects", "replication", "description"}
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
        for i, bucket in enumerate(body.get("buckets", [])):
            _check_keys(source, f"{where}.buckets[{i}]", bucket, _BUCKET_KEYS)
            if "name" not in bucket:
                raise ConfigError(source, f"{where}.buckets[{i}].name", "missing required key", "name the bucket")
    azure = data.get("azure")
    if azure is not None:
        _check_keys(source, "azure", azure, _AZURE_KEYS)
        if "container" not in azure:
            raise ConfigError(source, "azure.container", "missing required key", "name the container")
    aliases = {key.get("alias") for body in accounts.values() if isinstance(body, dict)
               for key in body.get("kms_keys", []) if isinstance(key, dict)}
    for kind, name, where in placeholders(data):
        if kind == "kms" and name not in aliases:
            raise ConfigError(source, where, f"{{{{kms:{name}}}}} names no kms_keys alias",
                              f"declare a kms_keys entry with \"alias\": \"{name}\" or fix the alias")
    return Deployment(source, data)


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
