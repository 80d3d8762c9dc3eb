"""Parse a shared access signature (SAS) into typed fields, without ever keeping its signature.

Accepts the bare token (`sv=...&sig=...`), the token with a leading `?`, or a full SAS URL. Every
problem raises `SasFormatError` with one sentence that names the field, never the token or the
signature. Field reference: Azure Storage REST "Create a service SAS"
(https://learn.microsoft.com/rest/api/storageservices/create-service-sas), "Create an account SAS"
(.../create-account-sas), "Create a user delegation SAS" (.../create-user-delegation-sas):
* `spr` and `sip` exist from signed version 2015-04-05 on; an older `sv` signs neither, so Azure does not
  enforce them (`SasToken.https_only` is False then).
* A user delegation SAS carries the key fields skoid, sktid, skt, ske, sks, skv and cannot name a
  stored access policy; the SAS is only valid while its delegation key is (`ske`).
* `sip` is one address or an inclusive range `low-high`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SERVICE_RESOURCES = {"c": "container", "b": "blob", "bv": "blob version", "bs": "blob snapshot", "d": "directory"}
PERMISSIONS = {
    "r": "read", "a": "add (append)", "c": "create", "w": "write (overwrite)", "d": "delete",
    "x": "delete version", "y": "permanent delete", "l": "list", "t": "tags", "f": "filter by tags",
    "m": "move", "e": "execute", "o": "ownership", "p": "set permissions / process", "i": "set immutability policy",
    "u": "update",
}
USER_DELEGATION_FIELDS = ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid")
KNOWN_FIELDS = {"sv", "sr", "ss", "srt", "sp", "st", "se", "spr", "sip", "si", "sig", "sdd", "ses",
                "rscc", "rscd", "rsce", "rscl", "rsct", *USER_DELEGATION_FIELDS}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?Z)?$")
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SIGNATURE_BYTES = 32  # HMAC-SHA256
PROTOCOL_AND_IP_SINCE = "2015-04-05"  # first signed version with spr and sip
DELEGATION_KEY_FIELDS = ("skoid", "sktid", "skt", "ske", "sks", "skv")


class SasKind(StrEnum):
    """Which key signed the SAS, which decides what it can reach and how it is revoked."""

    SERVICE = "service"
    """Signed with the account key, for one container, blob or directory (sr)."""
    USER_DELEGATION = "user-delegation"
    """Signed with a user delegation key (skoid...), which Entra ID issued to a data-plane role."""
    ACCOUNT = "account"
    """Signed with the account key, for services and resource types of the whole account (ss, srt)."""


class SasFormatError(ValueError):
    """The SAS cannot be parsed. The message is one sentence and never contains the token."""


@dataclass(frozen=True, slots=True)
class SasToken:
    """The non-secret fields of a SAS. The signature is checked for shape and then dropped."""

    version: str
    kind: SasKind
    resource: str | None = None  # sr
    services: str | None = None  # ss (account SAS)
    resource_types: str | None = None  # srt (account SAS)
    permissions: str | None = None  # sp (None: taken from a stored access policy)
    start: datetime | None = None
    expiry: datetime | None = None
    protocol: str | None = None  # spr
    ip_range: str | None = None  # sip
    policy_id: str | None = None  # si
    directory_depth: int | None = None  # sdd
    encryption_scope: str | None = None  # ses
    delegation: dict[str, str] = field(default_factory=dict)  # skoid, sktid, skt, ske, sks, skv, ...
    other_fields: tuple[str, ...] = ()
    key_start: datetime | None = None  # skt: the user delegation key's start
    key_expiry: datetime | None = None  # ske: the user delegation key's expiry; the SAS dies with it

    @property
    def is_account_sas(self) -> bool:
        return self.kind is SasKind.ACCOUNT

    @property
    def https_only(self) -> bool:
        """spr=https, in a signed version that signs (and so enforces) spr."""
        return self.protocol == "https" and self.signs_protocol_and_ip

    @property
    def signs_protocol_and_ip(self) -> bool:
        return self.version >= PROTOCOL_AND_IP_SINCE

    @property
    def signer(self) -> str | None:
        """Who signed a user delegation SAS: 'object <skoid> in tenant <sktid>'."""
        if self.kind is not SasKind.USER_DELEGATION:
            return None
        return f"object {self.delegation.get('skoid')} in tenant {self.delegation.get('sktid')}"

    def ip_bounds(self) -> tuple[IpAddress, IpAddress] | None:
        """The inclusive (low, high) addresses of `sip`, or None when the SAS has no IP restriction."""
        return ip_range_bounds(self.ip_range) if self.ip_range else None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value, "sv": self.version, "sr": self.resource, "ss": self.services,
            "srt": self.resource_types, "sp": self.permissions,
            "st": _iso(self.start), "se": _iso(self.expiry), "spr": self.protocol, "sip": self.ip_range,
            "si": self.policy_id, "sdd": self.directory_depth, "ses": self.encryption_scope,
            "delegation": dict(self.delegation), "other_fields": list(self.other_fields),
            "ske": _iso(self.key_expiry), "skt": _iso(self.key_start),
            "sig": "present (not recorded)",
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def parse_time(name: str, raw: str) -> datetime:
    if not _DATE_RE.match(raw):
        raise SasFormatError(f"The SAS field {name} is not an ISO 8601 UTC time (like 2027-01-31T00:00:00Z).")
    text = raw.replace("Z", "+00:00")
    if "." in text:  # Azure allows 7 fractional digits; Python takes at most 6
        head, _, tail = text.partition(".")
        digits, _, zone = tail.partition("+")
        text = f"{head}.{digits[:6].ljust(6, '0')}+{zone}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SasFormatError(f"The SAS field {name} is not a valid date and time.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _query_of(text: str) -> str:
    text = text.strip()
    if "://" in text:
        text = urlsplit(text).query
    return text.removeprefix("?")


def _fields(text: str) -> dict[str, str]:
    query = _query_of(text)
    if not query:
        raise SasFormatError("The SAS is empty.")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise SasFormatError("The SAS is not a query string of name=value pairs joined by '&'.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise SasFormatError(f"The SAS field {name} appears more than once.")
        fields[name] = value
    return fields


def _check_signature(fields: dict[str, str]) -> None:
    sig = fields.get("sig")
    if not sig:
        raise SasFormatError("The SAS has no signature (sig); it is truncated or not a SAS.")
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise SasFormatError("The SAS signature (sig) is not valid base64; the token is truncated or altered."
                             ) from None
    if len(raw) != _SIGNATURE_BYTES:
        raise SasFormatError("The SAS signature (sig) has the wrong length for HMAC-SHA256; the token is truncated.")


def _check_permissions(sp: str | None) -> None:
    if sp is None:
        return
    if not sp:
        raise SasFormatError("The SAS field sp (permissions) is empty.")
    unknown = sorted({c for c in sp if c not in PERMISSIONS})
    if unknown:
        raise SasFormatError(f"The SAS field sp has unknown permission letters {''.join(unknown)!r}.")


def _check_protocol(spr: str | None) -> None:
    if spr is not None and spr not in ("https", "https,http", "http,https"):
        raise SasFormatError("The SAS field spr must be 'https' or 'https,http'.")


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_range_bounds(sip: str) -> tuple[IpAddress, IpAddress]:
    """(low, high) of a `sip` value: one address, or an inclusive range low-high of one IP version."""
    try:
        parts = [ipaddress.ip_address(part) for part in sip.split("-", 1)]
    except ValueError:
        raise SasFormatError("The SAS field sip is not an IP address or an address range a-b.") from None
    low, high = parts[0], parts[-1]
    if low.version != high.version:
        raise SasFormatError("The SAS field sip mixes IPv4 and IPv6 addresses in one range.")
    if int(low) > int(high):
        raise SasFormatError("The SAS field sip is a range whose first address is above its last.")
    return low, high


def _check_ip_range(sip: str | None) -> None:
    if sip is not None:
        ip_range_bounds(sip)


def _delegation_times(fields: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    """Check a user delegation SAS's key fields; (skt, ske)."""
    if "skoid" not in fields:
        return None, None
    for name in DELEGATION_KEY_FIELDS:
        if not fields.get(name):
            raise SasFormatError(f"The user delegation SAS has no {name} field; it is truncated.")
    if "si" in fields:
        raise SasFormatError("The user delegation SAS names a stored access policy (si), which a user delegation "
                             "SAS cannot use; Azure refuses it.")
    key_start, key_expiry = parse_time("skt", fields["skt"]), parse_time("ske", fields["ske"])
    if key_expiry <= key_start:
        raise SasFormatError("The SAS's delegation key expiry (ske) is not after the key start (skt).")
    return key_start, key_expiry


def parse_sas(text: str) -> SasToken:
    """Parse a SAS. Raises `SasFormatError` (one sentence, no secret) when it is malformed or truncated."""
    fields = _fields(text)
    _check_signature(fields)
    version = fields.get("sv")
    if not version or not _VERSION_RE.match(version):
        raise SasFormatError("The SAS has no valid signed version (sv); it is truncated or not a SAS.")
    is_account = "ss" in fields or "srt" in fields
    if is_account:
        for name in ("ss", "srt", "sp", "se"):
            if not fields.get(name):
                raise SasFormatError(f"The account SAS has no {name} field; it is truncated.")
        kind = SasKind.ACCOUNT
    else:
        resource = fields.get("sr")
        if not resource:
            raise SasFormatError("The SAS has neither sr (service SAS) nor ss/srt (account SAS); it is truncated.")
        if resource not in SERVICE_RESOURCES:
            raise SasFormatError(f"The SAS field sr has an unknown resource type {resource!r}.")
        if "si" not in fields and not (fields.get("sp") and fields.get("se")):
            raise SasFormatError("The SAS has no stored access policy (si) and lacks sp or se; it is truncated.")
        kind = SasKind.USER_DELEGATION if "skoid" in fields else SasKind.SERVICE
    sp = fields.get("sp")
    _check_permissions(sp)
    _check_protocol(fields.get("spr"))
    _check_ip_range(fields.get("sip"))
    start = parse_time("st", fields["st"]) if fields.get("st") else None
    expiry = parse_time("se", fields["se"]) if fields.get("se") else None
    if start and expiry and expiry <= start:
        raise SasFormatError("The SAS expiry (se) is not after its start (st).")
    depth = fields.get("sdd")
    if depth is not None and not depth.isdigit():
        raise SasFormatError("The SAS field sdd (directory depth) is not a whole number.")
    key_start, key_expiry = _delegation_times(fields) if kind is SasKind.USER_DELEGATION else (None, None)
    return SasToken(
        version=version, kind=kind, resource=fields.get("sr"), services=fields.get("ss"),
        resource_types=fields.get("srt"), permissions=sp, start=start, expiry=expiry,
        protocol=fields.get("spr"), ip_range=fields.get("sip"), policy_id=fields.get("si"),
        directory_depth=int(depth) if depth is not None else None, encryption_scope=fields.get("ses"),
        delegation={k: fields[k] for k in USER_DELEGATION_FIELDS if k in fields},
        other_fields=tuple(sorted(set(fields) - KNOWN_FIELDS)), key_start=key_start, key_expiry=key_expiry,
    )
