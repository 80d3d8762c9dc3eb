"""Fixtures for the AWS chain checks, and `--proposed` validation at start-up.

Loaded by the compliance plugin (FIXTURE_PLUGINS). A malformed proposed file stops the run with one
line as a pytest usage error (exit code 4) before anything is collected.
"""

from __future__ import annotations

import pytest

from compliance.chain.proposed import Proposal, load_proposals
from compliance.chain.view import ChainView
from compliance.config import Chain
from compliance.errors import ConfigError
from compliance.state import RunState, run_state
from compliance.targets.snapshot import AwsSnapshot

PROPOSED_OPTION = "--proposed"
FUZZ_EXAMPLES_OPTION = "--fuzz-examples"
PROPOSALS_KEY = "chain.proposals"


def pytest_configure(config: pytest.Config) -> None:
    state = run_state(config)
    paths = state.options.get(PROPOSED_OPTION) or []
    try:
        state.resources[PROPOSALS_KEY] = load_proposals(paths)
    except ConfigError as exc:
        raise pytest.UsageError(f"{PROPOSED_OPTION}: {exc}") from None


def proposals_of(state: RunState) -> tuple[Proposal, ...]:
    proposals = state.resources.get(PROPOSALS_KEY)
    if proposals is None:
        proposals = load_proposals(state.options.get(PROPOSED_OPTION) or [])
        state.resources[PROPOSALS_KEY] = proposals
    return tuple(proposals)


@pytest.fixture
def chain_view(chain: Chain, aws_snapshot: AwsSnapshot, compliance_run: RunState) -> ChainView:
    """The chain's effective policies: the snapshot with every `--proposed` document laid over it."""
    return ChainView(chain, aws_snapshot, proposals_of(compliance_run))


@pytest.fixture
def fuzz_budget(compliance_run: RunState) -> int:
    """Hypothesis examples per fuzzing family (`--fuzz-examples`)."""
    return int(compliance_run.options.get(FUZZ_EXAMPLES_OPTION) or 25)
