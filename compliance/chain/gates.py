"""The chain trace: the export as a sequence of gates, each one engine decision, one line each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from compliance.iam import Evaluation


@dataclass(frozen=True, slots=True)
class Gate:
    """One hop of the chain: who does what, which policies decide, and the decision."""

    title: str
    decided_by: str
    evaluation: Evaluation

    @property
    def allowed(self) -> bool:
        return self.evaluation.allowed()

    def line(self, step: int) -> str:
        verdict = "ALLOW" if self.allowed else "DENY"
        return f"{step}. {self.title} [{self.decided_by}]: {verdict}. {self.evaluation.summary()}"


def chain_lines(gates: list[Gate]) -> list[str]:
    return [gate.line(step) for step, gate in enumerate(gates, start=1)]


class DeniedStep(NamedTuple):
    step: int
    """The gate's number in the chain, from 1."""
    gate: Gate


def first_denied(gates: list[Gate]) -> DeniedStep | None:
    """The first gate of the chain that denies its request, None when every gate allows."""
    for step, gate in enumerate(gates, start=1):
        if not gate.allowed:
            return DeniedStep(step, gate)
    return None


def gates_json(gates: list[Gate]) -> list[dict[str, Any]]:
    return [{"step": step, "title": gate.title, "decided_by": gate.decided_by,
             "decision": gate.evaluation.decision.value, "summary": gate.evaluation.summary()}
            for step, gate in enumerate(gates, start=1)]
