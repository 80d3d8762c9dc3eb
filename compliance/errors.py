"""One hierarchy for every error the suite raises on purpose.

Each message is meant to be shown to a person as one line: what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
_MAX_PART = 300


def one_line(text: str, limit: int = _MAX_PART) -> str:
    """`text` made safe for a one-line message: control characters and line breaks escaped, cut to `limit`."""
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ComplianceError(Exception):
    """Root of every error this project raises deliberately."""


class ConfigError(ComplianceError):
    """The chain config, deployment file or a command-line option is invalid."""

    def __init__(self, source: str, key: str, problem: str, fix: str) -> None:
        self.source = one_line(source)
        self.key = one_line(key)
        self.problem = one_line(problem)
        self.fix = one_line(fix)
        super().__init__(f"{self.source}: {self.key}: {self.problem}. Fix: {self.fix}")


class PolicyError(ComplianceError):
    """A policy document is malformed. Names the policy, the statement and the field."""

    def __init__(self, policy: str, statement: str | None, field: str | None, problem: str) -> None:
        self.policy = policy
        self.statement = statement
        self.field = field
        self.problem = problem
        where = policy
        if statement is not None:
            where += f", statement {statement}"
        if field is not None:
            where += f", field {field}"
        super().__init__(f"{where}: {problem}")


class TargetError(ComplianceError):
    """A target (moto, live AWS, Azurite, live Azure) could not be set up or reached."""


class ReadError(TargetError):
    """One API read failed. Keeps the API name and the error code."""

    def __init__(self, api: str, code: str, message: str) -> None:
        self.api = api
        self.code = code
        self.message = message
        super().__init__(f"{api} failed: {code}: {message}")


class ReadOnlyViolation(TargetError):
    """A mutating API call was attempted in a mode that must stay read-only."""


class EmulatorError(TargetError):
    """A local emulator (Azurite) is missing or failed to start."""


class CaseError(ComplianceError):
    """An IAM evaluation case (request plus policies) is malformed. Names the file and the key."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = one_line(source)
        self.key = None if key is None else one_line(key)
        self.problem = one_line(problem)
        where = self.source if self.key is None else f"{self.source}: {self.key}"
        super().__init__(f"{where}: {self.problem}")
