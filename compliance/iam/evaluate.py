"""Decide one request against every policy that applies to it.

The order, from the IAM User Guide ("Policy evaluation logic", "How AWS enforcement code logic
evaluates requests", "Cross-account policy evaluation logic"):

1. **Explicit deny.** Every applicable statement of every policy is matched first (identity,
   resource/trust/key, boundary, session, SCPs, RCPs). "If the code finds even one explicit deny
   that applies, the code returns a final decision of Deny."
2. **RCPs** (resource side, when given): every level, root to account, needs an Allow. They do
   not restrict service-linked roles.
3. **SCPs** (caller side, when given): every level needs an Allow. "SCPs apply to principals of
   the account where the SCPs are attached" — IAM users, roles, sessions and the root user, not
   AWS service principals or anonymous callers, and not service-linked roles.
4. **Resource-based policy** (bucket policy, role trust policy, KMS key policy):
   * cross-account — "The request is allowed only if both evaluations return a decision of
     Allow": the resource policy must name the caller (or its account) AND the caller's
     identity-based policies (within its boundary and session policies) must allow;
   * same account — an Allow naming the caller's own user/session ARN (or ``*``) is enough even
     with implicit denies in identity, boundary and session policies; one naming the role ARN is
     "limited by an implicit deny in a permissions boundary or session policy"; one naming the
     account "delegate[s] permissions to the account", so an identity policy must allow;
   * a request made as the role ARN itself is limited like a grant to the role ARN; a federated
     user session matches a grant to "the ARN of the IAM user who federated", which "is limited by
     an implicit deny in a permission boundary or session policy";
   * "IAM role trust policies and KMS key policies are exceptions ... because they must
     explicitly allow access for principals": without their Allow (or when none is given for
     sts:AssumeRole* on a role or a kms: action on a key), identity policies never suffice. For
     trust policies, "If a permissions boundary is set for the user, then it must allow the
     sts:AssumeRole action" (Update a role trust policy).
5. **Identity-based policies**: some statement must allow; "the AWS account root user ... has
   full access" by default.
6. **Permissions boundary**: when present it must allow.
7. **Session policies**: when present one must allow; a federated-user session without one is
   implicitly denied.

Callers that are not IAM principals (AWS services, federated identities, anonymous) have no
identity side: only the resource-based policy can allow them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from compliance.iam.document import Effect, PolicyDocument, PolicyKind
from compliance.iam.principals import CallerKind, Grant, not_principal_applies, principal_grant
from compliance.iam.request import Request
from compliance.iam.trace import (
    ConditionOutcome,
    Decision,
    Evaluation,
    Outcome,
    Record,
    StatementRecord,
    TraceEntry,
    source_noun,
)


class Scan(NamedTuple):
    """What matching one group of policies found (a NamedTuple: the evaluator is hot)."""

    allows: int
    """How many statements allow the request."""
    denies: int
    """How many statements deny it explicitly."""
    grant: Grant | None
    """The strongest way an allowing statement's Principal names the caller; None when none names it."""
    first_allow: int
    """The record index of the first allowing statement, -1 when none allows."""


_NOTHING = Scan(0, 0, None, -1)
_new = tuple.__new__
"""Builds a NamedTuple from a tuple without its generated Python ``__new__``: half the cost in the loop below."""


def _scan(
    policies: Sequence[PolicyDocument],
    request: Request,
    records: list[Record],
    level: int | None = None,
    has_boundary: bool = False,
) -> Scan:
    """Match every statement of ``policies``; append a record for each one that applies.

    One loop on purpose (complexity 18): it runs for every statement of every decision, and moving the
    resource and principal tests into a function cost the reference chain about 5% more per decision."""
    if not policies:
        return _NOTHING
    allows = denies = 0
    best: Grant | None = None
    first_allow = -1
    action = request.action_lower
    resource = request.resource
    context = request.lower_context
    caller = request.caller
    for policy in policies:
        for statement in policy.statements:
            actions = statement._action_set
            hit = (
                actions.matches_everything
                or action in actions.exact
                or (actions.regex is not None and actions.regex.fullmatch(action) is not None)
            )
            if hit is statement._not_action:
                continue
            resources = statement._resource_set
            if resources is not None:
                quick = statement.resources is not None and (
                    resources.matches_everything or resource in resources.exact
                )
                if not quick and not statement.matches_resource(resource, context):
                    continue
            grant: Grant | None = None
            if statement.principal is not None:
                grant = principal_grant(statement.principal, caller)
                if grant is None:
                    continue
            elif statement.not_principal is not None:
                deny = statement.effect is Effect.DENY
                if not not_principal_applies(statement.not_principal, caller, deny=deny, has_boundary=has_boundary):
                    continue
                grant = Grant.DIRECT
            met = True
            outcomes: tuple[ConditionOutcome, ...] = ()
            if statement._compiled:
                evaluated = []
                for condition in statement._compiled:
                    ok, seen = condition.evaluate(context)
                    met = met and ok
                    evaluated.append(_new(ConditionOutcome, (condition, ok, seen)))
                outcomes = tuple(evaluated)
            if not met:
                outcome = Outcome.CONDITIONS_NOT_MET
            elif statement.effect is Effect.ALLOW:
                outcome = Outcome.ALLOW
                allows += 1
                if first_allow < 0:
                    first_allow = len(records)
                if grant is not None and (best is None or grant > best):
                    best = grant
            else:
                outcome = Outcome.DENY
                denies += 1
            records.append(_new(StatementRecord, (outcome, policy, statement, level, outcomes)))
    if not allows and not denies:
        return _NOTHING
    return _new(Scan, (allows, denies, best, first_allow))


def _gate(source: str, message: str, *, level: int | None = None, kind: PolicyKind | None = None) -> TraceEntry:
    return TraceEntry(Outcome.MISSING_ALLOW, source, policy_kind=kind, level=level, message=message)


def _level(level: Sequence[PolicyDocument] | PolicyDocument) -> Sequence[PolicyDocument]:
    """An organisation level given as a bare policy counts as a level of one policy."""
    return (level,) if isinstance(level, PolicyDocument) else level


def _what(request: Request) -> str:
    return f"{request.action} on {request.resource}"


def evaluate(
    request: Request,
    *,
    identity_policies: Sequence[PolicyDocument] = (),
    resource_policy: PolicyDocument | None = None,
    permission_boundary: PolicyDocument | None = None,
    scps: Sequence[Sequence[PolicyDocument]] = (),
    session_policies: Sequence[PolicyDocument] = (),
    rcps: Sequence[Sequence[PolicyDocument]] = (),
) -> Evaluation:
    """Evaluate ``request``. ``scps``/``rcps`` list organisation levels from the root down to the
    account; each level needs an allowing policy. An empty sequence means none apply."""
    records: list[Record] = []

    identity = _scan(identity_policies, request, records) if identity_policies else _NOTHING
    resource = (_NOTHING if resource_policy is None else
                _scan((resource_policy,), request, records, has_boundary=permission_boundary is not None))
    boundary = _NOTHING if permission_boundary is None else _scan((permission_boundary,), request, records)
    session = _scan(session_policies, request, records) if session_policies else _NOTHING
    denies = identity.denies + resource.denies + boundary.denies + session.denies

    gates: list[TraceEntry] = []
    if rcps or scps:
        denies += _organisation_levels(request, records, gates, rcps=rcps, scps=scps)
    if denies:
        first_deny = next(i for i, r in enumerate(records)
                          if not isinstance(r, TraceEntry) and r.outcome is Outcome.DENY)
        return Evaluation(Decision.EXPLICIT_DENY, request, tuple(records), first_deny)

    scans: Scans = _new(Scans, (identity, resource, boundary, session))
    gates.extend(_principal_gates(request, scans, resource_policy, permission_boundary, session_policies, records))
    if gates:
        reason = len(records)
        records.extend(gates)
        return Evaluation(Decision.IMPLICIT_DENY, request, tuple(records), reason)
    return _allowed(request, records, identity, resource)


def _organisation_levels(request: Request, records: list[Record], gates: list[TraceEntry], *,
                         rcps: Sequence[Sequence[PolicyDocument]], scps: Sequence[Sequence[PolicyDocument]]) -> int:
    """Match the RCP and SCP levels that apply to the caller; append a gate for each level without an Allow.
    Returns how many of their statements deny the request."""
    caller = request.caller
    denies = 0
    for number, level in enumerate(rcps if not caller.is_service_linked_role else (), start=1):
        scan = _scan(_level(level), request, records, number)
        denies += scan.denies
        if not scan.allows:
            gates.append(_gate(f"RCP level {number}", f"No RCP at level {number} allows {_what(request)}.",
                               level=number, kind=PolicyKind.RCP))
    scp_applies = caller.is_iam and not caller.is_service_linked_role
    for number, level in enumerate(scps if scp_applies else (), start=1):
        scan = _scan(_level(level), request, records, number)
        denies += scan.denies
        if not scan.allows:
            gates.append(_gate(f"SCP level {number}", f"No SCP at level {number} allows {_what(request)}.",
                               level=number, kind=PolicyKind.SCP))
    if scps and not scp_applies:
        records.append(TraceEntry(Outcome.NOT_APPLICABLE, "SCPs", policy_kind=PolicyKind.SCP,
                                  message=f"SCPs do not apply to this caller ({_caller_words(request)})."))
    return denies


def _allowed(request: Request, records: list[Record], identity: Scan, resource: Scan) -> Evaluation:
    """The Allow, with the record that best explains it: a resource grant to the role or session, else the first
    identity Allow, else the first resource Allow (the root user's own account when nothing else allows)."""
    grant = resource.grant
    if request.caller.kind is CallerKind.ROOT and not identity.allows and (grant is None or grant is Grant.ACCOUNT):
        records.append(TraceEntry(Outcome.ALLOW, "account root user", policy_kind=PolicyKind.IDENTITY,
                                  message=f"The caller is the account root user, which has full access to its "
                                          f"own account unless a policy denies it: {_what(request)} is allowed."))
        return Evaluation(Decision.ALLOW, request, tuple(records), len(records) - 1)
    main = resource.first_allow if grant is not None and grant >= Grant.ROLE else -1
    for candidate in (main, identity.first_allow, resource.first_allow):
        if candidate >= 0:
            return Evaluation(Decision.ALLOW, request, tuple(records), candidate)
    return Evaluation(Decision.ALLOW, request, tuple(records))


_TRUST_ACTIONS = ("assumerole", "tagsession", "setsourceidentity", "setcontext")


def implied_policy_kind(request: Request) -> PolicyKind | None:
    """The policy kind that must allow ``request`` even when none was given: assuming a role needs its
    trust policy and using a KMS key needs its key policy ("IAM role trust policies and KMS key policies
    are exceptions ... because they must explicitly allow access for principals")."""
    service, _, name = request.action_lower.partition(":")
    if service == "sts" and name.startswith(_TRUST_ACTIONS) and ":role/" in request.resource:
        return PolicyKind.TRUST
    if service == "kms" and ":key/" in request.resource:
        return PolicyKind.KEY
    return None


def _caller_words(request: Request) -> str:
    caller = request.caller
    if caller.is_service_linked_role:
        return f"{caller.arn} is a service-linked role"
    description = {
        CallerKind.SERVICE: "an AWS service principal",
        CallerKind.ANONYMOUS: "anonymous (unauthenticated)",
        CallerKind.FEDERATED: "a federated identity (web identity or SAML provider)",
        CallerKind.CANONICAL_USER: "an S3 canonical user",
    }.get(caller.kind)
    if description is None:
        description = f"{'an' if caller.kind.value[0] in 'aeiou' else 'a'} {caller.kind.value}"
    name = "the caller" if caller.kind is CallerKind.ANONYMOUS else caller.arn
    return f"{name} is {description}"


def _statement_label(records: Sequence[Record], index: int) -> str | None:
    if index < 0:
        return None
    record = records[index]
    return None if isinstance(record, TraceEntry) else record.statement.label


def _near_miss(records: Sequence[Record], policy: PolicyDocument | None) -> str:
    """`` (statement #1 names the caller, but its condition is not met: ...)`` for ``policy``'s first
    Allow statement that matched everything but its Condition block; empty when there is none."""
    if policy is None:
        return ""
    for record in records:
        if (isinstance(record, TraceEntry) or record.outcome is not Outcome.CONDITIONS_NOT_MET
                or record.policy is not policy):
            continue
        statement = record.statement
        if statement.effect is not Effect.ALLOW:
            continue
        failed = [_unmet(found) for found in record.conditions if not found.met]
        return f" (statement {statement.label} would allow it, but its condition is not met: {'; '.join(failed)})"
    return ""


def _unmet(found: ConditionOutcome) -> str:
    condition = found.condition
    return (f"it requires {condition.operator} {condition.key} {', '.join(condition.values)} but {condition.key} "
            f"is {_seen(found.seen)}")


def _seen(value: object) -> str:
    if value is None:
        return "absent"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]" if value else "an empty list"
    return str(value)


class Scans(NamedTuple):
    """The four groups of policies matched before the gates are judged."""

    identity: Scan
    resource: Scan
    boundary: Scan
    session: Scan


class SessionGap(Enum):
    """Whether session policies keep an IAM caller's request from being allowed, and why."""

    NONE = "no session gap"
    NOT_ALLOWED = "no session policy allows it"
    NO_SESSION_POLICY = "a federated user session without a session policy"


@dataclass(frozen=True, slots=True)
class Gaps:
    """Which missing allows keep an IAM caller's request from being allowed."""

    resource: bool
    identity: bool
    boundary: bool
    session: SessionGap


@dataclass(frozen=True, slots=True)
class GateFacts:
    """What the missing-allow sentences are written from."""

    request: Request
    records: Sequence[Record]
    resource_policy: PolicyDocument | None
    kind: PolicyKind | None
    """The resource-based policy's kind, or the kind the request implies when none was given."""
    permission_boundary: PolicyDocument | None
    resource: Scan

    @property
    def grant(self) -> Grant | None:
        return self.resource.grant

    @property
    def cross_account(self) -> bool:
        return self.request.is_cross_account

    @property
    def source(self) -> str:
        """The gate's source label: the policy kind, or ``resource`` when none is known."""
        return self.kind.value if self.kind else "resource"

    @property
    def noun(self) -> str:
        if self.resource_policy is not None:
            return source_noun(self.resource_policy, self.request.resource, None)
        return {PolicyKind.TRUST: "role trust policy", PolicyKind.KEY: "key policy"}.get(
            self.kind or PolicyKind.RESOURCE, "resource-based policy")

    @property
    def granted_by(self) -> str:
        """``the bucket policy statement 'X'``: what grants the request on the resource side."""
        label = _statement_label(self.records, self.resource.first_allow)
        return f"the {self.noun} statement {label}" if label else f"the {self.noun}"

    @property
    def granted_by_capitalised(self) -> str:
        granted_by = self.granted_by
        return f"{granted_by[0].upper()}{granted_by[1:]}"

    def near_miss(self) -> str:
        return _near_miss(self.records, self.resource_policy)


def _principal_gates(
    request: Request,
    scans: Scans,
    resource_policy: PolicyDocument | None,
    permission_boundary: PolicyDocument | None,
    session_policies: Sequence[PolicyDocument],
    records: Sequence[Record] = (),
) -> list[TraceEntry]:
    """The missing allows that keep the request from being allowed (empty when it is allowed)."""
    kind = resource_policy.kind if resource_policy is not None else implied_policy_kind(request)
    if not request.caller.is_iam:
        if scans.resource.grant is not None:
            return []
        return [_non_iam_gate(GateFacts(request, records, resource_policy, kind, None, scans.resource))]
    gaps = _gaps(request, kind, scans, permission_boundary, session_policies)
    if gaps is None:
        return []
    return _explain_gates(GateFacts(request, records, resource_policy, kind, permission_boundary, scans.resource),
                          gaps)


def _non_iam_gate(facts: GateFacts) -> TraceEntry:
    """The one gate for a caller with no identity side (a service, federated identity or anonymous)."""
    request, kind = facts.request, facts.kind
    if facts.resource_policy is None:
        return _gate("resource", f"No resource-based policy is attached, and {_caller_words(request)}, "
                                 "which only a resource-based policy can allow.", kind=kind)
    who = "an anonymous caller" if request.caller.kind is CallerKind.ANONYMOUS else request.caller.arn
    return _gate(facts.source,
                 f"The {facts.noun} has no statement that allows {who} to perform {_what(request)}"
                 f"{facts.near_miss()}, and {_caller_words(request)}, which only a resource-based policy can "
                 "allow.", kind=kind)


def _gaps(request: Request, kind: PolicyKind | None, scans: Scans, permission_boundary: PolicyDocument | None,
          session_policies: Sequence[PolicyDocument]) -> Gaps | None:
    """Which sides must allow an IAM caller's request (by how the resource policy names it) and do not; None when
    every side that must allow does (a dataclass and its SessionGap are made only then: this runs for every allowed
    request, and an Enum member costs a class attribute lookup)."""
    caller = request.caller
    grant = scans.resource.grant
    boundary_missing = permission_boundary is not None and not scans.boundary.allows
    session_missing = not scans.session.allows if session_policies else caller.kind is CallerKind.FEDERATED_USER
    identity_missing = caller.kind is not CallerKind.ROOT and not scans.identity.allows

    if request.is_cross_account:
        needs_identity, needs_limits, resource_missing = True, True, grant is None
    elif grant is Grant.DIRECT:
        needs_identity, needs_limits, resource_missing = False, kind is PolicyKind.TRUST, False
    elif grant is Grant.ROLE:
        needs_identity, needs_limits, resource_missing = False, True, False
    else:
        must_allow = kind in (PolicyKind.TRUST, PolicyKind.KEY)
        needs_identity, needs_limits, resource_missing = True, True, must_allow and grant is None
    identity_gap = needs_identity and identity_missing
    if not needs_limits:
        boundary_missing = session_missing = False
    if not (resource_missing or identity_gap or boundary_missing or session_missing):
        return None
    session = (SessionGap.NONE if not session_missing
               else SessionGap.NOT_ALLOWED if session_policies else SessionGap.NO_SESSION_POLICY)
    return Gaps(resource=resource_missing, identity=identity_gap, boundary=boundary_missing, session=session)


def _explain_gates(facts: GateFacts, gaps: Gaps) -> list[TraceEntry]:
    gates: list[TraceEntry] = []
    if gaps.resource:
        gates.append(_resource_gate(facts))
    if gaps.identity:
        gates.append(_identity_gate(facts))
    if gaps.boundary and facts.permission_boundary is not None:
        gates.append(_boundary_gate(facts, facts.permission_boundary))
    if gaps.session is not SessionGap.NONE:
        gates.append(_session_gate(facts, gaps.session))
    return gates


def _resource_gate(facts: GateFacts) -> TraceEntry:
    request, kind, noun = facts.request, facts.kind, facts.noun
    caller = request.caller
    if facts.cross_account:
        if facts.resource_policy is None:
            lacking = f"no resource-based policy is attached to {request.resource} (account {request.owner_account})"
        else:
            lacking = (f"the {noun} has no statement that allows {caller.arn} or its account {caller.account}"
                       f"{facts.near_miss()}")
        return _gate("cross-account", f"Cross-account request: {lacking}, so the resource account grants "
                     "nothing. A request from another account needs an Allow in the resource's policy and "
                     "in the caller's identity-based policies.", kind=kind)
    if facts.resource_policy is None:
        why = ("a role can be assumed only when its trust policy allows the caller" if kind is PolicyKind.TRUST
               else "a KMS key can be used only when its key policy allows it")
        return _gate(facts.source, f"No {noun} was given for {request.resource}: {why}; identity-based policies "
                     f"alone never suffice for a {noun}.", kind=kind)
    delegation = " (directly, or by naming the account to enable IAM policies)" if kind is PolicyKind.KEY else ""
    return _gate(facts.source, f"The {noun} does not allow {caller.arn} to perform {_what(request)}"
                 f"{facts.near_miss()}; it must allow the caller{delegation}, because identity-based policies "
                 f"alone never suffice for a {noun}.", kind=kind)


def _identity_gate(facts: GateFacts) -> TraceEntry:
    request, what = facts.request, _what(facts.request)
    caller = request.caller
    if facts.cross_account:
        message = (f"Cross-account request: {facts.granted_by} in account {request.owner_account} allows it, but "
                   f"the caller's account {caller.account} must also allow this in an identity-based policy, and "
                   f"none does (no identity-based policy allows {what}).")
    elif facts.grant is Grant.ACCOUNT:
        message = (f"{facts.granted_by_capitalised} allows the account {caller.account}, which only delegates to "
                   f"the account's IAM policies, and no identity-based policy allows {what}.")
    elif facts.resource_policy is not None:
        message = (f"No identity-based policy allows {what}, and the {facts.noun} does not grant it to "
                   f"{caller.arn}{facts.near_miss()}.")
    else:
        message = f"No identity-based policy allows {what}."
    return _gate("identity", message, kind=PolicyKind.IDENTITY)


def _boundary_gate(facts: GateFacts, boundary: PolicyDocument) -> TraceEntry:
    what = _what(facts.request)
    if facts.cross_account:
        message = (f"Cross-account request: the caller's permissions boundary '{boundary.name}' must also allow "
                   f"{what}, and it does not.")
    else:
        message = f"The permissions boundary '{boundary.name}' does not allow {what}."
        if facts.grant is Grant.ROLE:
            message += (f" {facts.granted_by_capitalised} names the role, not the session, so the boundary still "
                        "limits it.")
    return _gate("boundary", message, kind=PolicyKind.BOUNDARY)


def _session_gate(facts: GateFacts, gap: SessionGap) -> TraceEntry:
    if gap is SessionGap.NO_SESSION_POLICY:
        message = "A federated user session (GetFederationToken) without a session policy is implicitly denied."
    else:
        message = (f"No session policy allows {_what(facts.request)}; the session policies passed when the session "
                   "was created limit it to what they allow.")
        if facts.grant is Grant.ROLE and not facts.cross_account:
            message += (f" {facts.granted_by_capitalised} names the role, not the session, so it is limited "
                        "too.")
    return _gate("session", message, kind=PolicyKind.SESSION)
