"""The control coverage matrix: every catalogued requirement, the checks under it, their worst status.

Requirements no check covers are listed as NOT COVERED, and a check that exists but did not run in this
run shows as NOT RUN (both `Status` members), so a partial run can never look like full coverage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from compliance.controls import REQUIREMENTS, Requirement
from compliance.model import CheckMeta, Status


def worst(statuses: Iterable[Status]) -> Status | None:
    ordered = sorted(statuses, key=lambda s: s.rank, reverse=True)
    return ordered[0] if ordered else None


@dataclass(frozen=True, slots=True)
class CheckCoverage:
    check_id: str
    title: str
    status: Status  # a finding's status, or NOT_RUN
    results: tuple[tuple[str, Status], ...]  # (chain, status) per run instance

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check_id, "title": self.title, "status": self.status,
                "results": [{"chain": c, "status": s} for c, s in self.results]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckCoverage:
        return cls(str(data["check"]), str(data["title"]), Status(data["status"]),
                   tuple((str(r["chain"]), Status(r["status"])) for r in data["results"]))


@dataclass(frozen=True, slots=True)
class RequirementCoverage:
    requirement: Requirement
    checks: tuple[CheckCoverage, ...]

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.checks) or Status.NOT_COVERED

    def to_json(self) -> dict[str, Any]:
        r = self.requirement
        return {"id": r.id, "framework": r.framework, "clause": r.clause, "title": r.title,
                "status": self.status, "checks": [c.to_json() for c in self.checks]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequirementCoverage:
        """A row of an evidence.json's coverage section (its status is recomputed from its checks')."""
        requirement = Requirement(str(data["id"]), str(data["framework"]), str(data["clause"]), str(data["title"]))
        return cls(requirement, tuple(CheckCoverage.from_json(c) for c in data["checks"]))


Result = tuple[str, str, Status]
"""One finding of the run, as coverage needs it: (check id, chain or "-", status)."""


def check_statuses(results: Iterable[Result]) -> dict[str, list[tuple[str, Status]]]:
    """check id → [(chain, status)] of this run's findings."""
    out: dict[str, list[tuple[str, Status]]] = {}
    for check_id, chain, status in results:
        out.setdefault(check_id, []).append((chain, status))
    return out


def coverage(results: Iterable[Result], checks: Mapping[str, CheckMeta]) -> list[RequirementCoverage]:
    """The matrix, in catalogue order. `checks` is every check the suite has (run or not)."""
    ran = check_statuses(results)
    rows: list[RequirementCoverage] = []
    for requirement in REQUIREMENTS.values():
        under: list[CheckCoverage] = []
        for meta in sorted(checks.values(), key=lambda m: m.id):
            if requirement.id not in meta.controls:
                continue
            per_chain = tuple(sorted(ran.get(meta.id, [])))
            status = worst(s for _, s in per_chain) or Status.NOT_RUN
            under.append(CheckCoverage(meta.id, meta.title, status, per_chain))
        rows.append(RequirementCoverage(requirement, tuple(under)))
    return rows


def tally(statuses: Iterable[Status]) -> dict[Status, int]:
    """Counts per status, worst first."""
    counts: dict[Status, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: kv[0].rank, reverse=True))
