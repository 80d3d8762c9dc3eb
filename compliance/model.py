"""The suite's vocabulary: statuses, severities, check metadata, evidence and findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """A check's result, and the two states of a coverage row that no finding carries (NOT_RUN, NOT_COVERED)."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_SUPPORTED = "NOT SUPPORTED BY TARGET"
    NOT_APPLICABLE = "NOT APPLICABLE"
    NOT_RUN = "NOT RUN"  # coverage only: a check of the suite that did not run in this run
    NOT_COVERED = "NOT COVERED BY THIS SUITE"  # coverage only: a requirement no check of the suite addresses

    @property
    def rank(self) -> int:
        """Worst-first ordering used to summarise several statuses into one. NOT RUN sits between NOT SUPPORTED and
        NOT APPLICABLE: it hides nothing worse, but blocks a PASS."""
        return {
            Status.ERROR: 6,
            Status.FAIL: 5,
            Status.NOT_SUPPORTED: 4,
            Status.NOT_RUN: 3,
            Status.NOT_APPLICABLE: 2,
            Status.NOT_COVERED: 1,
            Status.PASS: 0,
        }[self]

    @property
    def is_finding(self) -> bool:
        """Whether a check may return it (NOT RUN and NOT COVERED describe coverage, never a check's result)."""
        return self not in (Status.NOT_RUN, Status.NOT_COVERED)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Provider(StrEnum):
    AWS = "aws"
    AZURE = "azure"


class EvidenceKind(StrEnum):
    POLICY_DOCUMENT = "policy_document"
    DECISION_TRACE = "decision_trace"
    CHAIN_TRACE = "chain_trace"
    API_CALLS = "api_calls"
    API_RESPONSE = "api_response"
    COUNTEREXAMPLE = "counterexample"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class CheckMeta:
    """What a check expects, why, how to fix it, which controls it serves and what it must read."""

    id: str
    title: str
    severity: Severity
    provider: Provider
    rationale: str
    remediation: str
    controls: tuple[str, ...]
    permissions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "provider": self.provider.value,
            "rationale": self.rationale,
            "remediation": self.remediation,
            "controls": list(self.controls),
            "permissions": list(self.permissions),
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence attached to a finding. `data` must already be free of secrets."""

    label: str
    kind: EvidenceKind
    data: Any
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind.value, "source": self.source, "data": self.data}


@dataclass(frozen=True, slots=True)
class Remediation:
    """A fix built from this finding (the failing statement and the chain config), shown next to the check's
    general remediation. `fix` is JSON (e.g. the exact statement rewritten); `note` explains an assumption."""

    summary: str
    fix: Any = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "fix": self.fix, "note": self.note}


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of one check on one resource. `message` is one plain sentence."""

    status: Status
    message: str
    resource: str = ""
    evidence: tuple[Evidence, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    remediation: Remediation | None = None

    @classmethod
    def passed(cls, message: str, *, resource: str = "", evidence: tuple[Evidence, ...] = ()) -> Finding:
        return cls(Status.PASS, message, resource, evidence)

    @classmethod
    def failed(cls, message: str, *, resource: str = "", evidence: tuple[Evidence, ...] = (),
               remediation: Remediation | None = None) -> Finding:
        return cls(Status.FAIL, message, resource, evidence, remediation=remediation)

    @classmethod
    def error(cls, message: str, *, resource: str = "", evidence: tuple[Evidence, ...] = ()) -> Finding:
        return cls(Status.ERROR, message, resource, evidence)

    @classmethod
    def not_supported(
        cls, message: str, *, resource: str = "", evidence: tuple[Evidence, ...] = ()
    ) -> Finding:
        return cls(Status.NOT_SUPPORTED, message, resource, evidence)

    @classmethod
    def not_applicable(cls, message: str, *, resource: str = "") -> Finding:
        return cls(Status.NOT_APPLICABLE, message, resource)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "message": self.message,
            "resource": self.resource,
            "evidence": [e.to_json() for e in self.evidence],
            "details": dict(self.details),
            "remediation": self.remediation.to_json() if self.remediation is not None else None,
        }
