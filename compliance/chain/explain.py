"""Turn an engine evaluation into the clause of a one-sentence failure message."""

from __future__ import annotations

from compliance.iam import Decision, Effect, Evaluation, Outcome, PolicyKind, TraceEntry

TAG_PREFIXES = ("aws:requesttag/", "aws:principaltag/", "aws:tagkeys")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _unmet(entry: TraceEntry) -> str:
    failed = [c for c in entry.conditions if not c.result]
    detail = " and ".join(f"{c.describe_requirement()} but {c.describe()}" for c in failed)
    return f"the {entry.source} statement {entry.statement} requires {detail}"


def cause(evaluation: Evaluation, prefer: PolicyKind | None = None) -> str:
    """What decided against the request, as a clause (no trailing period)."""
    reason = evaluation.reason
    if evaluation.decision is Decision.EXPLICIT_DENY and reason is not None:
        met = " and ".join(c.describe() for c in reason.conditions)
        return f"the {reason.source} statement {reason.statement} explicitly denies it" + (
            f" because {met}" if met else "")
    if evaluation.decision is Decision.ALLOW:
        return "it is allowed"
    unmet = [e for e in evaluation.trace if e.outcome is Outcome.CONDITIONS_NOT_MET and e.effect is Effect.ALLOW]
    kind = prefer or (reason.policy_kind if reason is not None else None)
    preferred = [e for e in unmet if e.policy_kind is kind] or unmet
    if preferred:
        return _unmet(preferred[0])
    if reason is not None:
        return _lower_first(reason.sentence(evaluation.request).rstrip("."))
    return f"nothing allows {evaluation.request.action} on {evaluation.request.resource}"


def is_tag_key(key: str) -> bool:
    return key.lower().startswith(TAG_PREFIXES)


def tag_problems(evaluation: Evaluation) -> list[str]:
    """Tag conditions that work against the request: a Deny they trigger or an Allow they block."""
    problems: list[str] = []
    for entry in evaluation.trace:
        tag_conditions = [c for c in entry.conditions if is_tag_key(c.key)]
        if not tag_conditions:
            continue
        if entry.outcome is Outcome.DENY:
            met = " and ".join(c.describe() for c in tag_conditions)
            problems.append(f"the {entry.source} statement {entry.statement} denies it because {met}")
        elif entry.outcome is Outcome.CONDITIONS_NOT_MET and entry.effect is Effect.ALLOW:
            failed = [c for c in tag_conditions if not c.result]
            if failed:
                detail = " and ".join(f"{c.describe_requirement()} but {c.describe()}" for c in failed)
                problems.append(f"the {entry.source} statement {entry.statement} requires {detail}")
    return problems
