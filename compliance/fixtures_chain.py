"""Fixtures for the AWS chain checks, and `--proposed` validation at start-up (plugin side, beside fixtures.py).

Loaded by the compliance plugin (FIXTURE_PLUGINS). A malformed proposed file stops the run with one
line as a pytest usage error (exit code 4) before anything is collected.
"""

from __future__ import annotations

import pytest

from compliance.chain.view import ChainView
from compliance.config import Chain
from compliance.errors import ConfigError
from compliance.state import PROPOSED_OPTION, run_state
from compliance.targets.snapshot import AwsSnapshot

FUZZ_EXAMPLES_OPTION = "--fuzz-examples"


def pytest_configure(config: pytest.Config) -> None:
    try:
        run_state(config).proposals()
    except ConfigError as exc:
        raise pytest.UsageError(f"{PROPOSED_OPTION}: {exc}") from None


@pytest.fixture
def chain_view(chain: Chain, aws_snapshot: AwsSnapshot, request: pytest.FixtureRequest) -> ChainView:
    """The chain's effective policies: the snapshot with every `--proposed` document laid over it (the run state
    read from the config, not the session fixture: see `compliance.fixtures.aws_snapshot`)."""
    return ChainView(chain, aws_snapshot, run_state(request.config).proposals())


@pytest.fixture
def fuzz_budget(request: pytest.FixtureRequest) -> int:
    """Hypothesis examples per fuzzing family (`--fuzz-examples`)."""
    return int(run_state(request.config).options.get(FUZZ_EXAMPLES_OPTION) or 25)
