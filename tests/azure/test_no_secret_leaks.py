"""No SAS signature (nor any whole token) appears in any report, log, or exception text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .azure_helpers import make_account_sas, make_sas, run_azure, signature_of, tamper, write_chains

FLAWED: dict[str, Callable[[], str]] = {
    "reference": make_sas,
    "read-rights": lambda: make_sas("rcw"),
    "delete-list": lambda: make_sas("cwdl"),
    "account-sas": make_account_sas,
    "http-allowed": lambda: make_sas("cw", https_only=False),
    "expired": lambda: make_sas("cw", days=-3, start_days=-200),
    "revoked-policy": lambda: make_sas(None, policy_id="gone", start_days=None),
    "tampered": lambda: tamper(make_sas("cw")),
}


def test_signatures_never_appear_in_outputs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """One run, one chain per SAS, DEBUG logging on: grep junit.xml, evidence.json, evidence.html, stdout/stderr."""
    tokens = {name: factory() for name, factory in FLAWED.items()}
    env = {f"SAS_{name.upper().replace('-', '_')}": token for name, token in tokens.items()}
    chains = write_chains(pytester.path, [(name, {"sas_env": f"SAS_{name.upper().replace('-', '_')}"})
                                          for name in tokens])
    run = run_azure(pytester, monkeypatch, "--chain", str(chains), "--log-level=DEBUG", "-o", "log_cli=true",
                    "--log-cli-level=DEBUG", env=env)
    files = {p.name for p in run.evidence_dir.iterdir()}
    assert {"junit.xml", "evidence.json", "evidence.html"} <= files
    assert run.status("azure_sas_write_path_works", "expired") == "FAIL"  # the failing paths did run
    assert run.status("azure_sas_cannot_read", "read-rights") == "FAIL"
    text = run.outputs()
    assert "urllib3" in text or "Request URL" in text, "DEBUG HTTP logging was expected in the output"
    for name, token in tokens.items():
        sig = signature_of(token)
        for form in {sig, sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"), token}:
            assert form not in text, f"the {name} SAS leaked"
