"""The answer and the reason: Decision, TraceEntry and Evaluation, renderable as plain sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

from compliance.iam.conditions import CompiledCondition
from compliance.iam.document import Effect, PolicyDocument, PolicyKind, Statement
from compliance.iam.request import Request
from compliance.iam.variables import ContextValue


class Decision(StrEnum):
    ALLOW = "Allow"
    IMPLICIT_DENY = "ImplicitDeny"
    EXPLICIT_DENY = "ExplicitDeny"


class Outcome(StrEnum):
    ALLOW = "allow"
    """A statement matched and allows the request."""
    DENY = "deny"
    """A Deny statement matched: an explicit deny."""
    CONDITIONS_NOT_MET = "conditions-not-met"
    """Action, resource and principal matched, but the Condition block was false."""
    MISSING_ALLOW = "missing-allow"
    """A gate that needs an Allow found none."""
    NOT_APPLICABLE = "not-applicable"
    """A policy type was given but does not apply to this caller (e.g. SCPs and service principals)."""


@dataclass(frozen=True, slots=True)
class ConditionResult:
    operator: str
    key: str
    values: tuple[str, ...]
    seen: ContextValue | None
    result: bool

    def seen_text(self) -> str:
        if self.seen is None:
            return "absent"
        if isinstance(self.seen, tuple):
            return "[" + ", ".join(self.seen) + "]" if self.seen else "an empty list"
        return self.seen

    def describe(self) -> str:
        """``aws:SecureTransport is false`` (what the request had)."""
        return f"{self.key} is {self.seen_text()}"

    def describe_requirement(self) -> str:
        values = ", ".join(self.values)
        return f"{self.operator} {self.key} {values}"

    def to_json(self) -> dict[str, Any]:
        seen: Any = list(self.seen) if isinstance(self.seen, tuple) else self.seen
        return {
            "operator": self.operator,
            "key": self.key,
            "values": list(self.values),
            "seen": seen,
            "result": self.result,
        }


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """A statement that allowed/denied (or whose conditions failed), or a gate that lacked an allow."""

    outcome: Outcome
    source: str
    """What spoke, in words: ``bucket policy``, ``identity policy 'ExportWriter'``, ``SCP level 2``."""
    policy: str | None = None
    policy_kind: PolicyKind | None = None
    statement: str | None = None
    effect: Effect | None = None
    level: int | None = None
    conditions: tuple[ConditionResult, ...] = ()
    message: str | None = None
    """For gates: the sentence itself."""

    @property
    def is_statement(self) -> bool:
        return self.statement is not None

    def sentence(self, request: Request) -> str:
        if self.message is not None:
            return self.message
        what = f"{request.action} on {request.resource}"
        where = f"The {self.source} statement {self.statement}"
        met = [c.describe() for c in self.conditions]
        because = f" because {' and '.join(met)}" if met else ""
        if self.outcome is Outcome.ALLOW:
            return f"{where} allows {what}{because}."
        if self.outcome is Outcome.DENY:
            return f"{where} explicitly denies {what}{because}."
        failed = [c for c in self.conditions if not c.result]
        detail = "; ".join(f"it requires {c.describe_requirement()} but {c.describe()}" for c in failed)
        verb = "allow" if self.effect is Effect.ALLOW else "deny"
        return f"{where} would {verb} {what}, but its condition is not met: {detail}."

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "source": self.source,
            "policy": self.policy,
            "policy_kind": None if self.policy_kind is None else self.policy_kind.value,
            "statement": self.statement,
            "effect": None if self.effect is None else self.effect.value,
            "level": self.level,
            "conditions": [c.to_json() for c in self.conditions],
            "message": self.message,
        }


class ConditionOutcome(NamedTuple):
    """One condition of a matched statement, as the evaluator found it (a NamedTuple: the evaluator is hot)."""

    condition: CompiledCondition
    met: bool
    seen: ContextValue | None
    """The request's value for the condition's key, None when the key is absent."""


class StatementRecord(NamedTuple):
    """A statement that applied to the request, as the evaluator stores it while deciding."""

    outcome: Outcome
    policy: PolicyDocument
    statement: Statement
    level: int | None
    """The organisation level (SCPs, RCPs), None for every other policy."""
    conditions: tuple[ConditionOutcome, ...]


Record = TraceEntry | StatementRecord
"""What the evaluator stores while deciding; turned into TraceEntry objects only when read."""


def source_noun(policy: PolicyDocument, resource: str, level: int | None) -> str:
    """How a sentence names a policy: ``bucket policy``, ``identity policy 'X'``, ``SCP 'Y' (level 1)``."""
    kind = policy.kind
    if kind is PolicyKind.RESOURCE:
        if ":accesspoint/" in resource:
            return policy.name  # the access point's policy, named by compliance.chain.view
        parts = resource.split(":", 3)
        return "bucket policy" if len(parts) > 2 and parts[2] == "s3" else "resource-based policy"
    if kind is PolicyKind.TRUST:
        return "role trust policy"
    if kind is PolicyKind.KEY:
        return "key policy"
    if kind in (PolicyKind.SCP, PolicyKind.RCP):
        return f"{kind.value.upper()} '{policy.name}' (level {level})"
    noun = {
        PolicyKind.IDENTITY: "identity policy",
        PolicyKind.BOUNDARY: "permissions boundary",
        PolicyKind.SESSION: "session policy",
    }[kind]
    return f"{noun} '{policy.name}'"


def _entry(record: Record, request: Request) -> TraceEntry:
    if isinstance(record, TraceEntry):
        return record
    policy, statement = record.policy, record.statement
    return TraceEntry(
        outcome=record.outcome,
        source=source_noun(policy, request.resource, record.level),
        policy=policy.name,
        policy_kind=policy.kind,
        statement=statement.label,
        effect=statement.effect,
        level=record.level,
        conditions=tuple(
            ConditionResult(found.condition.operator, found.condition.key, found.condition.values, found.seen,
                            found.met)
            for found in record.conditions
        ),
    )


@dataclass(frozen=True)
class Evaluation:
    """The decision, the request, and (built on first read) the trace explaining it."""

    decision: Decision
    request: Request
    records: tuple[Record, ...] = field(default=(), repr=False, compare=False)
    reason_index: int | None = field(default=None, repr=False, compare=False)

    @cached_property
    def trace(self) -> tuple[TraceEntry, ...]:
        """Every statement that allowed or denied (or whose conditions failed), every gate that lacked an allow."""
        return tuple(_entry(record, self.request) for record in self.records)

    @property
    def reason(self) -> TraceEntry | None:
        """The entry that best explains the decision (first explicit deny, first missing allow, main allow)."""
        return None if self.reason_index is None else self.trace[self.reason_index]

    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def deciding_statements(self) -> tuple[TraceEntry, ...]:
        """The explicit denies for ExplicitDeny; the allowing statements for Allow; () otherwise."""
        if self.decision is Decision.EXPLICIT_DENY:
            return tuple(e for e in self.trace if e.outcome is Outcome.DENY)
        if self.decision is Decision.ALLOW:
            return tuple(e for e in self.trace if e.outcome is Outcome.ALLOW)
        return ()

    def sentences(self) -> list[str]:
        return [self.summary(), *(entry.sentence(self.request) for entry in self.trace)]

    def summary(self) -> str:
        reason = self.reason
        if self.decision is Decision.EXPLICIT_DENY and reason is not None:
            met = "; ".join(c.describe() for c in reason.conditions)
            suffix = f" ({met})" if met else ""
            return (f"Denied explicitly by {reason.source} statement {reason.statement}{suffix}; "
                    "an explicit deny overrides every allow.")
        if self.decision is Decision.ALLOW:
            if reason is not None and reason.statement is not None:
                other = self._other_side(reason)
                if other is not None:
                    return (f"Allowed by {reason.source} statement {reason.statement} and {other.source} statement "
                            f"{other.statement}: a cross-account request needs both accounts to allow it.")
                return f"Allowed by {reason.source} statement {reason.statement}."
            if reason is not None and reason.message is not None:
                return f"Allowed: {reason.message[0].lower()}{reason.message[1:]}"
            return "Allowed."
        if reason is not None:
            message = reason.sentence(self.request)
            return f"Denied implicitly: {message[0].lower()}{message[1:]}{self._near_miss(reason)}"
        return f"Denied implicitly: nothing allows {self.request.action} on {self.request.resource}."

    def _other_side(self, reason: TraceEntry) -> TraceEntry | None:
        """For a cross-account Allow, the allowing statement on the other side (identity vs resource)."""
        if not self.request.is_cross_account:
            return None
        resource_kinds = (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.KEY)
        want_resource = reason.policy_kind not in resource_kinds
        sides = (*resource_kinds, PolicyKind.IDENTITY)
        for entry in self.trace:
            if (entry.outcome is Outcome.ALLOW and entry.statement is not None and entry is not reason
                    and entry.policy_kind in sides and (entry.policy_kind in resource_kinds) is want_resource):
                return entry
        return None

    def _near_miss(self, gate: TraceEntry) -> str:
        """`` Closest: <statement> would allow it, but ...`` for the gate's policy type, when a statement of
        that type matched everything except its conditions (resource gates say so in their own sentence)."""
        if gate.policy_kind not in (PolicyKind.IDENTITY, PolicyKind.SCP, PolicyKind.RCP, PolicyKind.SESSION,
                                    PolicyKind.BOUNDARY):
            return ""
        for entry in self.trace:
            if (entry.outcome is Outcome.CONDITIONS_NOT_MET and entry.effect is Effect.ALLOW
                    and entry.policy_kind is gate.policy_kind and (gate.level is None or entry.level == gate.level)):
                failed = "; ".join(f"it requires {c.describe_requirement()} but {c.describe()}"
                                   for c in entry.conditions if not c.result)
                return f" Closest: the {entry.source} statement {entry.statement} would allow it, but {failed}."
        return ""

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "allowed": self.allowed(),
            "summary": self.summary(),
            "request": self.request.to_json(),
            "trace": [entry.to_json() for entry in self.trace],
            "sentences": self.sentences(),
        }
