"""The embedded Azure target: provision a deployment's "azure" section into Azurite, mint the SAS.

Deployment format (all keys optional except `container`):

    "azure": {
      "container": "audit-backup",
      "public_access": null | "blob" | "container",
      "stored_access_policies": {"backup-writer": {"permissions": "cw", "expiry_days": 180}},
      "sas": {"permissions": "cw", "expiry_days": 180, "https_only": true, "stored_policy": "backup-writer"},
      "blobs": [{"name": "qualio/2026/11/28/audit-trail-export.pdf", "body": "..."}]
    }

Provisioning uses Azurite's well-known development account key; emulated mode is the only place the
suite ever holds an account key. The minted SAS goes into the chain's `sas_env` variable only if the
user has not set one, so a user-supplied (possibly flawed) SAS is what gets checked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import AccessPolicy, BlobServiceClient, ContainerClient, generate_container_sas

from compliance.errors import ConfigError, EmulatorError
from compliance.targets import azurite
from compliance.targets.deployment import Deployment

CLOCK_SKEW = timedelta(minutes=15)
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
        raise ConfigError(source, where, "expected a JSON object", "see compliance/targets/azure_emulated.py")
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


def parse_spec(deployment: Deployment) -> AzureSpec | None:
    data, source = deployment.azure, deployment.source
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


def _access_policy(spec: PolicySpec, now: datetime) -> AccessPolicy:
    start = now - timedelta(days=spec.start_days_ago) if spec.start_days_ago is not None else now - CLOCK_SKEW
    expiry = now + timedelta(days=spec.expiry_days) if spec.expiry_days is not None else None
    return AccessPolicy(permission=spec.permissions, expiry=expiry, start=start)


class EmulatedAzure:
    """Azurite (HTTPS, plus a plain-HTTP twin on demand) provisioned with one deployment."""

    def __init__(self, spec: AzureSpec) -> None:
        self.spec = spec
        self.https: azurite.AzuriteProcess | None = None
        self.http: azurite.AzuriteProcess | None = None
        self.generated_env: list[str] = []

    @property
    def account_url(self) -> str:
        assert self.https is not None, "start() first"
        return self.https.account_url

    @property
    def verify(self) -> str | bool:
        assert self.https is not None, "start() first"
        return self.https.verify

    def start(self) -> None:
        self.https = azurite.acquire(https=True)
        try:
            self._provision(self.https, with_blobs=True)
        except Exception:
            self.stop()
            raise

    def http_account_url(self) -> str:
        """A plain-HTTP Azurite with the same container and policies, for the protocol probe."""
        if self.http is None:
            self.http = azurite.acquire(https=False)
            self._provision(self.http, with_blobs=False)
        return self.http.account_url

    def stop(self) -> None:
        for process in (self.http, self.https):
            if process is not None:
                azurite.release(process)
        self.http = self.https = None

    def admin(self, process: azurite.AzuriteProcess | None = None) -> BlobServiceClient:
        process = process or self.https
        assert process is not None
        return BlobServiceClient(process.account_url, credential={"account_name": azurite.ACCOUNT_NAME,
                                                                  "account_key": azurite.ACCOUNT_KEY},
                                 connection_verify=process.verify, retry_total=0)

    def container_admin(self, name: str) -> ContainerClient:
        return self.admin().get_container_client(name)

    def _provision(self, process: azurite.AzuriteProcess, *, with_blobs: bool) -> None:
        spec = self.spec
        try:
            box = self.admin(process).get_container_client(spec.container)
            with contextlib.suppress(ResourceNotFoundError):
                box.delete_container()  # the emulator belongs to this run: start from a clean container
            box.create_container(public_access=spec.public_access)
            now = datetime.now(UTC)
            if spec.policies:
                box.set_container_access_policy(
                    {name: _access_policy(p, now) for name, p in spec.policies.items()},
                    public_access=spec.public_access)
            for name, body in spec.blobs if with_blobs else ():
                box.upload_blob(name, body, overwrite=True)
        except (HttpResponseError, AzureError) as exc:
            code = getattr(getattr(exc, "response", None), "headers", {}).get("x-ms-error-code") or type(exc).__name__
            raise EmulatorError(f"provisioning container {spec.container!r} into Azurite failed ({code})") from None

    def mint_sas(self) -> str:
        sas, now = self.spec.sas, datetime.now(UTC)
        start = now - timedelta(days=sas.start_days_ago) if sas.start_days_ago is not None else now - CLOCK_SKEW
        return generate_container_sas(
            azurite.ACCOUNT_NAME, self.spec.container, account_key=azurite.ACCOUNT_KEY,
            permission=sas.permissions,
            expiry=now + timedelta(days=sas.expiry_days) if sas.expiry_days is not None else None,
            start=None if sas.stored_policy else start,
            policy_id=sas.stored_policy, protocol="https" if sas.https_only else "https,http")

    def ensure_sas_env(self, env_names: list[str]) -> None:
        """Put a freshly minted SAS into each unset variable; a user-supplied SAS is left alone."""
        for name in env_names:
            if not os.environ.get(name):
                os.environ[name] = self.mint_sas()
                self.generated_env.append(name)

    def container_access_policy(self, container: str) -> dict[str, Any] | None:
        """Get Container ACL as the SDK answers it (None: it could not be read); `compliance.azure.backup`
        turns it into stored policies."""
        try:
            acl: dict[str, Any] = self.container_admin(container).get_container_access_policy()
        except (HttpResponseError, AzureError):
            return None
        return acl
