"""Fixtures for the Azure backup checks: the embedded Azurite and each chain's `AzureBackup`.

The emulator starts only when the target is moto (emulated) and some chain has an [azure] section. It
is stopped by the session finalizer; `compliance.targets.azurite` adds atexit/SIGTERM/parent-death
safety nets. Under xdist each worker runs its own instance.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from compliance.azure.backup import AzureBackup
from compliance.azure.logredact import redacted_http_logs
from compliance.config import Chain
from compliance.errors import ConfigError, EmulatorError
from compliance.fixtures import chain_ends, chain_id_of, session_value
from compliance.state import RunState, run_state
from compliance.targets.azure_emulated import EmulatedAzure
from compliance.targets.azure_spec import parse_spec
from compliance.targets.deployment import load_deployment

WRITE_PROBE_OPTION = "--azure-write-probe"
_BACKUPS = "azure_backups"


@pytest.fixture(scope="session")
def azure_emulator(compliance_run: RunState) -> Iterator[EmulatedAzure | None]:
    """Azurite provisioned with the deployment's "azure" section, or None (live target / no [azure])."""
    config = compliance_run.load_config()
    chains = [c for c in (config.chains if config else ()) if c.azure is not None]
    if not compliance_run.is_emulated or not chains:
        yield None
        return
    try:
        deployment = load_deployment(compliance_run.deployment_path)
        spec = parse_spec(deployment.source, deployment.azure)
    except ConfigError as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    if spec is None:
        raise EmulatorError(f"the chain config has an [azure] section but deployment {deployment.source} has no "
                            f'"azure" section to provision; add one (see compliance/targets/azure_spec.py)')
    emulator = EmulatedAzure(spec)
    emulator.start()
    try:
        emulator.ensure_sas_env([c.azure.sas_env for c in chains if c.azure is not None])
        compliance_run.generated_secrets.extend(emulator.generated_env)
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def azure_log_redaction(compliance_run: RunState) -> Iterator[None]:
    """HTTP libraries log request URLs (with the SAS) at DEBUG; redact them while the checks run."""
    with redacted_http_logs(compliance_run.redactor):
        yield


@pytest.fixture
def azure_backup(chain: Chain | None, request: pytest.FixtureRequest) -> AzureBackup | None:
    """The chain's Azure backup (shared by all its checks in this process, released after the last), or None
    without [azure]. Session fixtures through `session_value` (see `compliance.fixtures.aws_snapshot`)."""
    session_value(request, "azure_log_redaction")
    if chain is None or chain.azure is None:
        return None
    compliance_run = run_state(request.config)
    backups: dict[str, AzureBackup] = compliance_run.resources.setdefault(_BACKUPS, {})
    backup = backups.get(chain.id)
    if backup is None:
        azure_emulator: EmulatedAzure | None = session_value(request, "azure_emulator")
        backup = AzureBackup(chain.id, chain.azure, emulator=azure_emulator,
                             write_probe_allowed=bool(compliance_run.options.get(WRITE_PROBE_OPTION)))
        backups[chain.id] = backup
    return backup


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """After a chain's last check in this process: drop its Azure backup (its clients and what it read)."""
    try:
        return (yield)
    finally:
        chain_id = chain_id_of(item)
        if chain_id is not None and chain_ends(item, nextitem, chain_id):
            run_state(item.config).resources.get(_BACKUPS, {}).pop(chain_id, None)
