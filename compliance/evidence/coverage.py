"""The control coverage matrix: every catalogued requirement, the checks under it, their worst status.

Requirements no check covers are listed as such, and a check that exists but did not run in this
run shows as NOT RUN, so a partial run can never look like full coverage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from compliance.controls import REQUIREMENTS, Requirement
from compliance.model import CheckMeta, Status

NOT_RUN = "NOT RUN"
NOT_COVERED = "NOT COVERED BY THIS SUITE"

# NOT RUN sits between NOT SUPPORTED and NOT APPLICABLE: it hides nothing worse, but blocks a PASS.
_RANKS: dict[str, float] = {**{s.value: float(s.rank) for s in Status}, NOT_RUN: 1.5}


def rank(status: str) -> float:
    return _RANKS.get(status, 5.0)


def worst(statuses: Iterable[str]) -> str | None:
    ordered = sorted(statuses, key=rank, reverse=True)
    return ordered[0] if ordered else None


@dataclass(frozen=True, slots=True)
class CheckCoverage:
    check_id: str
    title: str
    status: str  # a Status value or NOT_RUN
    results: tuple[tuple[str, str], ...]  # (chain, status) per run instance

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check_id, "title": self.title, "status": self.status,
                "results": [{"chain": c, "status": s} for c, s in self.results]}


@dataclass(frozen=True, slots=True)
class RequirementCoverage:
    requirement: Requirement
    checks: tuple[CheckCoverage, ...]

    @property
    def status(self) -> str:
        return worst(c.status for c in self.checks) or NOT_COVERED

    def to_json(self) -> dict[str, Any]:
        r = self.requirement
        return {"id": r.id, "framework": r.framework, "clause": r.clause, "title": r.title,
                "status": self.status, "checks": [c.to_json() for c in self.checks]}


def check_statuses(records: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """check id → [(chain, status)] of this run's findings."""
    out: dict[str, list[tuple[str, str]]] = {}
    for record in records:
        out.setdefault(record["check"]["id"], []).append(
            (str(record.get("chain") or "-"), record["finding"]["status"]))
    return out


def coverage(records: Iterable[Mapping[str, Any]], checks: Mapping[str, CheckMeta]) -> list[RequirementCoverage]:
    """The matrix, in catalogue order. `checks` is every check the suite has (run or not)."""
    ran = check_statuses(records)
    rows: list[RequirementCoverage] = []
    for requirement in REQUIREMENTS.values():
        under: list[CheckCoverage] = []
        for meta in sorted(checks.values(), key=lambda m: m.id):
            if requirement.id not in meta.controls:
                continue
            results = tuple(sorted(ran.get(meta.id, [])))
            status = worst(s for _, s in results) or NOT_RUN
            under.append(CheckCoverage(meta.id, meta.title, status, results))
        rows.append(RequirementCoverage(requirement, tuple(under)))
    return rows


def tally(statuses: Iterable[str]) -> dict[str, int]:
    """Counts per status, worst first."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: rank(kv[0]), reverse=True))
