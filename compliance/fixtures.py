"""Fixtures through which targets reach checks. No target is created at import time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from compliance.config import Chain
from compliance.errors import ConfigError
from compliance.state import RunState, Target, run_state
from compliance.targets.snapshot import AwsSnapshot


@pytest.fixture(scope="session")
def compliance_run(pytestconfig: pytest.Config) -> RunState:
    return run_state(pytestconfig)


@pytest.fixture(scope="session")
def aws_target(compliance_run: RunState) -> Iterator[Any]:
    """The AWS target for this process: a provisioned moto deployment or the live account(s)."""
    if compliance_run.target == Target.MOTO:
        from compliance.targets.aws_moto import MotoAwsTarget
        from compliance.targets.deployment import load_deployment

        try:
            deployment = load_deployment(compliance_run.deployment_path)
        except ConfigError as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        target = MotoAwsTarget(deployment)
        target.start()
        try:
            yield target
        finally:
            target.stop()
    else:
        from compliance.targets.aws_live import LiveAwsTarget

        yield LiveAwsTarget()


@pytest.fixture
def aws_snapshot(chain: Chain, aws_target: Any, compliance_run: RunState) -> AwsSnapshot:
    """The chain's AWS snapshot, read once per chain per process and shared by every check."""
    cached = compliance_run.snapshots.get(chain.id)
    if cached is None:
        cached = aws_target.snapshot(chain)
        compliance_run.snapshots[chain.id] = cached
    assert isinstance(cached, AwsSnapshot)
    return cached
