"""Issue 10 item 8 and the SAS review: sip vs the vendor's addresses, the user delegation key bounding the
SAS, fields set twice (token and stored policy), spr/sip in signed versions that do not sign them.

Each hole has a flawed token that must FAIL and a secure look-alike that must PASS. The checks are called
directly on an `AzureBackup` in live mode without management access (pure analysis, no requests).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from compliance.azure import analysis
from compliance.azure.analysis import StoredPolicy
from compliance.azure.backup import AzureBackup
from compliance.azure.sas import SasFormatError, parse_sas
from compliance.checks import test_azure_probes as probe_checks
from compliance.checks import test_azure_sas as sas_checks
from compliance.config import AzureConfig
from compliance.model import Finding, Status

SIG = base64.b64encode(bytes(range(32))).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
ENV = "ITEM8_SAS"
SKOID, SKTID = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"


def iso(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def service(**fields: str) -> str:
    base = {"sv": "2025-11-05", "sr": "c", "sp": "cw", "st": iso(-1), "se": iso(60), "spr": "https"}
    base.update(fields)
    return "&".join(f"{k}={v}" for k, v in base.items() if v) + f"&sig={SIG}"


def delegation(se_days: float, ske_days: float, **fields: str) -> str:
    return service(se=iso(se_days), skoid=SKOID, sktid=SKTID, skt=iso(-1), ske=iso(ske_days), sks="b",
                   skv="2025-11-05", **fields)


def run(check: Callable[..., Finding], token: str, monkeypatch: pytest.MonkeyPatch, **config: object) -> Finding:
    monkeypatch.setenv(ENV, token)
    settings: dict[str, object] = {"sas_min_days_left": 30, **config}
    cfg = AzureConfig("https://contosoaudit.blob.core.windows.net", "audit-backup", ENV, **settings)  # type: ignore[arg-type]
    backup = AzureBackup("item8", cfg, emulator=None, write_probe_allowed=False)
    return check(azure_backup=backup)


# ---- sip against the vendor's published addresses ----

IP_CASES = {
    # name: (sip, vendor_ips, expected status, words in the message)
    "sip-excludes-vendor": ("198.51.100.7", ("203.0.113.0/24",), Status.FAIL, ("leaves out", "203.0.113.0/24",
                                                                               "AuthorizationSourceIPMismatch")),
    "sip-covers-half": ("203.0.113.0-203.0.113.127", ("203.0.113.0/24",), Status.FAIL, ("leaves out",)),
    "sip-ipv4-vendor-ipv6": ("203.0.113.0-203.0.113.255", ("203.0.113.0/24", "2001:db8::/32"), Status.FAIL,
                             ("2001:db8::/32",)),
    "sip-without-published-ips": ("203.0.113.5", (), Status.FAIL, ("not known", "azure.vendor_ips")),
    "sip-covers-vendor": ("203.0.113.0-203.0.113.255", ("203.0.113.0/24",), Status.PASS, ("covers every",)),
    "sip-covers-two-ranges": ("203.0.112.0-203.0.113.255", ("203.0.112.0/24", "203.0.113.16/28"), Status.PASS, ()),
    "no-sip": ("", ("203.0.113.0/24",), Status.PASS, ("no IP restriction",)),
}


@pytest.mark.parametrize("case", sorted(IP_CASES))
def test_sip_against_vendor_ips(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sip, vendor_ips, status, words = IP_CASES[case]
    finding = run(sas_checks.test_azure_sas_ip_range_admits_vendor, service(sip=sip), monkeypatch,
                  vendor_ips=vendor_ips)
    assert finding.status is status, finding.message
    for word in words:
        assert word in finding.message


def test_vendor_ips_default_to_vendor_source_ips() -> None:
    from compliance.config import parse_chain_config

    from .azure_helpers import chain_toml

    text = chain_toml([("c", {})]).replace("source_ips = []", 'source_ips = ["203.0.113.0/24"]')
    chain = parse_chain_config(text, "t.toml", require_secrets=False).chains[0]
    assert chain.azure is not None and chain.azure.vendor_ips == ("203.0.113.0/24",)
    text = chain_toml([("c", {"vendor_ips": ["198.51.100.0/24"]})])
    chain = parse_chain_config(text, "t.toml", require_secrets=False).chains[0]
    assert chain.azure is not None and chain.azure.vendor_ips == ("198.51.100.0/24",)


@pytest.mark.parametrize(("sip", "words"), [("10.0.0.9-10.0.0.1", "above its last"), ("10.0.0.1-2001:db8::1", "mixes")])
def test_bad_sip_ranges_are_malformed(sip: str, words: str) -> None:
    with pytest.raises(SasFormatError, match=words):
        parse_sas(service(sip=sip))


# ---- user delegation SAS: the key's expiry bounds the SAS ----

def test_delegation_key_expiry_bounds_days_left(monkeypatch: pytest.MonkeyPatch) -> None:
    token = delegation(se_days=200, ske_days=5)
    finding = run(sas_checks.test_azure_sas_not_expiring_soon, token, monkeypatch)
    assert finding.status is Status.FAIL, finding.message
    assert "user delegation key's expiry ske" in finding.message and SKOID in finding.message
    assert SKTID in finding.message
    effective = analysis.resolve(parse_sas(token), None)
    assert effective.expiry == parse_sas(token).key_expiry and effective.key_bounds_expiry


def test_delegation_key_expiry_bounds_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    """se far in the future would fail the lifetime limit; ske ends the SAS within 6 days, so it passes."""
    token = delegation(se_days=900, ske_days=5)
    finding = run(sas_checks.test_azure_sas_lifetime_bounded, token, monkeypatch)
    assert finding.status is Status.PASS, finding.message
    assert "valid for 6 days" in finding.message and "ske" in finding.message


def test_delegation_se_before_ske_is_not_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    token = delegation(se_days=3, ske_days=6)
    finding = run(sas_checks.test_azure_sas_not_expiring_soon, token, monkeypatch, sas_min_days_left=1)
    assert finding.status is Status.PASS and "ske" not in finding.message
    assert not analysis.resolve(parse_sas(token), None).key_bounds_expiry


def test_delegation_expired_key_fails_even_with_future_se(monkeypatch: pytest.MonkeyPatch) -> None:
    token = service(se=iso(30), skoid=SKOID, sktid=SKTID, skt=iso(-9), ske=iso(-2), sks="b", skv="2025-11-05")
    finding = run(sas_checks.test_azure_sas_not_expiring_soon, token, monkeypatch)
    assert finding.status is Status.FAIL and "expired on" in finding.message and "ske" in finding.message


def test_delegation_signer_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    finding = run(sas_checks.test_azure_sas_well_formed, delegation(5, 6), monkeypatch)
    assert finding.status is Status.PASS
    assert SKOID in finding.message and SKTID in finding.message
    assert finding.evidence[0].data["token"]["delegation"]["skoid"] == SKOID


@pytest.mark.parametrize(("drop", "words"), [("ske", "no ske"), ("sktid", "no sktid"), ("skv", "no skv")])
def test_delegation_without_key_fields_is_truncated(drop: str, words: str) -> None:
    token = delegation(5, 6).replace(f"&{drop}=", "&x-dropped=")
    with pytest.raises(SasFormatError, match=words):
        parse_sas(token)


def test_delegation_with_stored_policy_is_refused() -> None:
    with pytest.raises(SasFormatError, match="cannot use"):
        parse_sas(delegation(5, 6, si="backup-writer"))


# ---- the same field in the token and in its stored access policy ----

def test_field_in_token_and_policy_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    token = service(si="backup-writer", st="", se="")  # sp=cw in the token
    policy = StoredPolicy("backup-writer", "cw", now - timedelta(days=1), now + timedelta(days=60))
    effective = analysis.resolve(parse_sas(token), {"backup-writer": policy})
    assert effective.conflicts() == ["sp"]
    monkeypatch.setattr(AzureBackup, "effective", lambda self: effective)
    finding = run(sas_checks.test_azure_sas_well_formed, token, monkeypatch)
    assert finding.status is Status.FAIL and "sets sp both in the token" in finding.message
    # the secure look-alike: permissions only in the policy
    clean = analysis.resolve(parse_sas(service(si="backup-writer", sp="", st="", se="")), {"backup-writer": policy})
    assert clean.conflicts() == []
    monkeypatch.setattr(AzureBackup, "effective", lambda self: clean)
    assert run(sas_checks.test_azure_sas_well_formed, token, monkeypatch).status is Status.PASS


# ---- spr=https in a signed version that does not sign spr ----

def test_spr_in_old_signed_version_is_not_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    old = service(sv="2013-08-15")
    assert not parse_sas(old).https_only
    finding = run(sas_checks.test_azure_sas_requires_https, old, monkeypatch)
    assert finding.status is Status.FAIL and "does not sign spr" in finding.message
    live = run(probe_checks.test_azure_sas_refuses_http, old, monkeypatch)
    assert live.status is Status.FAIL and "does not sign spr" in live.message
    current = service(sv="2015-04-05")
    assert run(sas_checks.test_azure_sas_requires_https, current, monkeypatch).status is Status.PASS
    assert run(probe_checks.test_azure_sas_refuses_http, current, monkeypatch).status is Status.PASS


# ---- a SAS that cannot create anything ----

@pytest.mark.parametrize(("sp", "status"), [("a", Status.FAIL), ("c", Status.PASS), ("w", Status.PASS),
                                            ("cw", Status.PASS)])
def test_sas_without_create_or_write_cannot_back_up(sp: str, status: Status, monkeypatch: pytest.MonkeyPatch) -> None:
    finding = run(sas_checks.test_azure_sas_grants_only_write, service(sp=sp), monkeypatch, allow_append=True)
    assert finding.status is status, finding.message
    if status is Status.FAIL:
        assert "without c (create) or w (write)" in finding.message
