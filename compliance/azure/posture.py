"""Container and account posture: what is known, from where, and what cannot be known.

Each setting is a `Fact`: a value with its source, or `unsupported` (the target has no such feature,
e.g. Azurite and immutability), or `unreadable` (not verifiable with the credentials given). Checks
turn `unsupported` into NOT SUPPORTED BY TARGET and `unreadable` into ERROR, never PASS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

UNVERIFIABLE = ("not verifiable with a SAS alone — configure a read-only management credential "
                "([azure.management] in the chain config, Reader on the storage account)")
AZURITE_GAP = "Azurite (the embedded Azure emulator) does not implement {what}"


@dataclass(frozen=True, slots=True)
class Fact:
    value: Any = None
    source: str = ""
    unsupported: str | None = None
    unreadable: str | None = None

    @property
    def known(self) -> bool:
        return self.unsupported is None and self.unreadable is None

    @classmethod
    def of(cls, value: Any, source: str) -> Fact:
        return cls(value=value, source=source)

    @classmethod
    def gap(cls, what: str) -> Fact:
        return cls(unsupported=AZURITE_GAP.format(what=what), source="azurite")

    @classmethod
    def unknown(cls, why: str = UNVERIFIABLE) -> Fact:
        return cls(unreadable=why)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "unsupported": self.unsupported,
                "unreadable": self.unreadable}


@dataclass(frozen=True, slots=True)
class Immutability:
    """A container's time-based retention policy (container-level WORM)."""

    days: int | None
    state: str | None  # "Locked" | "Unlocked"
    allow_protected_append_writes: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"days": self.days, "state": self.state,
                "allow_protected_append_writes": self.allow_protected_append_writes}


@dataclass(frozen=True, slots=True)
class Posture:
    """Everything the posture checks need about one container and its account."""

    public_access: Fact = field(default_factory=Fact.unknown)  # None | "blob" | "container"
    account_allows_public: Fact = field(default_factory=Fact.unknown)  # bool
    https_only: Fact = field(default_factory=Fact.unknown)  # bool
    min_tls: Fact = field(default_factory=Fact.unknown)  # "TLS1_2" ...
    versioning: Fact = field(default_factory=Fact.unknown)  # bool
    blob_soft_delete_days: Fact = field(default_factory=Fact.unknown)  # int | None (None: disabled)
    container_soft_delete_days: Fact = field(default_factory=Fact.unknown)  # int | None
    immutability: Fact = field(default_factory=Fact.unknown)  # Immutability | None
    version_level_worm: Fact = field(default_factory=Fact.unknown)  # Immutability | None (enabled) / False
    legal_hold: Fact = field(default_factory=Fact.unknown)  # tuple[str, ...] of tags (empty: none)
    anonymous_view: Fact = field(default_factory=lambda: Fact.unknown("not probed"))  # outside view, see outside.py
    notes: tuple[str, ...] = ()
    requests: tuple[dict[str, Any], ...] = ()  # unauthenticated outside-view requests and their answers

    def filled(self, **facts: Fact) -> Posture:
        """A copy where each given fact replaces the current one only if the current one is unreadable."""
        changes: dict[str, Any] = {name: fact for name, fact in facts.items()
                                   if getattr(self, name).unreadable is not None}
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Fact):
                data = value.to_json()
                inner = data["value"]
                if hasattr(inner, "to_json"):
                    data["value"] = inner.to_json()
                out[name] = data
        out["notes"] = list(self.notes)
        out["outside_view_requests"] = list(self.requests)
        return out


def public_level(raw: Any) -> str | None:
    """Normalise SDK/ARM public-access values ('container', 'Blob', 'None', None) to None/'blob'/'container'."""
    text = str(getattr(raw, "value", raw) or "").strip().lower()
    return text if text in ("blob", "container") else None


def from_container_properties(props: Any, source: str, base: Posture | None = None) -> Posture:
    """What data-plane container properties reveal (read with the SAS or the account key)."""
    base = base or Posture()
    tags = ("(has_legal_hold)",) if getattr(props, "has_legal_hold", False) else ()
    has_policy = bool(getattr(props, "has_immutability_policy", False))
    return Posture(
        public_access=Fact.of(public_level(getattr(props, "public_access", None)), source),
        account_allows_public=base.account_allows_public, https_only=base.https_only, min_tls=base.min_tls,
        versioning=base.versioning, blob_soft_delete_days=base.blob_soft_delete_days,
        container_soft_delete_days=base.container_soft_delete_days,
        immutability=(Fact.unknown("the container has a time-based retention policy, but whether it is "
                                   "locked and for how long is " + UNVERIFIABLE) if has_policy
                      else Fact.of(None, source)),
        version_level_worm=Fact.of(bool(getattr(props, "immutable_storage_with_versioning_enabled", False)),
                                   source),
        legal_hold=Fact.of(tags, source),
        notes=base.notes,
    )


def emulator_posture(props: Any) -> Posture:
    """Azurite: public access is real; the rest of the data-protection features do not exist there."""
    return Posture(
        public_access=Fact.of(public_level(getattr(props, "public_access", None)), "azurite container properties"),
        account_allows_public=Fact.gap("the account setting 'allow blob public access'"),
        https_only=Fact.gap("the account setting 'secure transfer required' (supportsHttpsTrafficOnly)"),
        min_tls=Fact.gap("a minimum TLS version setting"),
        versioning=Fact.gap("blob versioning (versions are never created)"),
        blob_soft_delete_days=Fact.gap("blob soft delete (deleted blobs are gone; undelete returns 501)"),
        container_soft_delete_days=Fact.gap("container soft delete"),
        immutability=Fact.gap("immutability policies (set_immutability_policy returns HTTP 501)"),
        version_level_worm=Fact.gap("version-level immutability"),
        legal_hold=Fact.gap("legal holds (set_legal_hold returns HTTP 501)"),
        notes=("Embedded default: Azurite stands in for the storage account; its gaps are reported as "
               "NOT SUPPORTED BY TARGET, never as PASS.",),
    )
