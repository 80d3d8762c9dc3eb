"""Every SAS flaw, as a real SAS against Azurite, fails the right check with a sentence naming the cause."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from .azure_helpers import make_account_sas, make_sas, run_azure, tamper

# flaw -> (SAS factory, {check id: words the FAIL sentence must contain})
FLAWS: dict[str, tuple[Callable[[], str], dict[str, tuple[str, ...]]]] = {
    "read-rights": (lambda: make_sas("rcw"), {
        "azure_sas_grants_only_write": ("r (read)", "beyond the write set"),
        "azure_sas_cannot_read": ("HTTP 404", "carries the read right", "download every backup"),
    }),
    "delete-rights": (lambda: make_sas("cwd"), {
        "azure_sas_grants_only_write": ("d (delete)",),
        "azure_sas_cannot_delete": ("HTTP 404", "carries the delete right", "erase the backup"),
    }),
    "list-rights": (lambda: make_sas("cwl"), {
        "azure_sas_grants_only_write": ("l (list)",),
        "azure_sas_cannot_list": ("HTTP 200", "carries the list right", "enumerate"),
    }),
    "account-sas": (make_account_sas, {
        "azure_sas_scoped_to_container": ("account SAS", "every container", "whole account"),
        "azure_sas_revocable": ("account SAS can be revoked only by rotating", "every container"),
    }),
    "unrevocable-long-lived": (lambda: make_sas("cw", days=200), {
        "azure_sas_revocable": ("stays valid for 200 more days", "only by rotating", "within 90 days"),
    }),
    "http-allowed": (lambda: make_sas("cw", https_only=False), {
        "azure_sas_requires_https": ("spr=https,http", "plain HTTP"),
        "azure_sas_refuses_http": ("Over plain HTTP the SAS was accepted", "unencrypted"),
    }),
    "expired": (lambda: make_sas("cw", days=-3, start_days=-200), {
        "azure_sas_not_expiring_soon": ("expired on", "days ago", "every backup write is refused"),
        "azure_sas_write_path_works": ("refused", "HTTP 403", "the SAS expired on"),
    }),
    "expiring-soon": (lambda: make_sas("cw", days=10), {
        "azure_sas_not_expiring_soon": ("in 10.0 days", "less than the 30 days required", "renew"),
    }),
    "lifetime-too-long": (lambda: make_sas("cw", days=800), {
        "azure_sas_lifetime_bounded": ("valid for 800 days", "more than the 400 days allowed"),
    }),
    "revoked-policy": (lambda: make_sas(None, policy_id="backup-writer", start_days=None), {
        "azure_sas_write_path_works": ("refused", "stored access policy 'backup-writer' no longer exists", "revoked"),
        "azure_sas_grants_only_write": ("stored access policy 'backup-writer'", "does not exist", "revoked"),
    }),
    "tampered-signature": (lambda: tamper(make_sas("cw")), {
        "azure_sas_write_path_works": ("refused", "signature does not verify", "altered"),
    }),
}


@pytest.mark.parametrize("flaw", sorted(FLAWS))
def test_flaw_fails_the_right_check(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, flaw: str) -> None:
    factory, expected = FLAWS[flaw]
    token = factory()
    run = run_azure(pytester, monkeypatch, env={"AZURE_BACKUP_SAS": token})
    for check_id, needles in expected.items():
        status, message = run.status(check_id), run.message(check_id)
        assert status == "FAIL", (check_id, status, message)
        for needle in needles:
            assert needle in message, (check_id, needle, message)
        assert message.endswith("."), message
    assert run.result.ret == 1
    assert token not in run.outputs()


def test_reference_like_sas_supplied_by_user_passes_every_sas_check(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user-supplied compliant SAS is used as-is (not replaced by a generated one) and passes."""
    run = run_azure(pytester, monkeypatch, env={"AZURE_BACKUP_SAS": make_sas("cw", days=90)})
    failing = {check: f["status"] for (_, check), f in run.findings.items()
               if f["status"] not in ("PASS", "NOT SUPPORTED BY TARGET")}
    assert not failing, failing
    assert "90 days from now" in run.message("azure_sas_not_expiring_soon") or \
        "89 days from now" in run.message("azure_sas_not_expiring_soon")


@pytest.mark.parametrize("token", ["sv=2025-11-05&sr=c&sp=cw&se=2027-01-01T00:00:00Z&sig=QUJD",
                                   "not a sas at all", "sv=2025-11-05&sr=c&sp=cw&se=2027-01-01T00:00:00Z"])
def test_malformed_sas_is_one_clear_line(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                         token: str) -> None:
    """A truncated SAS fails azure_sas_well_formed with one sentence; no traceback, no token anywhere."""
    run = run_azure(pytester, monkeypatch, env={"AZURE_BACKUP_SAS": token})
    assert run.status("azure_sas_well_formed") == "FAIL"
    message = run.message("azure_sas_well_formed")
    assert message.startswith("The SAS in AZURE_BACKUP_SAS is malformed: ")
    assert "\n" not in message
    assert run.status("azure_sas_write_path_works") == "ERROR"
    text = run.outputs()
    assert "Traceback" not in text
    assert token not in text
    assert all(f["status"] != "PASS" or check.startswith(("azure_container", "azure_account", "azure_blob",
                                                          "azure_legal"))
               for (_, check), f in run.findings.items()), json.dumps(run.findings, indent=1)


def test_stored_policy_sas_is_revocable_and_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment with a stored access policy: the policy SAS passes and is reported revocable by policy."""
    deployment = pytester.path / "deployment.json"
    deployment.write_text(json.dumps({"azure": {
        "container": "audit-backup", "public_access": None,
        "stored_access_policies": {"backup-writer": {"permissions": "cw", "expiry_days": 120}},
        "sas": {"stored_policy": "backup-writer", "https_only": True}}}), encoding="utf-8")
    monkeypatch.delenv("AZURE_BACKUP_SAS", raising=False)
    run = run_azure(pytester, monkeypatch, "--deployment", str(deployment))
    assert run.status("azure_sas_revocable") == "PASS"
    assert "revocable by stored access policy" in run.message("azure_sas_revocable")
    assert "set by stored access policy 'backup-writer'" in run.message("azure_sas_has_expiry")
    bad = {c: f["status"] for (_, c), f in run.findings.items() if f["status"] in ("FAIL", "ERROR")}
    assert not bad, bad


def test_public_container_fails(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = pytester.path / "deployment.json"
    deployment.write_text(json.dumps({"azure": {
        "container": "audit-backup", "public_access": "container",
        "sas": {"permissions": "cw", "expiry_days": 180, "https_only": True}}}), encoding="utf-8")
    monkeypatch.delenv("AZURE_BACKUP_SAS", raising=False)
    run = run_azure(pytester, monkeypatch, "--deployment", str(deployment))
    assert run.status("azure_container_not_public") == "FAIL"
    assert "Anyone can list container audit-backup" in run.message("azure_container_not_public")
