"""Helpers for the Azure backup tests: real SAS tokens, chain configs, in-process compliance runs.

Tokens are signed with Azurite's well-known account key, so they are genuine SASs for any Azurite
instance. (This module is not named conftest/azure: tests/azure has no __init__.py, so that the
directory does not shadow the `azure` namespace package.)
"""

from __future__ import annotations

import base64
import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas, generate_container_sas

import compliance
from compliance.config import default_chain_path
from compliance.targets import azurite

COMPLIANCE_DIR = Path(compliance.__file__).resolve().parent
CONTAINER = "audit-backup"
SAS_ENV = "AZURE_BACKUP_SAS"
EXTERNAL_ID = "ext-id-azure-tests-6d1f0a"


def make_sas(permission: str | None = "cw", *, days: float = 180, start_days: float | None = -1 / 96,
             https_only: bool = True, policy_id: str | None = None, container: str = CONTAINER) -> str:
    """A real container SAS signed with the well-known key. `start_days` is relative to now (negative: past)."""
    now = datetime.now(UTC)
    return generate_container_sas(
        azurite.ACCOUNT_NAME, container, account_key=azurite.ACCOUNT_KEY, permission=permission,
        expiry=None if policy_id and permission is None else now + timedelta(days=days),
        start=None if start_days is None else now + timedelta(days=start_days), policy_id=policy_id,
        protocol="https" if https_only else "https,http")


def make_account_sas(days: float = 180) -> str:
    now = datetime.now(UTC)
    return generate_account_sas(
        azurite.ACCOUNT_NAME, azurite.ACCOUNT_KEY, ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(write=True, create=True), expiry=now + timedelta(days=days),
        start=now - timedelta(minutes=15), protocol="https")


def tamper(token: str) -> str:
    """Flip one bit of the signature: still well-formed, no longer valid."""
    fields = dict(parse_qsl(token))
    raw = bytearray(base64.b64decode(fields["sig"]))
    raw[0] ^= 0x01
    fields["sig"] = base64.b64encode(bytes(raw)).decode()
    return urlencode(fields)


def signature_of(token: str) -> str:
    return dict(parse_qsl(token))["sig"]


def reference_chain() -> dict[str, Any]:
    return tomllib.loads(default_chain_path().read_text(encoding="utf-8"))


def chain_toml(chains: list[tuple[str, dict[str, Any] | None]], *, account_url: str | None = None,
               management: dict[str, str] | None = None) -> str:
    """A [[chains]] config: the reference vendor/aws with an [azure] table per (id, overrides); None: no [azure]."""
    ref = reference_chain()
    lines: list[str] = []
    for chain_id, overrides in chains:
        lines += ["[[chains]]", f'id = "{chain_id}"', "[chains.vendor]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in ref["vendor"].items() if k != "session_tags"]
        lines += ["[chains.aws]"] + [f"{k} = {json.dumps(v)}" for k, v in ref["aws"].items()]
        if overrides is None:
            continue
        azure = {**ref["azure"], **overrides}
        if account_url:
            azure["account_url"] = account_url
        lines += ["[chains.azure]"] + [f"{k} = {json.dumps(v)}" for k, v in azure.items()]
        if management:
            lines += ["[chains.azure.management]"] + [f"{k} = {json.dumps(v)}" for k, v in management.items()]
    return "\n".join(lines) + "\n"


def write_chains(directory: Path, chains: list[tuple[str, dict[str, Any] | None]], **kwargs: Any) -> Path:
    path = directory / "chains.toml"
    path.write_text(chain_toml(chains, **kwargs), encoding="utf-8")
    return path


@dataclass
class AzureRun:
    result: pytest.RunResult
    evidence_dir: Path
    findings: dict[tuple[str, str], dict[str, Any]]  # (chain id, check id) -> finding

    def status(self, check_id: str, chain: str = "qualio") -> str:
        return str(self.findings[(chain, check_id)]["status"])

    def message(self, check_id: str, chain: str = "qualio") -> str:
        return str(self.findings[(chain, check_id)]["message"])

    def outputs(self) -> str:
        """Everything a person or tool could see: terminal output and every file in the run directory."""
        parts = [self.result.stdout.str(), self.result.stderr.str()]
        parts += [p.read_text(encoding="utf-8", errors="replace") for p in self.evidence_dir.rglob("*") if p.is_file()]
        return "\n".join(parts)


def run_azure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str,
              env: dict[str, str] | None = None) -> AzureRun:
    """`pytest compliance/ -k azure` in-process, with the given secrets set through monkeypatch."""
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "-k", "azure", "--evidence-dir", str(evidence), "-rA", *args)
    documents = sorted(evidence.glob("2*/evidence.json"))
    assert documents, result.stdout.str() + result.stderr.str()
    data = json.loads(documents[-1].read_text(encoding="utf-8"))
    findings = {(r["chain"], r["check"]["id"]): r["finding"] for r in data["findings"]}
    return AzureRun(result, documents[-1].parent, findings)
