"""The run's one-word verdict, from its totals: the same word in the terminal, the HTML, the PDF and its headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from compliance.model import Status


class Verdict(StrEnum):
    MET = "MET"
    NOT_MET = "NOT MET"
    INCOMPLETE = "INCOMPLETE"
    NO_RESULT = "NO RESULT"

    @property
    def css(self) -> str:
        return {Verdict.MET: "pass", Verdict.NOT_MET: "fail"}.get(self, "incomplete")

    @property
    def explanation(self) -> str:
        return {
            Verdict.MET: "every check passed",
            Verdict.NOT_MET: "at least one check failed or could not be verified",
            Verdict.INCOMPLETE: "every check that ran passed, but some were not verified",
            Verdict.NO_RESULT: "no check ran",
        }[self]


@dataclass(frozen=True, slots=True)
class RunVerdict:
    verdict: Verdict
    not_run: int

    @property
    def sentence(self) -> str:
        return f"{self.verdict.value}: {self.verdict.explanation}"


def verdict_of(document: Mapping[str, Any]) -> RunVerdict:
    totals: Mapping[str, int] = document.get("totals") or {}
    not_run = len(document.get("checks_not_run") or [])
    if totals.get(Status.FAIL.value, 0) + totals.get(Status.ERROR.value, 0):
        return RunVerdict(Verdict.NOT_MET, not_run)
    if not totals:
        return RunVerdict(Verdict.NO_RESULT, not_run)
    if totals.get(Status.NOT_SUPPORTED.value) or not_run:
        return RunVerdict(Verdict.INCOMPLETE, not_run)
    return RunVerdict(Verdict.MET, not_run)
