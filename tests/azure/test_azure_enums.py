"""The Azure enums keep the evidence's text: an operation, a SAS kind and a revocation method serialise and read
exactly as the strings they replaced."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from compliance.azure import analysis
from compliance.azure.analysis import RevocationMethod
from compliance.azure.probes import ProbeOperation, ProbeResult
from compliance.azure.sas import SasKind, parse_sas

SIG = "sig=" + "A" * 43 + "%3D"


def _token(**fields: str) -> str:
    expiry = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {"sv": "2025-11-05", "sr": "c", "sp": "cw", "se": expiry, "spr": "https", **fields}
    return "&".join(f"{k}={v}" for k, v in base.items() if v) + "&" + SIG


@pytest.mark.parametrize(("operation", "text"), [
    (ProbeOperation.WRITE, "write"), (ProbeOperation.READ, "read"), (ProbeOperation.DELETE, "delete"),
    (ProbeOperation.LIST, "list"), (ProbeOperation.READ_OVER_HTTP, "read over HTTP"),
    (ProbeOperation.ANONYMOUS_LIST, "anonymous list"), (ProbeOperation.ANONYMOUS_READ, "anonymous read"),
])
def test_probe_operation_is_recorded_as_its_text(operation: ProbeOperation, text: str) -> None:
    recorded = json.loads(json.dumps(ProbeResult(operation, "blob", 403, "AuthorizationPermissionMismatch").to_json()))
    assert recorded["operation"] == text
    assert type(recorded["operation"]) is str
    assert f"The {operation} probe" == f"The {text} probe"  # the checks' sentences name it


@pytest.mark.parametrize(("fields", "kind"), [
    ({}, SasKind.SERVICE),
    ({"skoid": "o", "sktid": "t", "skt": "2026-01-01T00:00:00Z", "ske": "2099-01-01T00:00:00Z", "sks": "b",
      "skv": "2025-11-05"}, SasKind.USER_DELEGATION),
    ({"sr": "", "ss": "b", "srt": "co"}, SasKind.ACCOUNT),
])
def test_sas_kind_is_an_enum_recorded_as_before(fields: dict[str, str], kind: SasKind) -> None:
    token = parse_sas(_token(**fields))
    assert token.kind is kind
    assert json.loads(json.dumps(token.to_json()))["kind"] == kind.value


@pytest.mark.parametrize(("fields", "method", "text"), [
    ({"si": "backup-policy"}, RevocationMethod.STORED_ACCESS_POLICY, "stored access policy"),
    ({"skoid": "o", "sktid": "t", "skt": "2026-01-01T00:00:00Z", "ske": "2099-01-01T00:00:00Z", "sks": "b",
      "skv": "2025-11-05"}, RevocationMethod.USER_DELEGATION_KEY, "user delegation key"),
    ({}, RevocationMethod.ACCOUNT_KEY_ROTATION, "account key rotation"),
])
def test_revocation_method_is_an_enum_with_its_display_text(fields: dict[str, str], method: RevocationMethod,
                                                              text: str) -> None:
    found = analysis.revocation(analysis.resolve(parse_sas(_token(**fields)), None))
    assert found.method is method
    assert f"revocable by {found.method}: " == f"revocable by {text}: "  # azure_sas_revocable's PASS sentence


def test_mypy_catches_a_misspelt_probe_operation(tmp_path: Path) -> None:
    """The point of the enum: a probe named by a string (or a misspelt member) no longer type-checks."""
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "misspelt_probe.py"
    snippet.write_text(textwrap.dedent("""
        from compliance.azure.backup import AzureBackup
        from compliance.azure.probes import ProbeOperation

        def probes(backup: AzureBackup) -> None:
            backup.probe("write")
            backup.probe(ProbeOperation.WRTE)
    """), encoding="utf-8")
    stdout, _, code = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(snippet)])
    assert code == 1, stdout
    assert 'Argument 1 to "probe" of "AzureBackup" has incompatible type "str"' in stdout, stdout
    assert '"type[ProbeOperation]" has no attribute "WRTE"' in stdout, stdout
