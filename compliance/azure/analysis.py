"""What a parsed SAS effectively grants, once a stored access policy (if any) is taken into account.

Pure functions: no I/O. A SAS that names a stored access policy (`si`) takes its permissions, start
and expiry from that policy unless the token carries them itself. The policy lives on the container
and can only be read with the account key, a data-plane role or Azurite's well-known key, so the
policy view may be "unreadable"; then the affected checks report ERROR, never PASS.

A field set both in the token and in its stored access policy makes Azure refuse the SAS with 400
("Define a stored access policy", https://learn.microsoft.com/rest/api/storageservices/define-stored-access-policy).
A user delegation SAS is valid only while its delegation key is: its effective expiry is min(se, ske)
("Create a user delegation SAS", https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from compliance.azure.sas import PERMISSIONS, SasKind, SasToken


class PolicyState(StrEnum):
    NONE = "none"  # the SAS names no stored access policy
    FOUND = "found"
    MISSING = "missing"  # named, but not on the container: revoked or never created
    UNREADABLE = "unreadable"  # named, but the container's policies cannot be read with what we have


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    id: str
    permissions: str | None
    start: datetime | None
    expiry: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "permissions": self.permissions,
                "start": self.start.isoformat() if self.start else None,
                "expiry": self.expiry.isoformat() if self.expiry else None}


@dataclass(frozen=True, slots=True)
class EffectiveSas:
    token: SasToken
    policy_state: PolicyState
    policy: StoredPolicy | None = None
    unreadable_reason: str | None = None  # why the stored policies could not be read (UNREADABLE)

    @property
    def unresolved(self) -> bool:
        """The SAS relies on a stored policy whose content we could not read."""
        return self.policy_state is PolicyState.UNREADABLE

    @property
    def permissions(self) -> str | None:
        if self.policy is not None and self.policy.permissions:
            return self.policy.permissions
        return self.token.permissions

    @property
    def start(self) -> datetime | None:
        if self.policy is not None and self.policy.start:
            return self.policy.start
        return self.token.start

    @property
    def signed_expiry(self) -> datetime | None:
        """se, from the stored access policy or the token."""
        if self.policy is not None and self.policy.expiry:
            return self.policy.expiry
        return self.token.expiry

    @property
    def key_bounds_expiry(self) -> bool:
        """A user delegation SAS whose delegation key expires before its own se."""
        key, signed = self.token.key_expiry, self.signed_expiry
        return key is not None and (signed is None or key < signed)

    @property
    def expiry(self) -> datetime | None:
        """When Azure stops accepting the SAS: min(se, ske) for a user delegation SAS."""
        return self.token.key_expiry if self.key_bounds_expiry else self.signed_expiry

    def source_of(self, what: str) -> str:
        if what == "expiry" and self.key_bounds_expiry:
            return (f"the user delegation key's expiry ske, which comes before se; key of {self.token.signer}")
        from_policy = self.policy is not None and getattr(self.policy, what)
        return f"stored access policy {self.token.policy_id!r}" if from_policy else "the token"

    def conflicts(self) -> list[str]:
        """Fields set both in the token and in its stored access policy: Azure refuses such a SAS (400)."""
        if self.policy is None:
            return []
        pairs = (("sp", self.token.permissions, self.policy.permissions), ("st", self.token.start, self.policy.start),
                 ("se", self.token.expiry, self.policy.expiry))
        return [name for name, in_token, in_policy in pairs if in_token and in_policy]

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token.to_json(), "policy_state": self.policy_state.value,
                "policy": self.policy.to_json() if self.policy else None,
                "effective_permissions": self.permissions,
                "effective_start": self.start.isoformat() if self.start else None,
                "effective_expiry": self.expiry.isoformat() if self.expiry else None,
                "expiry_bound_by_delegation_key": self.key_bounds_expiry}


def resolve(token: SasToken, policies: dict[str, StoredPolicy] | None, why: str | None = None) -> EffectiveSas:
    """`policies` is the container's stored access policies, or None when they cannot be read (`why`)."""
    if token.policy_id is None:
        return EffectiveSas(token, PolicyState.NONE)
    if policies is None:
        return EffectiveSas(token, PolicyState.UNREADABLE, unreadable_reason=why)
    policy = policies.get(token.policy_id)
    if policy is None:
        return EffectiveSas(token, PolicyState.MISSING)
    return EffectiveSas(token, PolicyState.FOUND, policy)


def outside_ip_range(token: SasToken, networks: tuple[str, ...]) -> list[str]:
    """The vendor networks (CIDRs) not wholly inside the SAS's `sip` range; [] when all are (or no sip)."""
    bounds = token.ip_bounds()
    if bounds is None:
        return []
    low, high = bounds
    outside = []
    for cidr in networks:
        net = ipaddress.ip_network(cidr, strict=False)
        inside = (net.version == low.version and int(low) <= int(net.network_address)
                  and int(net.broadcast_address) <= int(high))
        if not inside:
            outside.append(str(net))
    return outside


def allowed_permissions(allow_append: bool) -> frozenset[str]:
    return frozenset("cwa" if allow_append else "cw")


def excess_permissions(permissions: str, allow_append: bool) -> list[str]:
    """Letters beyond the write set, each with what it lets the holder do."""
    allowed = allowed_permissions(allow_append)
    return [f"{c} ({PERMISSIONS.get(c, 'unknown')})" for c in dict.fromkeys(permissions) if c not in allowed]


def describe_scope(token: SasToken) -> str:
    if token.is_account_sas:
        return (f"an account SAS (ss={token.services}, srt={token.resource_types}) that reaches every "
                f"container of the storage account")
    names = {"b": "a single blob", "bv": "one blob version", "bs": "one blob snapshot", "d": "a directory"}
    if token.resource == "c":
        return "the container"
    return names.get(token.resource or "", f"resource type {token.resource!r}")


def days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


class RevocationMethod(StrEnum):
    """How a SAS can be revoked before it expires; the value is the display text."""

    STORED_ACCESS_POLICY = "stored access policy"
    USER_DELEGATION_KEY = "user delegation key"
    ACCOUNT_KEY_ROTATION = "account key rotation"
    """Only by rotating the key that signed it, which breaks every other SAS and client using that key."""


class Revocation(NamedTuple):
    method: RevocationMethod
    how: str
    """What to run or change, and when it takes effect (one clause)."""


def revocation(effective: EffectiveSas) -> Revocation:
    """How to revoke this SAS without waiting for it to expire."""
    token = effective.token
    if token.policy_id is not None:
        return Revocation(RevocationMethod.STORED_ACCESS_POLICY,
                          f"delete or shorten stored access policy {token.policy_id!r} on the container "
                          f"(az storage container policy delete); takes effect within 30 seconds")
    if token.kind is SasKind.USER_DELEGATION:
        return Revocation(RevocationMethod.USER_DELEGATION_KEY,
                          "revoke the account's user delegation keys (az storage account revoke-delegation-keys) or "
                          "remove the signer's data role; the SAS also dies when its delegation key expires")
    return Revocation(RevocationMethod.ACCOUNT_KEY_ROTATION,
                      "only by rotating the storage account key that signed it (az storage account keys renew), which "
                      "also breaks every other SAS and client that uses that key")
