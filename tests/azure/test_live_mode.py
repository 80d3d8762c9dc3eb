"""--target live with only a SAS: what a SAS and the outside view can show is checked, the rest is ERROR with the
remedy. Azurite stands in for the account; it does not give Azure's documented anonymous answers, so those
outside-view readings stay ERROR here (tests/azure/test_management_replay.py covers them both ways)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compliance.azure.outside import SETTLE_MGMT
from compliance.azure.posture import UNVERIFIABLE
from compliance.targets import azurite
from compliance.targets.azure_emulated import EmulatedAzure
from compliance.targets.azure_spec import AzureSpec

from .azure_helpers import make_sas, run_azure, write_chains

UNVERIFIABLE_CHECKS = ("azure_account_requires_secure_transfer", "azure_blob_versioning_and_soft_delete",
                       "azure_container_immutable_retention", "azure_legal_hold_reported")


@pytest.fixture
def live_account(shared_azurite: azurite.AzuriteProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session's Azurite standing in for a live account: container provisioned, its CA trusted."""
    emulator = EmulatedAzure(AzureSpec("audit-backup"))
    emulator.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(shared_azurite.ca_path))
    try:
        yield shared_azurite.account_url
    finally:
        emulator.stop()


def test_live_sas_only_reports_unverifiable_as_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                     live_account: str) -> None:
    chains = write_chains(pytester.path, [("live", {})], account_url=live_account)
    run = run_azure(pytester, monkeypatch, "--target", "live", "--chain", str(chains),
                    env={"AZURE_BACKUP_SAS": make_sas("cw")})
    for check in UNVERIFIABLE_CHECKS:
        assert run.status(check, "live") == "ERROR", (check, run.message(check, "live"))
        assert UNVERIFIABLE in run.message(check, "live") or SETTLE_MGMT in run.message(check, "live")
    # Azurite refuses plain HTTP on its TLS port by closing the connection: not Azure's documented answer.
    assert "not verifiable from outside" in run.message("azure_account_requires_secure_transfer", "live")
    # Azurite (Node.js) refuses TLS 1.0/1.1 at the handshake; the PASS says what that does not show.
    assert run.status("azure_account_min_tls_12", "live") == "PASS"
    assert "does not show the account's minimumTlsVersion" in run.message("azure_account_min_tls_12", "live")
    # Azurite answers anonymous requests with 403 AuthorizationFailure, not Azure's documented answers.
    assert run.status("azure_container_not_public", "live") == "ERROR"
    assert "--azure-write-probe" in run.message("azure_container_not_public", "live")
    assert run.status("azure_sas_write_path_works", "live") == "ERROR"
    assert "--azure-write-probe" in run.message("azure_sas_write_path_works", "live")
    for check in ("azure_sas_cannot_read", "azure_sas_cannot_delete", "azure_sas_cannot_list",
                  "azure_sas_refuses_http", "azure_sas_grants_only_write", "azure_sas_requires_https"):
        assert run.status(check, "live") == "PASS", (check, run.message(check, "live"))
    assert "not sent over HTTP" in run.message("azure_sas_refuses_http", "live")


def test_live_write_probe_opt_in(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                 live_account: str) -> None:
    chains = write_chains(pytester.path, [("live", {})], account_url=live_account)
    run = run_azure(pytester, monkeypatch, "--target", "live", "--chain", str(chains), "--azure-write-probe",
                    env={"AZURE_BACKUP_SAS": make_sas("cw")})
    assert run.status("azure_sas_write_path_works", "live") == "PASS"
    assert "compliance-canary/canary-" in run.message("azure_sas_write_path_works", "live")
    assert run.status("azure_container_not_public", "live") == "PASS"


def test_live_management_without_sdk_names_the_install(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                       live_account: str) -> None:
    pytest.importorskip("compliance")
    try:
        import azure.mgmt.storage  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("azure-mgmt-storage is installed; this test covers the missing-extra message")
    chains = write_chains(pytester.path, [("live", {})], account_url=live_account,
                          management={"subscription_id": "00000000-0000-0000-0000-000000000000",
                                      "resource_group": "rg-audit", "account_name": "contosoaudit"})
    run = run_azure(pytester, monkeypatch, "--target", "live", "--chain", str(chains),
                    env={"AZURE_BACKUP_SAS": make_sas("cw")})
    message = run.message("azure_account_min_tls_12", "live")
    assert run.status("azure_account_min_tls_12", "live") == "ERROR"
    assert "pip install 'export-chain-compliance[azure-mgmt]'" in message
