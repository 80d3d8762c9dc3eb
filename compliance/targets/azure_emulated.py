"""The embedded Azure target: provision a deployment's "azure" section (`compliance.targets.azure_spec`) into
Azurite, mint the SAS.

Provisioning uses Azurite's well-known development account key; emulated mode is the only place the
suite ever holds an account key. The minted SAS goes into the chain's `sas_env` variable only if the
user has not set one, so a user-supplied (possibly flawed) SAS is what gets checked.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import AccessPolicy, BlobServiceClient, ContainerClient, generate_container_sas

from compliance.errors import EmulatorError
from compliance.targets import azurite
from compliance.targets.azure_spec import AzureSpec, PolicySpec

CLOCK_SKEW = timedelta(minutes=15)


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
