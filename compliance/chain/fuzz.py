"""Run a Hypothesis property inside a check and return the (shrunk) counterexample, if any."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

T = TypeVar("T")
SEED_ENV = "COMPLIANCE_FUZZ_SEED"


def fuzz_seed(*material: str) -> int:
    """The seed: $COMPLIANCE_FUZZ_SEED when set, else derived from `material` (chain id, check id).

    A derived seed makes the same inputs give the same evidence on every run, serial or parallel, so a
    status change in the drift section always means the policies changed, never the dice.
    """
    value = os.environ.get(SEED_ENV, "").strip()
    if value.isdigit():
        return int(value)
    digest = hashlib.sha256("\x1f".join(material).encode()).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class Counterexample(Generic[T]):
    example: T
    problem: str


def find_counterexample(strategy: st.SearchStrategy[T], problem_of: Callable[[T], str | None], *,
                        examples: int, seed: int) -> Counterexample[T] | None:
    """Draw up to `examples` values; the first value with a problem is shrunk and returned."""
    failures: list[Counterexample[T]] = []

    @settings(max_examples=examples, deadline=None, database=None, phases=(Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, print_blob=False,
              report_multiple_bugs=False)
    @hypothesis_seed(seed)
    @given(strategy)
    def prop(value: T) -> None:
        problem = problem_of(value)
        if problem is not None:
            failures.append(Counterexample(value, problem))
            raise AssertionError(problem)

    try:
        prop()
    except (AssertionError, HypothesisException):
        if not failures:
            raise
        return failures[-1]
    return None


def reproduce_hint(seed: int, examples: int, check_id: str) -> str:
    return f"{SEED_ENV}={seed} pytest compliance/ -k {check_id} --fuzz-examples {examples}"
