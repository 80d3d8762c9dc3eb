"""The management-plane reader and the outside view, proven on Azure's published answers.

Resource Manager answers are Azure's REST API examples for api-version 2025-06-01 (the version
azure-mgmt-storage 24.0.1 sends), replayed by a local HTTPS stand-in (fake_azure.py) through the real
azure-identity and azure-mgmt-storage clients. Each posture check is shown reaching PASS and FAIL by
mutating those examples. The outside-view probes are shown both ways against answers Azure documents.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from compliance.azure import management, outside
from compliance.azure.backup import AzureBackup
from compliance.azure.sas import parse_sas
from compliance.checks import test_azure_posture as posture_checks
from compliance.checks import test_azure_sas as sas_checks
from compliance.config import AzureConfig, AzureManagement, parse_chain_config
from compliance.errors import ReadOnlyViolation
from compliance.model import Finding, Status

from .azure_helpers import run_azure, write_chains
from .fake_azure import API_VERSION, EXAMPLES, OPERATIONS, FakeAzure, acl_xml

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RG, ACCOUNT, CONTAINER = "res9871", "sto6217", "container1634"
SAS_ENV = "REPLAY_SAS"
SIG = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8%3D"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    server = FakeAzure()
    server.start(tmp_path)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZURE_REGIONAL_AUTHORITY_NAME", raising=False)
    try:
        yield server
    finally:
        server.stop()


def sas(**fields: str) -> str:
    now = datetime.now(UTC)
    base = {"sv": "2025-11-05", "sr": "c", "sp": "cw", "st": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "se": (now + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"), "spr": "https"}
    base.update(fields)
    return "&".join(f"{k}={v}" for k, v in base.items() if v) + f"&sig={SIG}"


def backup(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch, *, managed: bool = True, token: str | None = None,
           account_url: str | None = None) -> AzureBackup:
    monkeypatch.setenv(SAS_ENV, token or sas())
    mgmt = AzureManagement(SUBSCRIPTION, RG, ACCOUNT, fake.url) if managed else None
    config = AzureConfig(account_url or fake.account_url(ACCOUNT), CONTAINER, SAS_ENV, 30, management=mgmt,
                         min_retention_days=2555)
    return AzureBackup("replay", config, emulator=None, write_probe_allowed=False)


def verdict(check: Callable[..., Finding], target: AzureBackup) -> Finding:
    return check(azure_backup=target)


# ---- the examples, parsed through the real SDK ----

def test_examples_are_kept_with_their_source() -> None:
    sources = json.loads((EXAMPLES / "SOURCES.json").read_text(encoding="utf-8"))
    assert set(sources["files"]) == set(OPERATIONS.values())
    for name, source in sources["files"].items():
        assert source["path"].endswith(f"/stable/{API_VERSION}/examples/{name}")
        assert len(source["commit"]) == 40
        assert example_api_version(name) == API_VERSION


def example_api_version(name: str) -> str:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return str(data["parameters"]["api-version"])


def test_sdk_sends_the_examples_api_version() -> None:
    from azure.mgmt.storage import StorageManagementClient

    from compliance.azure.management import API_VERSION as READER_VERSION

    client = StorageManagementClient(credential=object(), subscription_id=SUBSCRIPTION)  # type: ignore[arg-type]
    assert client._config.api_version == READER_VERSION == API_VERSION


def test_published_examples_parse(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    session = management.ManagementSession(AzureManagement(SUBSCRIPTION, RG, ACCOUNT, fake.url))
    posture = management.read_posture(session, CONTAINER)
    assert posture.https_only.value is False  # supportsHttpsTrafficOnly: false
    assert posture.min_tls.value == "TLS1_0"  # minimumTlsVersion absent: TLS 1.0
    assert posture.account_allows_public.value is True  # allowBlobPublicAccess absent: read as allowed
    assert posture.public_access.value is None  # publicAccess: None
    assert posture.versioning.value is True and posture.blob_soft_delete_days.value == 300
    assert posture.container_soft_delete_days.value is None
    immutability = posture.immutability.value  # from immutabilityPolicies/default, not the container summary
    assert (immutability.days, immutability.state, immutability.allow_protected_append_writes) == (5, "Unlocked",
                                                                                                   True)
    assert posture.legal_hold.value == ("tag1", "tag2", "tag3")
    assert posture.version_level_worm.value is False


def test_reads_are_get_only_with_the_examples_api_version(fake: FakeAzure) -> None:
    session = management.ManagementSession(AzureManagement(SUBSCRIPTION, RG, ACCOUNT, fake.url))
    management.read_posture(session, CONTAINER)
    arm = fake.arm_requests()
    assert [r.method for r in arm] == ["GET"] * 4
    assert {r.query["api-version"][0] for r in arm} == {API_VERSION}
    assert all(r.authorization == "bearer" for r in arm)
    assert all(call.startswith("GET /subscriptions/") for call in session.record.calls)
    token = [r for r in fake.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert len(token) == 1 and f"scope={fake.url.replace(':', '%3A').replace('/', '%2F')}%2F.default" in token[0].body


def test_a_mutating_call_is_refused_before_it_is_sent(fake: FakeAzure) -> None:
    session = management.ManagementSession(AzureManagement(SUBSCRIPTION, RG, ACCOUNT, fake.url))
    with pytest.raises(ReadOnlyViolation, match="read-only"):
        session.client().blob_containers.lock_immutability_policy(RG, ACCOUNT, CONTAINER, if_match='"x"')
    assert not [r for r in fake.requests if r.method != "GET" and "/subscriptions/" in r.path]
    assert session.record.calls[-1].startswith("POST /subscriptions/")


# ---- clouds ----

@pytest.mark.parametrize(("endpoint", "authority"), [
    ("https://management.azure.com", "login.microsoftonline.com"),
    ("https://management.chinacloudapi.cn", "login.chinacloudapi.cn"),
    ("https://management.usgovcloudapi.net", "login.microsoftonline.us"),
])
def test_sovereign_cloud_endpoint(endpoint: str, authority: str) -> None:
    assert management.authority_for(endpoint, {}) == (authority, False)
    assert management.scope_for(endpoint) == f"{endpoint}/.default"
    text = write_config(endpoint)
    mgmt = parse_chain_config(text, "chain.toml", require_secrets=False).chains[0].azure.management  # type: ignore[union-attr]
    assert mgmt is not None and mgmt.endpoint == endpoint


def write_config(endpoint: str) -> str:
    from .azure_helpers import chain_toml

    return chain_toml([("c", {})], management={"subscription_id": SUBSCRIPTION, "resource_group": RG,
                                               "account_name": ACCOUNT, "endpoint": endpoint})


def test_authority_host_variable_wins() -> None:
    env = {"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us"}
    assert management.authority_for("https://management.azure.com", env) == ("https://login.microsoftonline.us",
                                                                              False)
    custom = {"AZURE_AUTHORITY_HOST": "https://127.0.0.1:8443"}
    assert management.authority_for("https://management.azure.com", custom) == ("https://127.0.0.1:8443", True)


def test_default_endpoint_is_public_cloud() -> None:
    from .azure_helpers import chain_toml

    text = chain_toml([("c", {})], management={"subscription_id": SUBSCRIPTION, "resource_group": RG,
                                               "account_name": ACCOUNT})
    mgmt = parse_chain_config(text, "chain.toml", require_secrets=False).chains[0].azure.management  # type: ignore[union-attr]
    assert mgmt is not None and mgmt.endpoint == "https://management.azure.com"


# ---- every posture check reaches PASS and FAIL on mutated examples ----

def mutate(fake: FakeAzure, change: str) -> None:
    account = fake.arm["account"]["properties"]
    service = fake.arm["blob_service"]["properties"]
    box = fake.arm["container"]["properties"]
    policy = fake.arm["immutability_policy"]["properties"]
    if change == "hardened":
        account.update(supportsHttpsTrafficOnly=True, minimumTlsVersion="TLS1_2", allowBlobPublicAccess=False)
        policy.update(state="Locked", immutabilityPeriodSinceCreationInDays=3000)
        box.update(hasLegalHold=False, legalHold={"hasLegalHold": False, "tags": []})
    elif change == "versioning-off":
        service["isVersioningEnabled"] = False
    elif change == "soft-delete-off":
        service["deleteRetentionPolicy"] = {"enabled": False}
    elif change == "public-container":
        box["publicAccess"] = "Container"
        account["allowBlobPublicAccess"] = True
    elif change == "public-container-account-disallows":
        box["publicAccess"] = "Container"
        account["allowBlobPublicAccess"] = False
    elif change == "locked-too-short":
        policy.update(state="Locked", immutabilityPeriodSinceCreationInDays=100)
    elif change == "no-immutability-policy":
        box["hasImmutabilityPolicy"] = False
        box.pop("immutabilityPolicy")
    elif change == "tls-1-3":
        account["minimumTlsVersion"] = "TLS1_3"
    elif change != "published":
        raise AssertionError(change)


MATRIX = [
    # (mutation, check, status, words)
    ("published", "azure_account_requires_secure_transfer", Status.FAIL, "accepts plain HTTP"),
    ("hardened", "azure_account_requires_secure_transfer", Status.PASS, "requires secure transfer"),
    ("published", "azure_account_min_tls_12", Status.FAIL, "minimum TLS version is TLS1_0"),
    ("hardened", "azure_account_min_tls_12", Status.PASS, "requires TLS1_2"),
    ("tls-1-3", "azure_account_min_tls_12", Status.PASS, "requires TLS1_3"),
    ("published", "azure_blob_versioning_and_soft_delete", Status.PASS, "kept 300 days"),
    ("versioning-off", "azure_blob_versioning_and_soft_delete", Status.FAIL, "Blob versioning is off"),
    ("soft-delete-off", "azure_blob_versioning_and_soft_delete", Status.FAIL, "soft delete is off"),
    ("published", "azure_container_immutable_retention", Status.FAIL, "Unlocked, not Locked"),
    ("locked-too-short", "azure_container_immutable_retention", Status.FAIL, "100 days, less than the 2555"),
    ("no-immutability-policy", "azure_container_immutable_retention", Status.FAIL, "no time-based immutability"),
    ("hardened", "azure_container_immutable_retention", Status.PASS, "locked container retention policy"),
    ("published", "azure_legal_hold_reported", Status.PASS, "tags: tag1, tag2, tag3"),
    ("hardened", "azure_legal_hold_reported", Status.PASS, "no legal hold is in place"),
    ("published", "azure_container_not_public", Status.PASS, "is private"),
    ("hardened", "azure_container_not_public", Status.PASS, "disallows anonymous access"),
    ("public-container", "azure_container_not_public", Status.FAIL, "allows anonymous 'container' access"),
    ("public-container-account-disallows", "azure_container_not_public", Status.PASS, "disallows anonymous"),
]


@pytest.mark.parametrize(("change", "check_id", "status", "words"), MATRIX,
                         ids=[f"{m[1]}-{m[0]}" for m in MATRIX])
def test_posture_verdict_on_examples(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch, change: str, check_id: str,
                                     status: Status, words: str) -> None:
    mutate(fake, change)
    finding = verdict(getattr(posture_checks, f"test_{check_id}"), backup(fake, monkeypatch))
    assert finding.status is status, finding.message
    assert words in finding.message, finding.message
    assert "Resource Manager" in finding.message


def test_immutability_policy_read_failing_falls_back_to_the_container_summary(
        fake: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.arm_status["immutability_policy"] = 403
    finding = verdict(posture_checks.test_azure_container_immutable_retention, backup(fake, monkeypatch))
    assert finding.status is Status.FAIL and "100 days, less than the 2555" in finding.message  # Locked, 100 days
    assert "immutabilityPolicy summary" in finding.message and "HTTP 403 AuthorizationFailed" in finding.message
    fake.arm["container"]["properties"].pop("immutabilityPolicy")
    finding = verdict(posture_checks.test_azure_container_immutable_retention, backup(fake, monkeypatch))
    assert finding.status is Status.ERROR and "Get Immutability Policy failed" in finding.message


def test_unreadable_management_read_is_error_naming_api_and_code(fake: FakeAzure,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake.arm_status["blob_service"] = 403
    finding = verdict(posture_checks.test_azure_blob_versioning_and_soft_delete, backup(fake, monkeypatch))
    assert finding.status is Status.ERROR
    assert "Blob Services - Get Service Properties failed (HTTP 403 AuthorizationFailed)" in finding.message


# ---- the outside view, both ways, without any credential ----

OUTSIDE = [
    # (behaviour changes, check, status, words)
    ({"anonymous": "disallowed"}, "azure_container_not_public", Status.PASS, "409 PublicAccessNotPermitted"),
    ({"anonymous": "private"}, "azure_container_not_public", Status.PASS, "404 ResourceNotFound"),
    ({"anonymous": "blob"}, "azure_container_not_public", Status.FAIL, "404 BlobNotFound"),
    ({"anonymous": "container"}, "azure_container_not_public", Status.FAIL, "Anyone can list"),
    ({"https_required": True}, "azure_account_requires_secure_transfer", Status.PASS, "400 AccountRequiresHttps"),
    ({"https_required": False, "anonymous": "private"}, "azure_account_requires_secure_transfer", Status.FAIL,
     "processes plain-HTTP requests"),
    ({"tls": "account-min"}, "azure_account_min_tls_12", Status.PASS, "400 TlsVersionNotPermitted"),
    ({"tls": "accepts"}, "azure_account_min_tls_12", Status.FAIL, "accepts TLS1_0, older than TLS 1.2 (outside view"),
    ({"tls": "retired"}, "azure_account_min_tls_12", Status.PASS, "does not show the account's minimumTlsVersion"),
]


@pytest.mark.parametrize(("behaviour", "check_id", "status", "words"), OUTSIDE,
                         ids=[f"{o[1]}-{i}" for i, o in enumerate(OUTSIDE)])
def test_outside_view(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch, behaviour: dict[str, Any], check_id: str,
                      status: Status, words: str) -> None:
    for name, value in behaviour.items():
        setattr(fake.blob, name, value)
    finding = verdict(getattr(posture_checks, f"test_{check_id}"), backup(fake, monkeypatch, managed=False))
    assert finding.status is status, finding.message
    assert words in finding.message, finding.message
    assert not [r for r in fake.requests if r.authorization and r.scheme == "http"]  # nothing secret over HTTP
    sent = [r for r in fake.requests if r.query.get("comp") == ["list"] and r.authorization == ""]
    assert sent, "the outside view sent no anonymous request"


def test_outside_view_without_an_answer_is_error_with_what_settles_it(monkeypatch: pytest.MonkeyPatch,
                                                                        fake: FakeAzure) -> None:
    closed = "https://127.0.0.1:9/sto6217"  # discard port: nothing listens
    target = backup(fake, monkeypatch, managed=False, account_url=closed)
    for check in (posture_checks.test_azure_account_requires_secure_transfer,
                  posture_checks.test_azure_account_min_tls_12):
        finding = verdict(check, target)
        assert finding.status is Status.ERROR, finding.message
        assert "configure [azure.management]" in finding.message


def test_tls_probe_offers_only_the_old_version(fake: FakeAzure) -> None:
    fake.blob.tls = "accepts"
    answer = outside.OutsideProber(fake.account_url(), CONTAINER).legacy_tls(ssl.TLSVersion.TLSv1)
    assert answer.tls_version == "TLSv1" and answer.status == 404


# ---- stored access policies through Get Container ACL ----

def policy_sas() -> str:
    return sas(sp="", st="", se="", si="backup-writer")


def acl(permissions: str) -> str:
    now = datetime.now(UTC)
    return acl_xml({"backup-writer": (permissions, (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
                                      (now + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"))})


def test_stored_policy_read_with_the_management_credential(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.blob.acl_xml = acl("cw")
    target = backup(fake, monkeypatch, token=policy_sas())
    finding = verdict(sas_checks.test_azure_sas_grants_only_write, target)
    assert finding.status is Status.PASS and "stored access policy 'backup-writer'" in finding.message
    assert verdict(sas_checks.test_azure_sas_not_expiring_soon, target).status is Status.PASS
    reads = [r for r in fake.requests if r.query.get("comp") == ["acl"]]
    assert [(r.method, r.authorization) for r in reads] == [("GET", "bearer")]


def test_stored_policy_too_open_fails(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.blob.acl_xml = acl("rwdl")
    finding = verdict(sas_checks.test_azure_sas_grants_only_write, backup(fake, monkeypatch, token=policy_sas()))
    assert finding.status is Status.FAIL and "r (read)" in finding.message and "d (delete)" in finding.message


def test_stored_policy_unreadable_is_error_with_the_command(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.blob.acl_xml = None  # the identity lacks getAcl: 403 AuthorizationPermissionMismatch
    finding = verdict(sas_checks.test_azure_sas_grants_only_write, backup(fake, monkeypatch, token=policy_sas()))
    assert finding.status is Status.ERROR
    assert "AuthorizationPermissionMismatch" in finding.message
    assert management.ACL_PERMISSION in finding.message
    assert "az storage container policy list --account-name 127" in finding.message  # host of the stand-in
    assert parse_sas(policy_sas()).policy_id == "backup-writer"


# ---- end to end: --target live with [azure.management] endpoint at the replay ----

def test_live_run_against_the_replay(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                     fake: FakeAzure) -> None:
    mutate(fake, "hardened")
    chains = write_chains(pytester.path, [("replay", {"container": CONTAINER})], account_url=fake.account_url(ACCOUNT),
                          management={"subscription_id": SUBSCRIPTION, "resource_group": RG, "account_name": ACCOUNT,
                                      "endpoint": fake.url})
    run = run_azure(pytester, monkeypatch, "--target", "live", "--chain", str(chains), env={"AZURE_BACKUP_SAS": sas()})
    for check in ("azure_account_requires_secure_transfer", "azure_account_min_tls_12",
                  "azure_blob_versioning_and_soft_delete", "azure_container_immutable_retention",
                  "azure_legal_hold_reported", "azure_container_not_public", "azure_sas_cannot_read",
                  "azure_sas_ip_range_admits_vendor"):
        assert run.status(check, "replay") == "PASS", (check, run.message(check, "replay"))
    assert {r.method for r in fake.arm_requests()} == {"GET"}
    text = run.outputs()
    assert fake.env()["AZURE_CLIENT_SECRET"] not in text and "fake-access-token-for-tests" not in text
    assert SIG not in text


def test_endpoint_with_a_path_prefix_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Resource Manager behind a path (a gateway, a replay server) gets requests under that path."""
    from azure.core.credentials import AccessToken

    class StaticToken:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            assert scopes == ("https://127.0.0.1:9/arm/.default",)
            return AccessToken("t", 4102444800)

    session = management.ManagementSession(AzureManagement(SUBSCRIPTION, RG, ACCOUNT, "https://127.0.0.1:9/arm"))
    session._credential = StaticToken()
    with pytest.raises(Exception):  # noqa: B017 - nothing listens on the discard port
        session.client().storage_accounts.get_properties(RG, ACCOUNT)
    assert session.record.calls == [f"GET /arm/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/"
                                    f"Microsoft.Storage/storageAccounts/{ACCOUNT}"]
