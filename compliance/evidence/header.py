"""The run header: what was checked, where, when, with which software and which inputs.

Built from the run state only (the chain config, the redacted snapshots and the findings), so it
holds no secret: secret-bearing settings are shown by the name of their environment variable.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import compliance
from compliance.evidence.attribution import attribution
from compliance.evidence.record import Record
from compliance.evidence.run_view import RunView
from compliance.redaction import MARK

SUITE = "export-chain-compliance"
KEY_DEPENDENCIES = ("pytest", "boto3", "botocore", "moto", "azure-storage-blob", "hypothesis", "pytest-html",
                    "cryptography", "weasyprint")
FUZZ_OPTION = "--fuzz-examples"
OPERATOR_OPTION = "--operator"
PROPOSED_OPTION = "--proposed"
SIGNATURE_KEY = "evidence.signature"  # state.resources: the execution signature the run will make
WHAT_IF_BANNER = "WHAT-IF: proposed changes, not the deployed system"


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: the one date format of the record."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def versions() -> dict[str, str]:
    """The suite's version and those of its key dependencies (\"not installed\" when absent)."""
    found = {SUITE: compliance.__version__, "Python": platform.python_version()}
    for name in KEY_DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def chain_summaries(state: RunView, records: Iterable[Record] = ()) -> list[dict[str, Any]]:
    """One summary per configured chain: vendor, role, bucket, prefix, Azure container. No secret values."""
    config = state.chain_config
    if config is None:
        return []
    emulator_urls = _emulator_urls(state, records)
    out: list[dict[str, Any]] = []
    for chain in config.chains:
        summary: dict[str, Any] = {
            "id": chain.id,
            "vendor": chain.vendor.name,
            "vendor_principal": chain.vendor.principal,
            "external_id": f"{MARK} (from environment variable {chain.vendor.external_id_env})",
            "configured_role_arn": chain.vendor.configured_role_arn,
            "role_arn": chain.aws.role_arn,
            "bucket": chain.aws.bucket,
            "prefix": chain.aws.prefix,
            "region": chain.aws.region,
            "azure_account_url": None,
            "azure_container": None,
            "azure_sas": None,
        }
        if chain.azure is not None:
            summary["azure_account_url"] = chain.azure.account_url
            summary["azure_container"] = chain.azure.container
            summary["azure_sas"] = f"{MARK} (from environment variable {chain.azure.sas_env})"
        summary["aws_endpoint"] = _aws_endpoint(state)
        summary["azure_emulator_url"] = emulator_urls.get(chain.id) if chain.azure is not None else None
        out.append(summary)
    return out


_LOOPBACK = re.compile(r"^https?://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?/[^\s]*")


def _aws_endpoint(state: RunView) -> str:
    """Where the AWS reads went, labelled: the emulator, a custom endpoint URL, or AWS itself."""
    if state.is_emulated:
        return "moto (emulator, in process): no AWS endpoint was contacted"
    custom = os.environ.get("AWS_ENDPOINT_URL")
    if custom:
        return f"{custom} (emulator or custom endpoint URL from AWS_ENDPOINT_URL, not AWS)"
    return "AWS (the regional endpoints of the configured region)"


def _emulator_urls(state: RunView, records: Iterable[Record]) -> dict[str, str]:
    """Per chain: the emulator address its Azure checks actually used (Azurite), when it differs from the configured
    account (the first loopback resource among the chain's records, in node-id order)."""
    if not state.is_emulated:
        return {}
    found: dict[str, str] = {}
    for record in records:
        if record.chain is None or record.chain in found:
            continue
        if match := _LOOPBACK.match(record.finding.resource):
            scheme, _, rest = match.group(0).partition("://")
            host, *path = rest.split("/")
            found[record.chain] = f"{scheme}://{host}/" + "/".join(p for p in path[:2] if p)
    return found


def identities(state: RunView) -> list[dict[str, Any]]:
    """Per chain: the AWS account, region and caller identity the snapshot was read with."""
    out: list[dict[str, Any]] = []
    snapshots = state.snapshots_json
    for chain_id in sorted(snapshots):  # one snapshot at a time: they may be on disk
        snapshot = snapshots[chain_id]
        caller = (snapshot.get("caller") or {}).get("value") or {}
        failure = (snapshot.get("caller") or {}).get("failure")
        out.append({
            "chain": chain_id,
            "account_id": snapshot.get("account_id"),
            "region": snapshot.get("region"),
            "caller_arn": caller.get("Arn") if isinstance(caller, dict) else None,
            "caller_account": caller.get("Account") if isinstance(caller, dict) else None,
            "caller_error": f"{failure.get('api')}: {failure.get('code')}" if isinstance(failure, dict) else None,
        })
    return out


def _seeds(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if "seed" in str(key).lower() and isinstance(item, str | int):
                yield f"{path}{key}", item
            else:
                yield from _seeds(item, f"{path}{key}.")
    elif isinstance(value, list):
        for item in value:
            yield from _seeds(item, path)


def fuzzing(state: RunView, records: Iterable[Record] = ()) -> dict[str, Any]:
    """The Hypothesis example budget and every seed a check recorded in its finding (records in node-id order)."""
    seeds: list[dict[str, Any]] = []
    for record in records:
        found = dict(_seeds(dict(record.finding.details)))
        for item in record.finding.evidence:
            found.update(_seeds(item.data))
        for key, seed in sorted(found.items()):
            seeds.append({"check": record.check.id, "chain": record.chain, "key": key, "seed": seed})
    return {"examples_per_check": state.options.get(FUZZ_OPTION), "seeds": seeds}


def _describe_target(state: RunView) -> str:
    if not state.is_emulated:
        return "live AWS and Azure accounts, read-only"
    azure = state.chain_config is not None and any(c.azure is not None for c in state.chain_config.chains)
    emulators = "moto (AWS) and Azurite (Azure Blob)" if azure else "moto (AWS)"
    return f"emulated: {emulators}, provisioned from a deployment file"


def proposals(state: RunView) -> list[dict[str, Any]]:
    """The `--proposed` documents this run laid over the deployed policies (empty: not a what-if run)."""
    if not state.options.get(PROPOSED_OPTION):
        return []
    return [p.to_json() for p in state.proposals()]


def is_what_if(state: RunView) -> bool:
    return bool(state.options.get(PROPOSED_OPTION))


def run_header(state: RunView, records: Iterable[Record], finished: datetime) -> dict[str, Any]:
    """The run's header; `records` is read once per use (in node-id order, as the record log yields them)."""
    config = state.chain_config
    signature = state.resources.get(SIGNATURE_KEY)
    return {
        "run_id": state.run_dir.name if state.run_dir is not None else None,
        "what_if": is_what_if(state),
        "what_if_banner": WHAT_IF_BANNER if is_what_if(state) else None,
        "proposals": proposals(state),
        **attribution(state.options.get(OPERATOR_OPTION), state.chain_path),
        "target": state.target,
        "target_description": _describe_target(state),
        "deployment_file": str(state.deployment_path) if state.deployment_path else (
            "bundled reference deployment" if state.is_emulated else None),
        "chain_config": {"path": str(state.chain_path), "sha256": config.sha256 if config else None},
        "chains": chain_summaries(state, records),
        "identities": identities(state),
        "started": iso_utc(state.started),
        "finished": iso_utc(finished),
        "versions": versions(),
        "fuzzing": fuzzing(state, records),
        "signed": signature is not None,
        "signature": dict(signature) if isinstance(signature, dict) else None,
    }
