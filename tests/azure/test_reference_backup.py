"""The reference backup in the embedded default: PASS, or NOT SUPPORTED BY TARGET for Azurite's gaps."""

from __future__ import annotations

import pytest

from compliance.checks import load_all_checks

from .azure_helpers import run_azure, write_chains

EMULATOR_GAPS = {"azure_account_requires_secure_transfer", "azure_account_min_tls_12",
                 "azure_blob_versioning_and_soft_delete", "azure_container_immutable_retention",
                 "azure_legal_hold_reported"}


def test_reference_backup_passes_embedded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_BACKUP_SAS", raising=False)
    run = run_azure(pytester, monkeypatch)
    azure_ids = {m.id for m in load_all_checks().values() if m.provider.value == "azure"}
    seen = {check for (_, check) in run.findings}
    assert seen == azure_ids
    statuses = {check: run.status(check) for check in azure_ids}
    assert {c for c, s in statuses.items() if s == "NOT SUPPORTED BY TARGET"} == EMULATOR_GAPS, statuses
    assert {c for c, s in statuses.items() if s == "PASS"} == azure_ids - EMULATOR_GAPS, statuses
    assert run.result.ret == 0
    assert "NOT SUPPORTED BY TARGET" in run.result.stdout.str()
    for gap in EMULATOR_GAPS:
        assert "Azurite" in run.message(gap)


def test_chain_without_azure_is_not_applicable(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_chains(pytester.path, [("aws-only", None)])
    run = run_azure(pytester, monkeypatch, "--chain", str(path))
    assert run.findings
    for finding in run.findings.values():
        assert finding["status"] == "NOT APPLICABLE"
        assert finding["message"] == "No [azure] backup is configured for this chain."
