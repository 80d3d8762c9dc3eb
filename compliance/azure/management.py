"""Management-plane reads (azure-identity + azure-mgmt-storage), read-only, against any Resource Manager.

Used when the chain config has [azure.management]. Every request goes through `ReadOnlyGuard`: a
method other than GET raises `ReadOnlyViolation` before anything is sent, and every request is
recorded (method and path) for the evidence.

Clouds. `[azure.management] endpoint` is the Resource Manager base URL; the token audience is that
URL + "/.default" (Resource Manager rejects a token for another cloud with 401
InvalidAuthenticationTokenAudience). The sign-in authority is azure-identity's standard
`AZURE_AUTHORITY_HOST` when set, otherwise the authority of the endpoint's cloud
("Azure China 21Vianet" / "Azure Government developer guide"):

    Azure public      https://management.azure.com         login.microsoftonline.com
    Azure China       https://management.chinacloudapi.cn  login.chinacloudapi.cn
    Azure Government  https://management.usgovcloudapi.net login.microsoftonline.us

An authority outside those three (Azure Stack Hub, a test endpoint) is used as given:
`disable_instance_discovery` is set, since MSAL would otherwise ask login.microsoftonline.com to
validate it.

What is read, at api-version 2025-06-01 (the version azure-mgmt-storage 24.0.1 sends; Azure's REST
API examples for it are replayed by tests/azure/test_management_replay.py):

    GET .../storageAccounts/{a}                                          Storage Accounts - Get Properties
    GET .../storageAccounts/{a}/blobServices/default                     Blob Services - Get Service Properties
    GET .../blobServices/default/containers/{c}                          Blob Containers - Get
    GET .../containers/{c}/immutabilityPolicies/default                  Blob Containers - Get Immutability Policy
                                                                         (only when the container has one)
    GET https://{a}.blob.../{c}?restype=container&comp=acl (data plane)  Get Container ACL: stored access
                                                                         policies, Microsoft Entra authorized

(https://learn.microsoft.com/rest/api/storagerp/storage-accounts/get-properties,
.../storagerp/blob-services/get-service-properties, .../storagerp/blob-containers/get,
.../storagerp/blob-containers/get-immutability-policy,
https://learn.microsoft.com/rest/api/storageservices/get-container-acl.) Absent fields are read as the
service treats them: no allowBlobPublicAccess = allowed, no minimumTlsVersion = TLS 1.0, no
isVersioningEnabled or deleteRetentionPolicy = off; a missing supportsHttpsTrafficOnly is not guessed.

Needed: Reader on the storage account (Microsoft.Storage/storageAccounts/read,
.../blobServices/read, .../blobServices/containers/read) and, for stored access policies,
Microsoft.Storage/storageAccounts/blobServices/containers/getAcl/action on the container (a custom
role with that one action; Get Container ACL accepts Microsoft Entra authorization since August 2025).
A read that fails leaves its fact unreadable with the API and error code, so the check reports ERROR.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from compliance.azure.analysis import StoredPolicy
from compliance.azure.posture import Fact, Immutability, Posture, public_level
from compliance.config import AzureManagement
from compliance.errors import ReadOnlyViolation, TargetError

API_VERSION = "2025-06-01"
INSTALL = "pip install 'export-chain-compliance'  (azure-identity and azure-mgmt-storage are dependencies)"
PERMISSIONS = (
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/blobServices/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
)
ACL_PERMISSION = "Microsoft.Storage/storageAccounts/blobServices/containers/getAcl/action"
CLOUD_AUTHORITIES = {
    "management.azure.com": "login.microsoftonline.com",
    "management.chinacloudapi.cn": "login.chinacloudapi.cn",
    "management.usgovcloudapi.net": "login.microsoftonline.us",
}
KNOWN_AUTHORITIES = frozenset(CLOUD_AUTHORITIES.values())


class ManagementUnavailable(TargetError):
    """The management SDK is not installed, or the credential cannot be built."""


def authority_for(endpoint: str, environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """(authority host, disable_instance_discovery) for a Resource Manager endpoint."""
    env = os.environ if environ is None else environ
    explicit = (env.get("AZURE_AUTHORITY_HOST") or "").strip()
    if explicit:
        host = urlsplit(explicit if "://" in explicit else f"https://{explicit}").netloc
        return explicit.rstrip("/"), host not in KNOWN_AUTHORITIES
    host = urlsplit(endpoint).netloc
    return CLOUD_AUTHORITIES.get(host, "login.microsoftonline.com"), False


def scope_for(endpoint: str) -> str:
    return endpoint.rstrip("/") + "/.default"


@dataclass
class CallRecord:
    """Every management-plane and Entra-authorized request the reader made (method and path)."""

    calls: list[str] = field(default_factory=list)


def _guard_policy(record: CallRecord) -> Any:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class ReadOnlyGuard(SansIOHTTPPolicy):  # type: ignore[type-arg]
        """Refuses anything but GET before it is sent; records each request."""

        def on_request(self, request: Any) -> None:
            http = request.http_request
            parts = urlsplit(http.url)
            record.calls.append(f"{http.method} {parts.path}")
            if http.method.upper() != "GET":
                raise ReadOnlyViolation(f"live Azure mode is read-only: refused {http.method} {parts.path}")

    return ReadOnlyGuard()


@dataclass
class ManagementSession:
    """One credential and one StorageManagementClient per chain; the data-plane ACL read shares both."""

    config: AzureManagement
    record: CallRecord = field(default_factory=CallRecord)
    _credential: Any = None
    _client: Any = None

    def credential(self) -> Any:
        if self._credential is None:
            try:
                from azure.identity import DefaultAzureCredential
            except ImportError:
                raise ManagementUnavailable(f"[azure.management] is configured but azure-identity is not installed: "
                                            f"{INSTALL}") from None
            authority, no_discovery = authority_for(self.config.endpoint)
            self._credential = DefaultAzureCredential(authority=authority, disable_instance_discovery=no_discovery,
                                                      exclude_interactive_browser_credential=True)
        return self._credential

    def client(self) -> Any:
        if self._client is None:
            try:
                from azure.mgmt.storage import StorageManagementClient
            except ImportError:
                raise ManagementUnavailable(f"[azure.management] is configured but azure-mgmt-storage is not "
                                            f"installed: {INSTALL}") from None
            self._client = StorageManagementClient(
                self.credential(), self.config.subscription_id, base_url=self.config.endpoint,
                credential_scopes=[scope_for(self.config.endpoint)], api_version=API_VERSION,
                per_call_policies=[_guard_policy(self.record)], retry_total=0)
        return self._client


def error_code(exc: BaseException) -> str:
    """The service's error code, or the exception type; never the exception text (it may hold a URL)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    code = (headers.get("x-ms-error-code") if hasattr(headers, "get") else None) or getattr(exc, "error_code", None)
    code = code or getattr(getattr(exc, "error", None), "code", None)
    status = getattr(exc, "status_code", None)
    text = str(getattr(code, "value", code)) if code else type(exc).__name__
    return f"HTTP {status} {text}" if status else text


@dataclass(frozen=True, slots=True)
class _Answer:
    """One Resource Manager read: the SDK object, or why it could not be read; and where it came from."""

    value: Any
    error: str | None
    source: str

    def fact(self, getter: Callable[[Any], Any]) -> Fact:
        return Fact.unknown(self.error) if self.error else Fact.of(getter(self.value), self.source)


def _read(api: str, source: str, call: Callable[[], Any]) -> _Answer:
    try:
        return _Answer(call(), None, source)
    except ReadOnlyViolation:
        raise
    except Exception as exc:
        return _Answer(None, f"unreadable: {api} failed ({error_code(exc)}); the management credential cannot read "
                             "it", source)


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _immutability(policy: Any) -> Immutability | None:
    if policy is None:
        return None
    state_text = _text(getattr(policy, "state", None))
    if state_text is None or state_text == "Disabled":
        return None
    return Immutability(getattr(policy, "immutability_period_since_creation_in_days", None), state_text,
                        getattr(policy, "allow_protected_append_writes", None))


def read_posture(session: ManagementSession, container: str) -> Posture:
    """Account, blob service, container and immutability policy settings through Resource Manager."""
    mgmt, client = session.config, session.client()
    rg, name = mgmt.resource_group, mgmt.account_name
    account = _read("Storage Accounts - Get Properties", f"Resource Manager: storageAccounts/{name}",
                    lambda: client.storage_accounts.get_properties(rg, name))
    service = _read("Blob Services - Get Service Properties",
                    f"Resource Manager: storageAccounts/{name}/blobServices/default",
                    lambda: client.blob_services.get_service_properties(rg, name))
    box = _read("Blob Containers - Get", f"Resource Manager: blobServices/default/containers/{container}",
                lambda: client.blob_containers.get(rg, name, container))
    policy = _Answer(None, None, f"{box.source}/immutabilityPolicies/default")
    if box.value is not None and getattr(box.value, "has_immutability_policy", False):
        policy = _read("Blob Containers - Get Immutability Policy", policy.source,
                       lambda: client.blob_containers.get_immutability_policy(rg, name, container))
    return Posture(
        public_access=box.fact(lambda c: public_level(getattr(c, "public_access", None))),
        account_allows_public=account.fact(lambda a: getattr(a, "allow_blob_public_access", None) is not False),
        https_only=_https_only(account),
        min_tls=account.fact(lambda a: _text(getattr(a, "minimum_tls_version", None)) or "TLS1_0"),
        versioning=service.fact(lambda s: bool(getattr(s, "is_versioning_enabled", False))),
        blob_soft_delete_days=service.fact(lambda s: _retention(getattr(s, "delete_retention_policy", None))),
        container_soft_delete_days=service.fact(
            lambda s: _retention(getattr(s, "container_delete_retention_policy", None))),
        immutability=_container_immutability(box, policy),
        version_level_worm=box.fact(lambda c: _version_level(c, account.value)),
        legal_hold=box.fact(_legal_hold),
        notes=(f"Read through Resource Manager {mgmt.endpoint} (api-version {API_VERSION}): subscription "
               f"{mgmt.subscription_id}, resource group {rg}, account {name}; requests: "
               f"{'; '.join(session.record.calls)}.",),
    )


def _retention(rule: Any) -> int | None:
    return getattr(rule, "days", None) if rule is not None and getattr(rule, "enabled", False) else None


def _https_only(account: _Answer) -> Fact:
    if account.error:
        return Fact.unknown(account.error)
    value = getattr(account.value, "enable_https_traffic_only", None)
    if value is None:
        return Fact.unknown("not stated: Resource Manager's answer has no supportsHttpsTrafficOnly")
    return Fact.of(bool(value), account.source)


def _version_level(box: Any, account: Any) -> Any:
    """The container's version-level immutability (WORM) policy, or the account's when the container inherits it;
    False when neither has version-level immutability."""
    enabled = bool(getattr(getattr(box, "immutable_storage_with_versioning", None), "enabled", False))
    if not enabled and account is not None:
        inherited = getattr(account, "immutable_storage_with_versioning", None)
        if getattr(inherited, "enabled", False):
            return _immutability(getattr(inherited, "immutability_policy", None)) or Immutability(None, None)
    return _immutability(getattr(box, "immutability_policy", None)) if enabled else False


def _legal_hold(box: Any) -> tuple[str, ...]:
    legal = getattr(box, "legal_hold", None)
    tags = tuple(str(getattr(t, "tag", t)) for t in (getattr(legal, "tags", None) or ()))
    return tags or (("(untagged)",) if getattr(box, "has_legal_hold", False) else ())


def _container_immutability(box: _Answer, policy: _Answer) -> Fact:
    """The container's time-based retention policy: from its own read, else the container's summary of it."""
    summary = _immutability(getattr(box.value, "immutability_policy", None)) if box.value is not None else None
    if policy.error and summary is not None:
        return Fact.of(summary, f"{box.source} (its immutabilityPolicy summary; the policy read {policy.error})")
    if policy.error:
        return Fact.unknown(policy.error)
    if policy.value is not None:
        return Fact.of(_immutability(policy.value), policy.source)
    return box.fact(lambda c: _immutability(getattr(c, "immutability_policy", None)))


def read_stored_policies(session: ManagementSession, account_url: str, container: str,
                         verify: str | bool = True) -> tuple[dict[str, StoredPolicy] | None, str | None]:
    """The container's stored access policies via Get Container ACL with the management credential.

    Returns (policies, None), or (None, why) when they cannot be read.
    https://learn.microsoft.com/rest/api/storageservices/get-container-acl
    """
    from azure.storage.blob import ContainerClient

    from compliance.azure.sas import SasFormatError, parse_time

    try:
        client = ContainerClient(account_url, container, credential=session.credential(), connection_verify=verify,
                                 retry_total=0, per_call_policies=[_guard_policy(session.record)])
        acl = client.get_container_access_policy()
    except ReadOnlyViolation:
        raise
    except Exception as exc:
        return None, (f"Get Container ACL with the management credential failed ({error_code(exc)}); it needs "
                      f"{ACL_PERMISSION} on the container")
    policies: dict[str, StoredPolicy] = {}
    try:
        for ident in acl.get("signed_identifiers", []) or []:
            access = ident.access_policy

            def when(value: Any, name: str) -> Any:
                if value in (None, ""):
                    return None
                if hasattr(value, "tzinfo"):
                    return value
                return parse_time(name, str(value))

            policies[ident.id] = StoredPolicy(ident.id, getattr(access, "permission", None) or None,
                                              when(getattr(access, "start", None), "policy start"),
                                              when(getattr(access, "expiry", None), "policy expiry"))
    except SasFormatError as exc:
        return None, f"Get Container ACL returned a policy time that cannot be read ({exc})"
    return policies, None
