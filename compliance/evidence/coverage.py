"""The control coverage matrix: every catalogued requirement, the checks under it, their worst status.

Requirements no check covers are listed as NOT COVERED, and a check that exists but did not run in this
run shows as NOT RUN (both `Status` members), so a partial run can never look like full coverage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
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


COVERAGE_KEY = "coverage"
"""The matrix's key in an evidence document."""

Result = tuple[str, str, Status]
"""One finding of the run, as coverage needs it: (check id, chain or "-", status)."""


def check_statuses(results: Iterable[Result]) -> dict[str, list[tuple[str, Status]]]:
    """check id → [(chain, status)] of this run's findings. Equal chain labels share one string: a run's records
    repeat each chain's label once per check."""
    out: dict[str, list[tuple[str, Status]]] = {}
    labels: dict[str, str] = {}
    for check_id, chain, status in results:
        out.setdefault(check_id, []).append((labels.setdefault(chain, chain), status))
    return out


def coverage(results: Iterable[Result] | Mapping[str, list[tuple[str, Status]]],
             checks: Mapping[str, CheckMeta]) -> list[RequirementCoverage]:
    """The matrix, in catalogue order. `checks` is every check the suite has (run or not); `results` are the
    run's findings, or `check_statuses` of them. A check under several requirements is one shared `CheckCoverage`
    (its per-chain results are the bulk of the matrix)."""
    ran = results if isinstance(results, Mapping) else check_statuses(results)
    by_check: dict[str, CheckCoverage] = {}
    for meta in sorted(checks.values(), key=lambda m: m.id):
        per_chain = tuple(sorted(ran.get(meta.id, [])))
        status = worst(s for _, s in per_chain) or Status.NOT_RUN
        by_check[meta.id] = CheckCoverage(meta.id, meta.title, status, per_chain)
    return [RequirementCoverage(requirement, tuple(c for check_id, c in by_check.items()
                                                   if requirement.id in checks[check_id].controls))
            for requirement in REQUIREMENTS.values()]


def redacted(rows: Iterable[RequirementCoverage], text: Callable[[str], str]) -> list[RequirementCoverage]:
    """The matrix with `text` (a redactor's) applied to each of its strings, as `Redactor.json` does to its JSON
    form; each distinct string once, shared checks stay shared."""
    done: dict[str, str] = {}

    def r(value: str) -> str:
        if value not in done:
            done[value] = text(value)
        return done[value]

    checks: dict[int, CheckCoverage] = {}

    def check(c: CheckCoverage) -> CheckCoverage:
        if id(c) not in checks:
            checks[id(c)] = CheckCoverage(r(c.check_id), r(c.title), c.status,
                                          tuple((r(chain), s) for chain, s in c.results))
        return checks[id(c)]

    return [RequirementCoverage(Requirement(r(row.requirement.id), r(row.requirement.framework),
                                            r(row.requirement.clause), r(row.requirement.title)),
                                tuple(check(c) for c in row.checks))
            for row in rows]


def coverage_rows(document: Mapping[str, Any]) -> Iterator[RequirementCoverage]:
    """The coverage matrix of an evidence document: as `evidence_document` keeps it, or read from evidence.json."""
    for row in document.get(COVERAGE_KEY) or ():
        yield row if isinstance(row, RequirementCoverage) else RequirementCoverage.from_json(row)


def tally(statuses: Iterable[Status]) -> dict[Status, int]:
    """Counts per status, worst first."""
    counts: dict[Status, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: kv[0].rank, reverse=True))
