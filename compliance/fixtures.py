"""Fixtures through which targets reach checks, and the lifetime of each chain's snapshot.

No target is created at import time. A chain's snapshot is read by its first check and released when its last
check in this process ends (the checks of one chain run one after another), so a run's memory does not grow with
the number of chains it holds.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from compliance.config import Chain
from compliance.errors import ConfigError
from compliance.registry import meta_of
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
def aws_snapshot(chain: Chain, request: pytest.FixtureRequest) -> AwsSnapshot:
    """The chain's AWS snapshot, read once per chain per process and shared by every check of the chain (released
    after the chain's last check: see `pytest_runtest_teardown`).

    Per-check fixtures name no session-scoped fixture as a parameter: pytest would register each check's teardown
    with that session fixture and keep it (with the check's request and item) until the session ends, memory in
    proportion to the checks run. A session fixture asked for with `request.getfixturevalue` once it exists
    registers nothing (`session_value`)."""
    compliance_run = run_state(request.config)
    cached = compliance_run.snapshots.get(chain.id)
    if cached is None:
        cached = session_value(request, "aws_target").snapshot(chain)
        compliance_run.snapshots[chain.id] = cached
    assert isinstance(cached, AwsSnapshot)
    return cached


def session_value(request: pytest.FixtureRequest, name: str) -> Any:
    """A session-scoped fixture's value for a per-check fixture, without tying the check's teardown to it (see
    `aws_snapshot`)."""
    return request.getfixturevalue(name)


LAST_CHECK_OF_CHAIN = pytest.StashKey[bool]()
"""Set on the last check of each chain this (serial) process runs."""


def chain_id_of(item: pytest.Item) -> str | None:
    """The chain a compliance check runs for (None: not a check, or no valid chain)."""
    if meta_of(getattr(item, "obj", None)) is None:
        return None
    callspec = getattr(item, "callspec", None)
    chain = callspec.params.get("chain") if callspec is not None else None
    return chain.id if isinstance(chain, Chain) else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the checks chain by chain: each chain's checks one after another, in the order they were collected.

    Pytest collects check by check (every chain of one check, then the next check), which would keep every
    chain's snapshot alive to the end of the run. Only the places the checks hold in `items` are reordered;
    any other test keeps its place. xdist workers collect the same order, so the collections still agree."""
    slots = [index for index, item in enumerate(items) if chain_id_of(item) is not None]
    by_chain: dict[str, list[pytest.Item]] = {}
    for index in slots:
        by_chain.setdefault(str(chain_id_of(items[index])), []).append(items[index])
    for index, item in zip(slots, [item for checks in by_chain.values() for item in checks], strict=True):
        items[index] = item


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Serial run: mark each chain's last check, from the final order of the run (after every plugin's reordering
    and deselection). An xdist worker learns its checks one batch at a time and decides by `nextitem` instead."""
    if hasattr(session.config, "workerinput"):
        return
    last: dict[str, pytest.Item] = {}
    for item in session.items:
        chain_id = chain_id_of(item)
        if chain_id is not None:
            last[chain_id] = item
    for item in last.values():
        item.stash[LAST_CHECK_OF_CHAIN] = True


def chain_ends(item: pytest.Item, nextitem: pytest.Item | None, chain_id: str) -> bool:
    """Whether no later check of `chain_id` runs in this process after `item`."""
    config = item.config
    if not hasattr(config, "workerinput"):
        return item.stash.get(LAST_CHECK_OF_CHAIN, False)
    # a worker under --dist loadgroup (the plugin's choice for -n) receives each chain's checks whole and in one
    # batch, so the chain ends where the next check is another chain's; other distributions may split a chain,
    # and its snapshot is then kept to the end of the run, as before
    grouped = bool(getattr(config.option, "loadgroup", False))
    return grouped and (nextitem is None or chain_id_of(nextitem) != chain_id)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """After a chain's last check: drop its snapshot, and the fuzzing strategies that still reach its views (each
    check's own view and parsed policies go with its fixtures; pytest clears the check's arguments right after
    this hook)."""
    try:
        return (yield)
    finally:
        chain_id = chain_id_of(item)
        if chain_id is not None and chain_ends(item, nextitem, chain_id):
            run_state(item.config).snapshots.pop(chain_id, None)
            forget_fuzzing_strategies()


def forget_fuzzing_strategies() -> None:
    """Empty Hypothesis's process-wide strategy cache (up to 1,024 strategies, kept by their arguments).

    The fuzzing families build strategies from the chain's view (`st.builds` over a bound method or a closure
    holding it), and Hypothesis caches a strategy under its arguments: without this, the cache keeps the views, and
    through them the snapshots, of the last chains the run fuzzed. Emptying it costs a rebuild of a few strategies.
    `clear_strategy_cache` is Hypothesis's internal function (tests/scale/test_memory_release.py fails if the cache
    keeps a chain again); nothing is done when Hypothesis was not imported."""
    if "hypothesis" not in sys.modules:
        return
    try:
        from hypothesis.strategies._internal.utils import clear_strategy_cache
    except ImportError:  # pragma: no cover - a Hypothesis without it: the memory test says so
        return
    clear_strategy_cache()
