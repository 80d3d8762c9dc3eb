"""Evidence builders for chain checks. Everything passes through the chain's `Scrubber` first.

A check puts every message that may quote a policy or a request through `EvidenceKit.text`, and builds every
piece of evidence with the kit, so the ExternalId never reaches a finding."""

from __future__ import annotations

from typing import Any

from compliance.chain.gates import Gate, chain_lines, gates_json
from compliance.chain.redaction import Scrubber
from compliance.chain.view import ChainView, SourcedPolicy
from compliance.iam import Evaluation
from compliance.model import Evidence, EvidenceKind

ENGINE = "compliance.iam"


class EvidenceKit:
    """Builds evidence and messages for one chain, with the ExternalId scrubbed out."""

    def __init__(self, view: ChainView) -> None:
        self.view = view
        self.scrubber = Scrubber(view.chain)

    def text(self, message: str) -> str:
        return self.scrubber.text(message)

    def policy(self, label: str, sourced: SourcedPolicy | None) -> Evidence:
        data = None if sourced is None else self.scrubber.json(sourced.raw)
        origin = "absent" if sourced is None else sourced.origin
        return Evidence(label, EvidenceKind.POLICY_DOCUMENT, data, origin)

    def policies(self, label: str, sourced: tuple[SourcedPolicy, ...]) -> Evidence:
        data = [{"name": p.name, "origin": p.origin, "document": self.scrubber.json(p.raw)} for p in sourced]
        return Evidence(label, EvidenceKind.POLICY_DOCUMENT, data, "iam")

    def decision(self, label: str, evaluation: Evaluation) -> Evidence:
        return Evidence(label, EvidenceKind.DECISION_TRACE, self.scrubber.json(evaluation.to_json()), ENGINE)

    def chain(self, gates: list[Gate], assumptions: list[str]) -> Evidence:
        data = {"lines": [self.text(line) for line in chain_lines(gates)],
                "gates": self.scrubber.json(gates_json(gates)), "assumptions": assumptions}
        return Evidence("Chain trace (one line per gate)", EvidenceKind.CHAIN_TRACE, data, ENGINE)

    def counterexample(self, label: str, data: Any) -> Evidence:
        return Evidence(label, EvidenceKind.COUNTEREXAMPLE, self.scrubber.json(data), "hypothesis")

    def note(self, label: str, data: Any, source: str = "") -> Evidence:
        return Evidence(label, EvidenceKind.NOTE, self.scrubber.json(data), source)


def proposal_evidence(view: ChainView) -> tuple[Evidence, ...]:
    """The `--proposed` policies in effect, if any: the `@check` decorator appends this to every AWS finding."""
    if not view.proposals:
        return ()
    return (EvidenceKit(view).note("Proposed policies in effect (--proposed)", view.proposals_json(), "--proposed"),)
