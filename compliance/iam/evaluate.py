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
   * "IAM role trust policies and KMS key policies are exceptions ... because they must
     explicitly allow access for principals": without their Allow, identity policies never
     suffice. For trust policies, "If a permissions boundary is set for the user, then it must
     allow the sts:AssumeRole action" (Update a role trust policy).
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

from compliance.iam.document import Effect, PolicyDocument, PolicyKind
from compliance.iam.principals import CallerKind, Grant, not_principal_applies, principal_grant
from compliance.iam.request import Request
from compliance.iam.trace import ConditionResult, Decision, Evaluation, Outcome, TraceEntry


class _Scan:
    """What one group of policies said about the request."""

    __slots__ = ("allows", "denies", "grant", "first_allow")

    def __init__(self) -> None:
        self.allows = 0
        self.denies = 0
        self.grant: Grant | None = None
        self.first_allow: TraceEntry | None = None


def _source(policy: PolicyDocument, request: Request, level: int | None) -> str:
    kind = policy.kind
    if kind is PolicyKind.RESOURCE:
        parts = request.resource.split(":", 3)
        return "bucket policy" if len(parts) > 2 and parts[2] == "s3" else "resource-based policy"
    if kind is PolicyKind.TRUST:
        return "role trust policy"
    if kind is PolicyKind.KEY:
        return "key policy"
    if kind is PolicyKind.SCP:
        return f"SCP '{policy.name}' (level {level})"
    if kind is PolicyKind.RCP:
        return f"RCP '{policy.name}' (level {level})"
    noun = {
        PolicyKind.IDENTITY: "identity policy",
        PolicyKind.BOUNDARY: "permissions boundary",
        PolicyKind.SESSION: "session policy",
    }[kind]
    return f"{noun} '{policy.name}'"


def _scan(
    policies: Sequence[PolicyDocument],
    request: Request,
    trace: list[TraceEntry],
    *,
    level: int | None = None,
    has_boundary: bool = False,
) -> _Scan:
    scan = _Scan()
    action = request.action_lower
    resource = request.resource
    context = request.lower_context
    caller = request.caller
    for policy in policies:
        source: str | None = None
        for statement in policy.statements:
            hit = statement._action_set.matches(action)
            if hit != (statement.actions is not None):
                continue
            if not statement.matches_resource(resource, context):
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
            results: tuple[ConditionResult, ...] = ()
            met = True
            if statement.conditions:
                evaluated = []
                for condition in statement._compiled:
                    ok, seen = condition.evaluate(context)
                    met = met and ok
                    evaluated.append(ConditionResult(condition.operator, condition.key, condition.values, seen, ok))
                results = tuple(evaluated)
            if source is None:
                source = _source(policy, request, level)
            is_allow = statement.effect is Effect.ALLOW
            if not met:
                outcome = Outcome.CONDITIONS_NOT_MET
            elif is_allow:
                outcome = Outcome.ALLOW
                scan.allows += 1
                if grant is not None and (scan.grant is None or grant > scan.grant):
                    scan.grant = grant
            else:
                outcome = Outcome.DENY
                scan.denies += 1
            entry = TraceEntry(
                outcome, source, policy.name, policy.kind, statement.label, statement.effect, level, results
            )
            if outcome is Outcome.ALLOW and scan.first_allow is None:
                scan.first_allow = entry
            trace.append(entry)
    return scan


def _gate(source: str, message: str, *, level: int | None = None, kind: PolicyKind | None = None) -> TraceEntry:
    return TraceEntry(Outcome.MISSING_ALLOW, source, policy_kind=kind, level=level, message=message)


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
    caller = request.caller
    trace: list[TraceEntry] = []
    what = f"{request.action} on {request.resource}"

    identity = _scan(identity_policies, request, trace)
    resource = _scan((resource_policy,) if resource_policy is not None else (), request, trace,
                     has_boundary=permission_boundary is not None)
    boundary = _scan((permission_boundary,) if permission_boundary is not None else (), request, trace)
    session = _scan(session_policies, request, trace)
    denies = identity.denies + resource.denies + boundary.denies + session.denies

    gates: list[TraceEntry] = []
    rcp_gates: list[TraceEntry] = []
    scp_applies = caller.is_iam and not caller.is_service_linked_role
    for number, level in enumerate(scps if scp_applies else (), start=1):
        scan = _scan(level, request, trace, level=number)
        denies += scan.denies
        if not scan.allows:
            gates.append(_gate(f"SCP level {number}", f"No SCP at level {number} allows {what}.",
                               level=number, kind=PolicyKind.SCP))
    if scps and not scp_applies:
        trace.append(TraceEntry(Outcome.NOT_APPLICABLE, "SCPs", policy_kind=PolicyKind.SCP,
                                message=f"SCPs do not apply to this caller ({_caller_words(request)})."))
    rcp_applies = not caller.is_service_linked_role
    for number, level in enumerate(rcps if rcp_applies else (), start=1):
        scan = _scan(level, request, trace, level=number)
        denies += scan.denies
        if not scan.allows:
            rcp_gates.append(_gate(f"RCP level {number}", f"No RCP at level {number} allows {what}.",
                                  level=number, kind=PolicyKind.RCP))

    if denies:
        reason = next(e for e in trace if e.outcome is Outcome.DENY)
        return Evaluation(Decision.EXPLICIT_DENY, tuple(trace), request, reason)

    gates = rcp_gates + gates
    gates.extend(_principal_gates(request, identity, resource, boundary, session, resource_policy,
                                  permission_boundary, session_policies))
    if gates:
        trace.extend(gates)
        return Evaluation(Decision.IMPLICIT_DENY, tuple(trace), request, gates[0])
    reason = resource.first_allow if resource.grant is not None and resource.grant >= Grant.ROLE else None
    return Evaluation(Decision.ALLOW, tuple(trace), request, reason or identity.first_allow or resource.first_allow)


def _caller_words(request: Request) -> str:
    caller = request.caller
    if caller.is_service_linked_role:
        return f"{caller.arn} is a service-linked role"
    return f"{caller.arn} is {'an' if caller.kind.value[0] in 'aeiou' else 'a'} {caller.kind.value}"


def _principal_gates(
    request: Request,
    identity: _Scan,
    resource: _Scan,
    boundary: _Scan,
    session: _Scan,
    resource_policy: PolicyDocument | None,
    permission_boundary: PolicyDocument | None,
    session_policies: Sequence[PolicyDocument],
) -> list[TraceEntry]:
    """The missing allows that keep the request from being allowed (empty when it is allowed)."""
    caller = request.caller
    what = f"{request.action} on {request.resource}"
    kind = resource_policy.kind if resource_policy is not None else None
    noun = _source(resource_policy, request, None) if resource_policy is not None else "resource-based policy"
    grant = resource.grant

    if not caller.is_iam:
        if grant is not None:
            return []
        if resource_policy is None:
            return [_gate("resource", f"No resource-based policy is attached, and {_caller_words(request)}, "
                                      "which only a resource-based policy can allow.")]
        return [_gate("resource", f"The {noun} does not allow {caller.arn} to perform {what}.", kind=kind)]

    boundary_gate = (
        None if permission_boundary is None or boundary.allows
        else _gate("boundary", f"The permissions boundary '{permission_boundary.name}' does not allow {what}.",
                   kind=PolicyKind.BOUNDARY)
    )
    if session_policies:
        session_gate = None if session.allows else _gate(
            "session", f"No session policy allows {what}.", kind=PolicyKind.SESSION)
    elif caller.kind is CallerKind.FEDERATED_USER:
        session_gate = _gate("session", "A federated user session without a session policy is implicitly denied.",
                             kind=PolicyKind.SESSION)
    else:
        session_gate = None
    identity_gate = None
    if caller.kind is not CallerKind.ROOT and not identity.allows:
        identity_gate = _gate("identity", f"No identity-based policy allows {what}.", kind=PolicyKind.IDENTITY)
    limits = [gate for gate in (boundary_gate, session_gate) if gate is not None]
    identity_path = [gate for gate in (identity_gate, boundary_gate, session_gate) if gate is not None]
    must_allow = kind in (PolicyKind.TRUST, PolicyKind.KEY)

    if request.is_cross_account:
        if grant is None:
            lacking = (f"the {noun} does not name {caller.arn} or its account" if resource_policy is not None
                       else "no resource-based policy is attached")
            return [_gate("cross-account", f"Cross-account request: {lacking}, so the resource account "
                          "grants nothing.", kind=kind), *identity_path]
        return identity_path
    if grant is Grant.DIRECT:
        return limits if kind is PolicyKind.TRUST else []
    if grant is Grant.ROLE:
        return limits
    if grant is Grant.ACCOUNT:
        if identity_gate is not None:
            identity_gate = _gate("identity", f"The {noun} allows the account {caller.account}, which delegates "
                                  f"to IAM policies, and no identity-based policy allows {what}.",
                                  kind=PolicyKind.IDENTITY)
        return [gate for gate in (identity_gate, boundary_gate, session_gate) if gate is not None]
    if must_allow:
        return [_gate(kind.value if kind else "resource",
                      f"The {noun} does not allow {caller.arn} to perform {what}; identity-based policies "
                      f"alone never suffice for a {noun}.", kind=kind), *identity_path]
    return identity_path
