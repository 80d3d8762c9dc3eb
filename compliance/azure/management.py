"""Optional management-plane reads (azure-identity + azure-mgmt-storage), read-only.

Used only when the chain config has [azure.management]. The packages are an optional extra and are
imported lazily. Reads need Reader (Microsoft.Storage/storageAccounts/read,
.../blobServices/read, .../blobServices/containers/read) on the storage account; every read that
fails leaves its fact unreadable with the API and error code, so the check reports ERROR.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compliance.azure.posture import Fact, Immutability, Posture, public_level
from compliance.config import AzureManagement
from compliance.errors import TargetError

INSTALL = "pip install 'export-chain-compliance[azure-mgmt]'  (azure-identity and azure-mgmt-storage)"
PERMISSIONS = (
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/blobServices/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
)


class ManagementUnavailable(TargetError):
    """The optional azure-mgmt extra is not installed."""


def _client(subscription_id: str) -> Any:
    try:
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.storage import StorageManagementClient
    except ImportError:
        raise ManagementUnavailable(f"[azure.management] is configured but the management SDK is not installed: "
                                    f"{INSTALL}") from None
    return StorageManagementClient(DefaultAzureCredential(exclude_interactive_browser_credential=True),
                                   subscription_id)


def _read(api: str, call: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return call(), None
    except Exception as exc:
        code = getattr(exc, "error_code", None) or getattr(getattr(exc, "error", None), "code", None)
        return None, f"{api} failed ({code or type(exc).__name__}); the management credential cannot read it"


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _immutability(policy: Any) -> Immutability | None:
    if policy is None:
        return None
    days = getattr(policy, "immutability_period_since_creation_in_days", None)
    state = getattr(policy, "state", None)
    state_text = _text(state)
    if state_text == "Disabled":
        return None
    return Immutability(days, state_text, getattr(policy, "allow_protected_append_writes", None))


def read_posture(mgmt: AzureManagement, container: str, client: Any | None = None) -> Posture:
    """Read account, blob service and container settings through Azure Resource Manager."""
    client = client or _client(mgmt.subscription_id)
    rg, name = mgmt.resource_group, mgmt.account_name
    account, account_err = _read("storageAccounts/read",
                                 lambda: client.storage_accounts.get_properties(rg, name))
    service, service_err = _read("blobServices/read",
                                 lambda: client.blob_services.get_service_properties(rg, name))
    box, box_err = _read("blobServices/containers/read", lambda: client.blob_containers.get(rg, name, container))
    src_a, src_s, src_c = "ARM storageAccounts", "ARM blobServices", "ARM blobServices/containers"

    def fact(obj: Any, err: str | None, src: str, getter: Callable[[Any], Any]) -> Fact:
        return Fact.unknown(err) if err else Fact.of(getter(obj), src)

    def retention(policy: Any) -> int | None:
        return getattr(policy, "days", None) if policy is not None and getattr(policy, "enabled", False) else None

    def version_level(c: Any) -> Any:
        enabled = bool(getattr(getattr(c, "immutable_storage_with_versioning", None), "enabled", False))
        if not enabled and account is not None:
            acct = getattr(account, "immutable_storage_with_versioning", None)
            if getattr(acct, "enabled", False):
                return _immutability(getattr(acct, "immutability_policy", None)) or Immutability(None, None)
        return _immutability(getattr(c, "immutability_policy", None)) if enabled else False

    def hold(c: Any) -> tuple[str, ...]:
        legal = getattr(c, "legal_hold", None)
        tags = tuple(str(getattr(t, "tag", t)) for t in (getattr(legal, "tags", None) or ()))
        return tags or (("(untagged)",) if getattr(c, "has_legal_hold", False) else ())

    return Posture(
        public_access=fact(box, box_err, src_c, lambda c: public_level(getattr(c, "public_access", None))),
        account_allows_public=fact(account, account_err, src_a,
                                   lambda a: getattr(a, "allow_blob_public_access", None) is not False),
        https_only=fact(account, account_err, src_a, lambda a: bool(getattr(a, "enable_https_traffic_only", True))),
        min_tls=fact(account, account_err, src_a, lambda a: _text(getattr(a, "minimum_tls_version", None)) or "TLS1_0"),
        versioning=fact(service, service_err, src_s, lambda s: bool(getattr(s, "is_versioning_enabled", False))),
        blob_soft_delete_days=fact(service, service_err, src_s,
                                   lambda s: retention(getattr(s, "delete_retention_policy", None))),
        container_soft_delete_days=fact(service, service_err, src_s,
                                        lambda s: retention(getattr(s, "container_delete_retention_policy", None))),
        immutability=fact(box, box_err, src_c, lambda c: _immutability(getattr(c, "immutability_policy", None))),
        version_level_worm=fact(box, box_err, src_c, version_level),
        legal_hold=fact(box, box_err, src_c, hold),
        notes=(f"Read through Azure Resource Manager: subscription {mgmt.subscription_id}, resource group {rg}, "
               f"account {name}.",),
    )
