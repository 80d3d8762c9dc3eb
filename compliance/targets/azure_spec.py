"""The "azure" section of a deployment file, validated into an `AzureSpec` (used by the Azurite target).

Deployment format (all keys optional except `container`):

    "azure": {
      "container": "audit-backup",
      "public_access": null | "blob" | "container",
      "stored_access_policies": {"backup-writer": {"permissions": "cw", "expiry_days": 180}},
      "sas": {"permissions": "cw", "expiry_days": 180, "https_only": true, "stored_policy": "backup-writer"},
      "blobs": [{"name": "qualio/2026/11/28/audit-trail-export.pdf", "body": "..."}]
    }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import ConfigError

_POLICY_KEYS = {"permissions", "expiry_days", "start_days_ago"}
_SAS_KEYS = {"permissions", "expiry_days", "https_only", "stored_policy", "start_days_ago"}


@dataclass(frozen=True, slots=True)
class PolicySpec:
    permissions: str | None
    expiry_days: float | None
    start_days_ago: float | None


@dataclass(frozen=True, slots=True)
class SasSpec:
    permissions: str | None = "cw"
    expiry_days: float | None = 180
    https_only: bool = True
    stored_policy: str | None = None
    start_days_ago: float | None = None


@dataclass(frozen=True, slots=True)
class AzureSpec:
    container: str
    public_access: str | None = None
    sas: SasSpec = field(default_factory=SasSpec)
    policies: Mapping[str, PolicySpec] = field(default_factory=dict)
    blobs: tuple[tuple[str, bytes], ...] = ()


def _keys(source: str, where: str, table: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(source, where, "expected a JSON object", "see compliance/targets/azure_spec.py")
    for key in table:
        if key not in allowed:
            raise ConfigError(source, f"{where}.{key}", "unknown key", f"use one of: {', '.join(sorted(allowed))}")
    return table


def _number(source: str, where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(source, where, f"expected a number of days, got {value!r}", "write a number like 180")
    return float(value)


def parse_spec(source: str, data: Mapping[str, Any] | None) -> AzureSpec | None:
    """The deployment's "azure" section (`data`; None: it has none) as a spec; ConfigError names what is wrong."""
    if data is None:
        return None
    public = data.get("public_access")
    if public not in (None, "blob", "container"):
        raise ConfigError(source, "azure.public_access", f"{public!r} is not a public access level",
                          'use null (private), "blob" or "container"')
    policies: dict[str, PolicySpec] = {}
    raw_policies = data.get("stored_access_policies") or {}
    if not isinstance(raw_policies, dict):
        raise ConfigError(source, "azure.stored_access_policies", "expected an object keyed by policy name",
                          'write {"backup-writer": {"permissions": "cw", "expiry_days": 180}}')
    for name, body in raw_policies.items():
        where = f"azure.stored_access_policies.{name}"
        body = _keys(source, where, body, _POLICY_KEYS)
        policies[name] = PolicySpec(body.get("permissions"), _number(source, f"{where}.expiry_days",
                                    body.get("expiry_days")), _number(source, f"{where}.start_days_ago",
                                                                      body.get("start_days_ago")))
    if len(policies) > 5:
        raise ConfigError(source, "azure.stored_access_policies", "Azure allows at most 5 stored access policies",
                          "remove some")
    sas_raw = _keys(source, "azure.sas", data.get("sas", {}), _SAS_KEYS)
    stored = sas_raw.get("stored_policy")
    if stored is not None and stored not in policies:
        raise ConfigError(source, "azure.sas.stored_policy", f"no stored access policy named {stored!r}",
                          "define it under azure.stored_access_policies")
    sas = SasSpec(
        permissions=sas_raw.get("permissions", None if stored else "cw"),
        expiry_days=_number(source, "azure.sas.expiry_days", sas_raw.get("expiry_days", None if stored else 180)),
        https_only=bool(sas_raw.get("https_only", True)), stored_policy=stored,
        start_days_ago=_number(source, "azure.sas.start_days_ago", sas_raw.get("start_days_ago")))
    blobs = []
    for i, blob in enumerate(data.get("blobs", []) or []):
        blob = _keys(source, f"azure.blobs[{i}]", blob, {"name", "body"})
        if not isinstance(blob.get("name"), str):
            raise ConfigError(source, f"azure.blobs[{i}].name", "missing blob name", "add a name")
        blobs.append((blob["name"], str(blob.get("body", "")).encode()))
    return AzureSpec(str(data["container"]), public, sas, policies, tuple(blobs))
