"""One check's record: its metadata, its chain, its (redacted) finding, when and where it ran; typed end to end.

Made on the process that ran the check (redacted there), sent to the controlling process as JSON under xdist and
parsed back once (`compliance.plugin`), written a line each to the run's records file as it arrives
(`compliance.evidence.recordlog`); evidence.json's findings are their JSON. Reading an evidence.json back (merge,
drift, the PDF) parses its findings with `Record.from_json`: nothing reads a record's fields as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from compliance.model import CheckMeta, Evidence, EvidenceKind, Finding, Provider, Remediation, Severity, Status
from compliance.redaction import Redactor

E = TypeVar("E", Status, Severity, Provider, EvidenceKind)


class RecordError(ValueError):
    """A record that is not in the shape a run writes (names the field)."""


@dataclass(frozen=True, slots=True)
class Record:
    check: CheckMeta
    chain: str | None
    finding: Finding
    recorded_at: str
    nodeid: str

    @property
    def status(self) -> Status:
        return self.finding.status

    @property
    def chain_label(self) -> str:
        """The chain id, or "-" for a check that ran without one (an invalid chain config)."""
        return self.chain or "-"

    def without_evidence(self) -> Record:
        """The record as the terminal and the HTML row read it (status, message, resource), without its evidence,
        details and fix: what a report keeps once the whole record is on disk."""
        finding = Finding(self.finding.status, self.finding.message, self.finding.resource)
        return Record(self.check, self.chain, finding, self.recorded_at, self.nodeid)

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check.to_json(), "chain": self.chain, "finding": self.finding.to_json(),
                "recorded_at": self.recorded_at, "nodeid": self.nodeid}

    @classmethod
    def from_json(cls, data: Any) -> Record:
        record = _mapping(data, "record")
        chain = record.get("chain")
        if chain is not None and not isinstance(chain, str):
            raise RecordError(f"record chain: {type(chain).__name__}, not a string")
        return cls(check=check_meta_of(record.get("check")), chain=chain, finding=finding_of(record.get("finding")),
                   recorded_at=_text(record, "recorded_at"), nodeid=_text(record, "nodeid"))


def redacted(finding: Finding, redactor: Redactor) -> Finding:
    """The finding with every text and JSON value redacted; its status and evidence kinds are the suite's own
    vocabulary, never a secret, and stay exact."""
    remediation = finding.remediation
    return Finding(
        status=finding.status,
        message=redactor.text(finding.message),
        resource=redactor.text(finding.resource),
        evidence=tuple(Evidence(redactor.text(e.label), e.kind, redactor.json(e.data), redactor.text(e.source))
                       for e in finding.evidence),
        details=redactor.json(dict(finding.details)),
        remediation=None if remediation is None else Remediation(
            redactor.text(remediation.summary), redactor.json(remediation.fix), redactor.text(remediation.note)),
    )


def check_meta_of(data: Any) -> CheckMeta:
    meta = _mapping(data, "check")
    return CheckMeta(id=_text(meta, "id"), title=_text(meta, "title"),
                     severity=_enum(Severity, meta.get("severity"), "check severity"),
                     provider=_enum(Provider, meta.get("provider"), "check provider"),
                     rationale=_text(meta, "rationale"), remediation=_text(meta, "remediation"),
                     controls=_texts(meta, "controls"), permissions=_texts(meta, "permissions"))


def finding_of(data: Any) -> Finding:
    finding = _mapping(data, "finding")
    status = _enum(Status, finding.get("status"), "finding status")
    if not status.is_finding:
        raise RecordError(f"finding status: {status.value!r} describes coverage, not a check's result")
    evidence = finding.get("evidence") or []
    if not isinstance(evidence, list):
        raise RecordError("finding evidence: not a list")
    details = finding.get("details") or {}
    if not isinstance(details, Mapping):
        raise RecordError("finding details: not an object")
    return Finding(status=status, message=_text(finding, "message"), resource=_text(finding, "resource"),
                   evidence=tuple(_evidence_of(item) for item in evidence), details=dict(details),
                   remediation=_remediation_of(finding.get("remediation")))


def _evidence_of(data: Any) -> Evidence:
    item = _mapping(data, "evidence item")
    return Evidence(label=_text(item, "label"), kind=_enum(EvidenceKind, item.get("kind"), "evidence kind"),
                    data=item.get("data"), source=_text(item, "source"))


def _remediation_of(data: Any) -> Remediation | None:
    if data is None:
        return None
    remediation = _mapping(data, "remediation")
    return Remediation(summary=_text(remediation, "summary"), fix=remediation.get("fix"),
                       note=_text(remediation, "note"))


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise RecordError(f"{what}: {type(data).__name__}, not an object")
    return data


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(f"{key}: {type(value).__name__}, not a string")
    return value


def _texts(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = data.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RecordError(f"{key}: not a list of strings")
    return tuple(values)


def _enum(kind: type[E], value: Any, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise RecordError(f"{what}: {value!r} is not one of {', '.join(m.value for m in kind)}") from None


REPORT_ATTRIBUTE = "compliance"
"""The test report attribute holding a check's `Record` (its JSON while it travels from an xdist worker)."""
SNAPSHOT_ATTRIBUTE = "compliance_snapshot"
"""The test report attribute holding the chain's snapshot JSON (on the first record of each chain only)."""


def record_of(report: object) -> Record | None:
    """The check's record a test report carries (None: not a compliance check's report)."""
    record = getattr(report, REPORT_ATTRIBUTE, None)
    return record if isinstance(record, Record) else None


def snapshot_of(report: object) -> dict[str, Any] | None:
    snapshot = getattr(report, SNAPSHOT_ATTRIBUTE, None)
    return snapshot if isinstance(snapshot, dict) else None
