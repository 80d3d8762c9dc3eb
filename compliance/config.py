"""The chain config: a TOML file describing the export chain(s) the suite expects.

The keys of [vendor], [aws] and [azure] are a contract with users and external tools: keys may be
added, never renamed. Every problem is reported as one `ConfigError` line naming the file, the key,
what is wrong and how to fix it. Secrets are never stored in the file, only the names of the
environment variables that hold them.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from compliance.errors import ConfigError
from compliance.nesting import MAX_NESTING, Syntax, nests_too_deep

ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):(iam|sts)::(\d{12}):([A-Za-z0-9+=,.@_/-]+)$")
ROLE_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$")
BUCKET_RE = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CHAIN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
ACCOUNT_RE = re.compile(r"^\d{12}$")
ORG_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
READER_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):"
                           r"(root|(role|user)/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64})$")
OIDC_PROVIDER_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):"
                              r"oidc-provider/([A-Za-z0-9.-]+(?:/[\x21-\x7e]+)?)$")
SAML_PROVIDER_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):saml-provider/([\w.@-]{1,128})$")
SERVICE_PRINCIPAL_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")


class SseHeader(StrEnum):
    """The x-amz-server-side-encryption header the vendor sends with each write (`vendor.sse_header`)."""

    BUCKET_DEFAULT = "bucket-default"  # the bucket's default algorithm, stated explicitly
    NONE = "none"  # no header: S3 applies the bucket's default encryption
    AWS_KMS = "aws:kms"
    AWS_KMS_DSSE = "aws:kms:dsse"
    AES256 = "AES256"


class CannedAcl(StrEnum):
    """The canned ACLs an object write (x-amz-acl) may carry (S3 User Guide, "Canned ACL")."""

    PRIVATE = "private"
    PUBLIC_READ = "public-read"
    PUBLIC_READ_WRITE = "public-read-write"
    AUTHENTICATED_READ = "authenticated-read"
    AWS_EXEC_READ = "aws-exec-read"
    BUCKET_OWNER_READ = "bucket-owner-read"
    BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"


class UploadKind(StrEnum):
    """How the vendor writes an export (`vendor.upload_kinds`)."""

    SINGLE = "single"  # one PutObject
    MULTIPART = "multipart"  # CreateMultipartUpload, UploadPart, CompleteMultipartUpload


class AssumerKind(StrEnum):
    """The kind of a declared federated or service path into the export role."""

    OIDC_PROVIDER = "oidc-provider"
    SAML_PROVIDER = "saml-provider"
    SERVICE = "service"

_E = TypeVar("_E", bound=StrEnum)

MAX_DAYS = 36_500
"""Upper bound of every day count in a chain config: 100 years, the longest record retention the suite reasons
about (S3 Object Lock default retention is given in days or years; Azure immutability allows up to 146,000 days)."""
MAX_EXPORT_AGE_HOURS = 8_760.0
"""`aws.max_export_age_hours` is at most one year: an export older than that is not a working chain."""


def default_chain_path() -> Path:
    return Path(str(resources.files("compliance") / "data" / "reference-chain.toml"))


@dataclass(frozen=True, slots=True)
class VendorConfig:
    name: str
    principal: str
    external_id_env: str
    configured_role_arn: str
    session_tags: Mapping[str, str]
    source_ips: tuple[str, ...]
    sse_header: SseHeader = SseHeader.BUCKET_DEFAULT
    kms_key_id_header: bool = True
    acl: CannedAcl | None = None
    upload_kinds: tuple[UploadKind, ...] = (UploadKind.SINGLE, UploadKind.MULTIPART)

    @property
    def account(self) -> str:
        return self.principal.split(":")[4]

    def declared_headers(self) -> dict[str, str | bool | list[str]]:
        """The declared request shape, as the evidence notes of header-dependent findings show it."""
        return {"vendor.sse_header": self.sse_header.value, "vendor.kms_key_id_header": self.kms_key_id_header,
                "vendor.acl": self.acl.value if self.acl is not None else "",
                "vendor.upload_kinds": [kind.value for kind in self.upload_kinds]}


@dataclass(frozen=True, slots=True)
class DeclaredAssumer:
    """An intended federated or service path into the export role (`[[aws.declared_assumers]]`).

    `conditions` maps a condition key to the exact value every admitted request must carry; for an OIDC
    provider it always holds the pinned `<HOST>:sub`.
    """

    principal: str
    kind: AssumerKind
    conditions: Mapping[str, str]

    @property
    def provider_host(self) -> str | None:
        """The OIDC provider's host (and path), the prefix of its condition keys; None for other kinds."""
        if self.kind is not AssumerKind.OIDC_PROVIDER:
            return None
        return self.principal.split(":oidc-provider/", 1)[1]


@dataclass(frozen=True, slots=True)
class AwsConfig:
    role_arn: str
    bucket: str
    prefix: str
    region: str
    min_retention_days: int
    max_export_age_hours: float
    audit_role_arn: str | None = None
    organizations_role_arn: str | None = None
    readers: tuple[str, ...] = ()
    """Who may read the records besides the customer account's own principals: IAM ARNs (role/user/root),
    12-digit account ids or organization ids (o-...)."""
    declared_assumers: tuple[DeclaredAssumer, ...] = ()

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[1]


@dataclass(frozen=True, slots=True)
class AzureManagement:
    subscription_id: str
    resource_group: str
    account_name: str
    endpoint: str = "https://management.azure.com"  # Resource Manager base URL (sovereign clouds differ)


@dataclass(frozen=True, slots=True)
class AzureConfig:
    account_url: str
    container: str
    sas_env: str
    sas_min_days_left: int
    allow_append: bool = False
    max_sas_lifetime_days: int = 400
    min_retention_days: int | None = None
    canary_prefix: str = "compliance-canary/"
    management: AzureManagement | None = None
    max_unrevocable_sas_days: int = 90
    vendor_ips: tuple[str, ...] = ()  # where the vendor writes from; defaults to vendor.source_ips


@dataclass(frozen=True, slots=True)
class Chain:
    """One export chain: vendor → role → bucket (→ Azure backup)."""

    id: str
    vendor: VendorConfig
    aws: AwsConfig
    azure: AzureConfig | None = None

    def external_id(self) -> str | None:
        return os.environ.get(self.vendor.external_id_env) or None

    def sas_token(self) -> str | None:
        if self.azure is None:
            return None
        return os.environ.get(self.azure.sas_env) or None


@dataclass(frozen=True, slots=True)
class ChainConfig:
    source: str
    sha256: str
    chains: tuple[Chain, ...] = field(default_factory=tuple)

    def secret_env_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for chain in self.chains:
            names.append(chain.vendor.external_id_env)
            if chain.azure is not None:
                names.append(chain.azure.sas_env)
        return tuple(dict.fromkeys(names))


class _Reader:
    """Validates one TOML table; remembers the dotted path for error messages."""

    def __init__(self, source: str, path: str, table: Mapping[str, Any]) -> None:
        self.source = source
        self.path = path
        self.table = table
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), problem, fix)

    def _get(self, name: str, required: bool, example: str, fix: str | None = None) -> Any:
        self.used.add(name)
        if name not in self.table:
            if required:
                typo = difflib.get_close_matches(name, [k for k in self.table if isinstance(k, str)], n=1,
                                                 cutoff=0.8)
                if typo:
                    raise ConfigError(self.source, self.key(typo[0]), "unknown key", f"did you mean `{name}`?")
                where = f"under [{self.path}]" if self.path else "at the top of the file"
                raise self.fail(name, "missing required key", fix or f"add `{name} = {example}` {where}")
            return None
        return self.table[name]

    def string(self, name: str, example: str, *, required: bool = True, default: str | None = None,
               pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        value = self._get(name, required and default is None, f'"{example}"')
        if value is None:
            return default if default is not None else ""
        if not isinstance(value, str):
            raise self.fail(name, f"expected a string, got {type(value).__name__}",
                            f'write it as `{name} = "{example}"`')
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, f"{value!r} is not a valid {what or name}", f'use the form "{example}"')
        return value

    def integer(self, name: str, example: int, *, required: bool = True, default: int | None = None,
                minimum: int = 0, maximum: int = MAX_DAYS) -> int:
        value = self._get(name, required and default is None, str(example))
        if value is None:
            assert default is not None
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"expected a whole number, got {_show(value)}", f"write it as `{name} = {example}`")
        if value < minimum:
            raise self.fail(name, f"must be at least {minimum}, got {_show(value)}", f"set `{name} = {example}`")
        if value > maximum:
            raise self.fail(name, f"must be at most {maximum}, got {_show(value)}", f"set `{name} = {example}`")
        return value

    def number(self, name: str, example: float, *, default: float, maximum: float) -> float:
        """A positive, finite number up to `maximum` (TOML also reads nan and inf as floats)."""
        value = self._get(name, False, str(example))
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.fail(name, f"expected a positive number, got {_show(value)}",
                            f"write it as `{name} = {example}`")
        if not math.isfinite(value):
            raise self.fail(name, f"expected a positive finite number, got {_show(value)}",
                            f"write it as `{name} = {example}`")
        if value > maximum:
            raise self.fail(name, f"must be at most {maximum:g}, got {_show(value)}", f"set `{name} = {example}`")
        return float(value)

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self._get(name, False, "false")
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, f"expected true or false, got {value!r}",
                            f"write it as `{name} = {str(default).lower()}`")
        return value

    def table_of(self, name: str, *, required: bool) -> Mapping[str, Any] | None:
        value = self._get(name, required, "{ ... }", fix=f"add a [{self.key(name)}] table")
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(name, f"expected a table, got {type(value).__name__}",
                            f"write it as a [{self.key(name)}] table")
        return value

    def finish(self) -> None:
        for name in self.table:
            if name not in self.used:
                close = difflib.get_close_matches(name, sorted(self.used), n=1, cutoff=0.6)
                hint = (f"did you mean `{close[0]}`?" if close
                        else f"remove it; known keys: {', '.join(sorted(self.used))}")
                raise ConfigError(self.source, self.key(name), "unknown key", hint)


def _cidr(r: _Reader, where: str, cidr: Any) -> str:
    """One CIDR, exactly as written: a network with host bits set is refused, never widened.

    `ipaddress.ip_network(strict=True)` raises for "203.0.113.7/8" where `strict=False` would silently
    return 203.0.0.0/8, a network 65,536 times larger than the one address meant. A bare address is a /32
    (IPv4) or /128 (IPv6), as aws:SourceIp reads it (IAM User Guide, "IP address condition operators").
    """
    if not isinstance(cidr, str) or not cidr.strip():
        raise r.fail(where, f"{_show(cidr)} is not a valid IPv4 or IPv6 CIDR",
                     'use a network like "203.0.113.0/24" or "2001:db8::/32"')
    try:
        return str(ipaddress.ip_network(cidr.strip(), strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise r.fail(where, f"{_show(cidr)} is not a valid IPv4 or IPv6 CIDR",
                     'use a network like "203.0.113.0/24" or "2001:db8::/32"') from None
    address = cidr.strip().split("/", 1)[0]
    raise r.fail(where, f"{_show(cidr)} has host bits set: as a network it would widen to {network}",
                 f'write the one address as "{address}/{network.max_prefixlen}" or the network as "{network}"')


def _show(value: Any, limit: int = 60) -> str:
    """A value as an error line quotes it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _env_name(r: _Reader, name: str, example: str) -> str:
    return r.string(name, example, pattern=ENV_NAME_RE, what="environment variable name")


def _vendor(source: str, path: str, table: Mapping[str, Any]) -> VendorConfig:
    r = _Reader(source, path, table)
    name = r.string("name", "Qualio")
    principal = r.string("principal", "arn:aws:iam::999988887777:role/ExportService", pattern=ARN_RE, what="IAM ARN")
    external_id_env = _env_name(r, "external_id_env", "EXPORT_EXTERNAL_ID")
    configured = r.string("configured_role_arn", "arn:aws:iam::111122223333:role/QualioExportRole",
                          pattern=ROLE_ARN_RE, what="IAM role ARN")
    tags_raw = r._get("session_tags", False, '{ "qualio-user" = "qa.lead@example.com" }') or {}
    if not isinstance(tags_raw, dict):
        raise r.fail("session_tags", "expected a table of tag = value",
                     'write it as `session_tags = { "qualio-user" = "qa.lead@example.com" }`')
    tags: dict[str, str] = {}
    for key, value in tags_raw.items():
        if not isinstance(value, str):
            raise r.fail(f"session_tags.{key}", f"tag values must be strings, got {value!r}", f'quote it: "{value}"')
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise r.fail(f"session_tags.{key}", "session tag keys are 1-128 characters and values at most 256",
                         "shorten the tag")
        tags[key] = value
    if len(tags) > 50:
        raise r.fail("session_tags", f"{len(tags)} session tags; AWS allows at most 50", "pass fewer session tags")
    ips_raw = r._get("source_ips", False, '["203.0.113.0/24"]') or []
    if not isinstance(ips_raw, list):
        raise r.fail("source_ips", "expected a list of CIDRs", 'write it as `source_ips = ["203.0.113.0/24"]`')
    ips = [_cidr(r, f"source_ips[{i}]", cidr) for i, cidr in enumerate(ips_raw)]
    sse_header, kms_key_id_header, acl, upload_kinds = _vendor_request(r)
    r.finish()
    return VendorConfig(name, principal, external_id_env, configured, tags, tuple(ips), sse_header,
                        kms_key_id_header, acl, upload_kinds)


def _choice(r: _Reader, name: str, enum: type[_E], value: Any, where: str | None = None) -> _E:
    options = ", ".join(f'"{member.value}"' for member in enum)
    if not isinstance(value, str):
        raise r.fail(where or name, f"expected a string, got {type(value).__name__}", f"use one of {options}")
    try:
        return enum(value)
    except ValueError:
        raise r.fail(where or name, f"{value!r} is not one of {options}", f"use one of {options}") from None


def _vendor_request(r: _Reader) -> tuple[SseHeader, bool, CannedAcl | None, tuple[UploadKind, ...]]:
    """What the vendor's writes carry (item 7 of issue 10): the SSE and key-id headers, x-amz-acl, upload kinds."""
    sse_raw = r._get("sse_header", False, '"bucket-default"')
    sse = SseHeader.BUCKET_DEFAULT if sse_raw is None else _choice(r, "sse_header", SseHeader, sse_raw)
    explicit_key_id = "kms_key_id_header" in r.table
    key_id = r.boolean("kms_key_id_header", default=True)
    if explicit_key_id and key_id and sse in (SseHeader.NONE, SseHeader.AES256):
        raise r.fail("kms_key_id_header", f'true, but sse_header is "{sse.value}": S3 accepts the key-id header '
                     "only with an aws:kms or aws:kms:dsse header",
                     'set `kms_key_id_header = false` or `sse_header = "aws:kms"`')
    acl_raw = r._get("acl", False, '""')
    acl = None if acl_raw is None or acl_raw == "" else _choice(r, "acl", CannedAcl, acl_raw)
    kinds_raw = r._get("upload_kinds", False, '["single", "multipart"]')
    if kinds_raw is None:
        kinds: tuple[UploadKind, ...] = (UploadKind.SINGLE, UploadKind.MULTIPART)
    else:
        if not isinstance(kinds_raw, list) or not kinds_raw:
            raise r.fail("upload_kinds", f"expected a non-empty list, got {kinds_raw!r}",
                         'write it as `upload_kinds = ["single", "multipart"]`')
        parsed = [_choice(r, "upload_kinds", UploadKind, k, f"upload_kinds[{i}]") for i, k in enumerate(kinds_raw)]
        if len(set(parsed)) != len(parsed):
            raise r.fail("upload_kinds", "lists an upload kind twice",
                         'write it as `upload_kinds = ["single", "multipart"]`')
        kinds = tuple(parsed)
    return sse, key_id, acl, kinds


def _aws(source: str, path: str, table: Mapping[str, Any]) -> AwsConfig:
    r = _Reader(source, path, table)
    role_arn = r.string("role_arn", "arn:aws:iam::111122223333:role/QualioExportRole", pattern=ROLE_ARN_RE,
                        what="IAM role ARN")
    bucket = r.string("bucket", "company-audit-reports", pattern=BUCKET_RE, what="S3 bucket name")
    prefix = r.string("prefix", "qualio/", required=False, default="")
    if prefix.startswith("/"):
        raise r.fail("prefix", "S3 keys do not start with '/'", f'write `prefix = "{prefix.lstrip("/")}"`')
    region = r.string("region", "us-east-1", pattern=REGION_RE, what="AWS region")
    retention = r.integer("min_retention_days", 2555, minimum=1)
    age = r.number("max_export_age_hours", 26, default=26.0, maximum=MAX_EXPORT_AGE_HOURS)
    audit_role = r.string("audit_role_arn", "arn:aws:iam::111122223333:role/ComplianceAudit", required=False,
                          default="", pattern=None)
    if audit_role and not ROLE_ARN_RE.match(audit_role):
        raise r.fail("audit_role_arn", f"{audit_role!r} is not a valid IAM role ARN",
                     'use the form "arn:aws:iam::111122223333:role/ComplianceAudit"')
    # Live mode: SCPs are readable only from the organization's management account (or a delegated admin).
    org_role = r.string("organizations_role_arn", "arn:aws:iam::222233334444:role/OrganizationsReadOnly",
                        required=False, default="", pattern=None)
    if org_role and not ROLE_ARN_RE.match(org_role):
        raise r.fail("organizations_role_arn", f"{org_role!r} is not a valid IAM role ARN",
                     'use the form "arn:aws:iam::222233334444:role/OrganizationsReadOnly"')
    readers = _readers(r)
    assumers = _declared_assumers(r)
    r.finish()
    return AwsConfig(role_arn, bucket, prefix, region, retention, age, audit_role or None, org_role or None,
                     readers, assumers)


def _readers(r: _Reader) -> tuple[str, ...]:
    raw = r._get("readers", False, "[]")
    if raw is None:
        return ()
    example = 'readers = ["arn:aws:iam::444455556666:role/Auditor", "444455556666", "o-a1b2c3d4e5"]'
    if not isinstance(raw, list):
        raise r.fail("readers", f"expected a list, got {type(raw).__name__}", f"write it as `{example}`")
    out: list[str] = []
    for i, value in enumerate(raw):
        ok = isinstance(value, str) and bool(READER_ARN_RE.match(value) or ACCOUNT_RE.match(value)
                                             or ORG_ID_RE.match(value))
        if not ok:
            raise r.fail(f"readers[{i}]", f"{value!r} is not an IAM role/user/root ARN, a 12-digit account id or an "
                         "organization id", 'use "arn:aws:iam::444455556666:role/Auditor", "444455556666" or '
                         '"o-a1b2c3d4e5"')
        if value in out:
            raise r.fail(f"readers[{i}]", f"{value!r} is listed twice", "list each reader once")
        out.append(value)
    return tuple(out)


def _assumer_kind(r: _Reader, where: str, principal: Any) -> AssumerKind:
    if isinstance(principal, str):
        if OIDC_PROVIDER_RE.match(principal):
            return AssumerKind.OIDC_PROVIDER
        if SAML_PROVIDER_RE.match(principal):
            return AssumerKind.SAML_PROVIDER
        if SERVICE_PRINCIPAL_RE.match(principal):
            return AssumerKind.SERVICE
    raise r.fail(f"{where}.principal", f"{principal!r} is not an OIDC provider ARN, a SAML provider ARN or a "
                 "service principal", 'use "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent'
                 '.com", "arn:aws:iam::111122223333:saml-provider/Okta" or "ec2.amazonaws.com"')


def _declared_assumers(r: _Reader) -> tuple[DeclaredAssumer, ...]:
    """[[aws.declared_assumers]]: intended federated/service paths into the role, with the values they carry."""
    raw = r._get("declared_assumers", False, "[]")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise r.fail("declared_assumers", "expected [[aws.declared_assumers]] tables",
                     'write each as `[[aws.declared_assumers]]` with `principal = "..."` and `conditions = { ... }`')
    out: list[DeclaredAssumer] = []
    for i, table in enumerate(raw):
        where = f"declared_assumers[{i}]"
        t = _Reader(r.source, r.key(where), table)
        principal = t._get("principal", True, '"arn:aws:iam::111122223333:oidc-provider/token.actions.'
                                              'githubusercontent.com"')
        kind = _assumer_kind(r, where, principal)
        conditions_raw = t._get("conditions", False, "{ ... }") or {}
        if not isinstance(conditions_raw, dict):
            raise t.fail("conditions", "expected a table of condition-key = exact value",
                         'write it as `conditions = { "token.actions.githubusercontent.com:sub" = '
                         '"repo:org/repo:ref:refs/heads/main" }`')
        conditions: dict[str, str] = {}
        for key, value in conditions_raw.items():
            if not isinstance(value, str) or not value:
                raise t.fail(f"conditions.{key}", f"expected the exact value as a non-empty string, got {value!r}",
                             "quote the one value every admitted request carries")
            conditions[key] = value
        t.finish()
        assumer = DeclaredAssumer(principal, kind, conditions)
        host = assumer.provider_host
        if host is not None:
            sub = f"{host}:sub"
            if sub not in conditions:
                raise t.fail("conditions", f"an OIDC provider path needs a pinned `{sub}`, which is missing",
                             f'add `"{sub}" = "<the one subject>"` to conditions '
                             "(e.g. repo:org/repo:ref:refs/heads/main)")
            if any(w in conditions[sub] for w in "*?"):
                raise t.fail(f"conditions.{sub}", f"{conditions[sub]!r} is a pattern, not a pinned subject",
                             "write the exact subject, without * or ?")
        if any(a.principal == principal for a in out):
            raise r.fail(f"{where}.principal", f"{principal!r} is declared twice", "declare each path once")
        out.append(assumer)
    return tuple(out)


ARM_ENDPOINT_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$")


def _azure_ips(r: _Reader, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = r._get("vendor_ips", False, '["203.0.113.0/24"]')
    if raw is None:
        return default
    if not isinstance(raw, list):
        raise r.fail("vendor_ips", "expected a list of CIDRs", 'write it as `vendor_ips = ["203.0.113.0/24"]`')
    return tuple(_cidr(r, f"vendor_ips[{i}]", cidr) for i, cidr in enumerate(raw))


def _azure(source: str, path: str, table: Mapping[str, Any], aws_retention: int,
           vendor_ips: tuple[str, ...] = ()) -> AzureConfig:
    r = _Reader(source, path, table)
    url = r.string("account_url", "https://contosoaudit.blob.core.windows.net",
                   pattern=re.compile(r"^https?://[^\s/]+(/[^\s]*)?$"), what="account URL")
    container = r.string("container", "audit-backup",
                         pattern=re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"), what="container name")
    sas_env = _env_name(r, "sas_env", "AZURE_BACKUP_SAS")
    min_days = r.integer("sas_min_days_left", 30, default=30, minimum=0)
    allow_append = r.boolean("allow_append", default=False)
    max_life = r.integer("max_sas_lifetime_days", 400, default=400, minimum=1)
    retention = r.integer("min_retention_days", aws_retention, default=aws_retention, minimum=1)
    canary = r.string("canary_prefix", "compliance-canary/", required=False, default="compliance-canary/")
    unrevocable = r.integer("max_unrevocable_sas_days", 90, default=90, minimum=1)
    mgmt_raw = r.table_of("management", required=False)
    management = None
    if mgmt_raw is not None:
        m = _Reader(source, r.key("management"), mgmt_raw)
        management = AzureManagement(
            m.string("subscription_id", "00000000-0000-0000-0000-000000000000"),
            m.string("resource_group", "rg-audit"),
            m.string("account_name", "contosoaudit"),
            m.string("endpoint", "https://management.azure.com", required=False,
                     default="https://management.azure.com", pattern=ARM_ENDPOINT_RE,
                     what="Resource Manager endpoint (an https URL without query)").rstrip("/"),
        )
        m.finish()
    ips = _azure_ips(r, vendor_ips)
    r.finish()
    return AzureConfig(url, container, sas_env, min_days, allow_append, max_life, retention, canary, management,
                       unrevocable, ips)


def _chain(source: str, path: str, table: Mapping[str, Any], chain_id: str | None) -> Chain:
    r = _Reader(source, path, table)
    if chain_id is None:
        chain_id = r.string("id", "qualio-prod", pattern=CHAIN_ID_RE,
                            what="chain id (lower-case letters, digits, . _ -)")
    vendor_t = r.table_of("vendor", required=True)
    aws_t = r.table_of("aws", required=True)
    azure_t = r.table_of("azure", required=False)
    assert vendor_t is not None and aws_t is not None
    vendor = _vendor(source, r.key("vendor"), vendor_t)
    aws = _aws(source, r.key("aws"), aws_t)
    azure = (_azure(source, r.key("azure"), azure_t, aws.min_retention_days, vendor.source_ips)
             if azure_t is not None else None)
    r.finish()
    return Chain(chain_id, vendor, aws, azure)


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-")
    return slug or "chain"


def parse_chain_config(text: str, source: str, *, env: Mapping[str, str] | None = None,
                       require_secrets: bool = True,
                       secret_default: Callable[[str], str | None] | None = None) -> ChainConfig:
    """Parse and validate a chain config. Raises `ConfigError` with one clear line."""
    import hashlib

    too_deep = nesting_error(source, text, Syntax.TOML)
    if too_deep is not None:
        raise too_deep
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(file)", f"not valid TOML ({exc})", "fix the TOML syntax at that position") from None
    except RecursionError:  # nesting hidden from the bracket count (e.g. dotted keys): still one line
        raise ConfigError(source, "(file)", f"nested deeper than {MAX_NESTING} levels",
                          "flatten the tables and arrays") from None
    if "chains" in data:
        extra = sorted(set(data) - {"chains"})
        if extra:
            raise ConfigError(source, extra[0], "top-level chain tables cannot be mixed with [[chains]]",
                              "move it into a [[chains]] entry")
        entries = data["chains"]
        if not isinstance(entries, list) or not entries:
            raise ConfigError(source, "chains", "expected one or more [[chains]] tables", "add a [[chains]] table")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigError(source, f"chains[{i}]", f"expected a [[chains]] table, got {_show(entry)}",
                                  'write each chain as a [[chains]] table with `id = "..."`, [chains.vendor] and '
                                  "[chains.aws]")
        chains = tuple(_chain(source, f"chains[{i}]", t, None) for i, t in enumerate(entries))
    else:
        vendor = data.get("vendor", {})
        name = vendor.get("name") if isinstance(vendor, dict) else None
        chain_id = _slug(name) if isinstance(name, str) else "chain"  # a bad name is reported by _vendor
        chains = (_chain(source, "", data, chain_id),)
    seen: set[str] = set()
    for i, chain in enumerate(chains):
        if chain.id in seen:
            raise ConfigError(source, f"chains[{i}].id", f"duplicate chain id {chain.id!r}",
                              "give every chain its own id")
        seen.add(chain.id)
    config = ChainConfig(source, hashlib.sha256(text.encode()).hexdigest(), chains)
    if require_secrets:
        environ = os.environ if env is None else env
        for i, chain in enumerate(chains):
            where = f"chains[{i}]." if "chains" in data else ""
            names = [("vendor.external_id_env", chain.vendor.external_id_env)]
            if chain.azure is not None:
                names.append(("azure.sas_env", chain.azure.sas_env))
            for key, var in names:
                if not environ.get(var):
                    raise ConfigError(source, where + key, f"environment variable {var} is not set",
                                      f"export {var}=<value> before running (the value is never written to a file)")
    return config


def nesting_error(source: str, text: str, syntax: Syntax) -> ConfigError | None:
    """A `ConfigError` when `text` nests deeper than MAX_NESTING, else None (`compliance.nesting` counts it).
    Shared by the TOML and JSON loaders."""
    if not nests_too_deep(text, syntax):
        return None
    return ConfigError(source, "(file)", f"{syntax} nested deeper than {MAX_NESTING} levels",
                       "flatten the nesting; no valid file needs that depth")


def load_chain_config(path: Path, **kwargs: Any) -> ChainConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "file not found", "pass an existing file to --chain") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "(file)", f"cannot be read ({exc.__class__.__name__})",
                          "check the path and that it is UTF-8 text") from None
    return parse_chain_config(text, str(path), **kwargs)
