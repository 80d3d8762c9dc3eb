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

from compliance.iam.document import Effect, PolicyDocument, PolicyKind
from compliance.iam.principals import CallerKind, Grant, not_principal_applies, principal_grant
from compliance.iam.request import Request
from compliance.iam.trace import (
    ConditionOutcome,
    Decision,
    Evaluation,
    Outcome,
    Record,
    TraceEntry,
    source_noun,
)

Scan = tuple[int, int, Grant | None, int]
"""(allowing statements, denying statements, strongest principal grant, index of first allow or -1)."""
_NOTHING: Scan = (0, 0, None, -1)


def _scan(
    policies: Sequence[PolicyDocument],
    request: Request,
    records: list[Record],
    level: int | None = None,
    has_boundary: bool = False,
) -> Scan:
    """Match every statement of ``policies``; append a record for each one that applies."""
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
                    evaluated.append((condition, ok, seen))
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
            records.append((outcome, policy, statement, level, outcomes))
    return allows, denies, best, first_allow


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
    caller = request.caller
    records: list[Record] = []

    identity = _scan(identity_policies, request, records) if identity_policies else _NOTHING
    resource = (_NOTHING if resource_policy is None else
                _scan((resource_policy,), request, records, has_boundary=permission_boundary is not None))
    boundary = _NOTHING if permission_boundary is None else _scan((permission_boundary,), request, records)
    session = _scan(session_policies, request, records) if session_policies else _NOTHING
    denies = identity[1] + resource[1] + boundary[1] + session[1]

    gates: list[TraceEntry] = []
    for number, level in enumerate(rcps if not caller.is_service_linked_role else (), start=1):
        scan = _scan(_level(level), request, records, number)
        denies += scan[1]
        if not scan[0]:
            gates.append(_gate(f"RCP level {number}", f"No RCP at level {number} allows {_what(request)}.",
                               level=number, kind=PolicyKind.RCP))
    scp_applies = caller.is_iam and not caller.is_service_linked_role
    for number, level in enumerate(scps if scp_applies else (), start=1):
        scan = _scan(_level(level), request, records, number)
        denies += scan[1]
        if not scan[0]:
            gates.append(_gate(f"SCP level {number}", f"No SCP at level {number} allows {_what(request)}.",
                               level=number, kind=PolicyKind.SCP))
    if scps and not scp_applies:
        records.append(TraceEntry(Outcome.NOT_APPLICABLE, "SCPs", policy_kind=PolicyKind.SCP,
                                  message=f"SCPs do not apply to this caller ({_caller_words(request)})."))

    if denies:
        first_deny = next(i for i, r in enumerate(records) if not isinstance(r, TraceEntry) and r[0] is Outcome.DENY)
        return Evaluation(Decision.EXPLICIT_DENY, request, tuple(records), first_deny)

    gates.extend(_principal_gates(request, identity, resource, boundary, session, resource_policy,
                                  permission_boundary, session_policies, records))
    if gates:
        reason = len(records)
        records.extend(gates)
        return Evaluation(Decision.IMPLICIT_DENY, request, tuple(records), reason)
    grant = resource[2]
    if caller.kind is CallerKind.ROOT and not identity[0] and (grant is None or grant is Grant.ACCOUNT):
        records.append(TraceEntry(Outcome.ALLOW, "account root user", policy_kind=PolicyKind.IDENTITY,
                                  message=f"The caller is the account root user, which has full access to its "
                                          f"own account unless a policy denies it: {_what(request)} is allowed."))
        return Evaluation(Decision.ALLOW, request, tuple(records), len(records) - 1)
    main = resource[3] if grant is not None and grant >= Grant.ROLE else -1
    for candidate in (main, identity[3], resource[3]):
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
    return None if isinstance(record, TraceEntry) else record[2].label


def _near_miss(records: Sequence[Record], policy: PolicyDocument | None) -> str:
    """`` (statement #1 names the caller, but its condition is not met: ...)`` for ``policy``'s first
    Allow statement that matched everything but its Condition block; empty when there is none."""
    if policy is None:
        return ""
    for record in records:
        if isinstance(record, TraceEntry) or record[0] is not Outcome.CONDITIONS_NOT_MET or record[1] is not policy:
            continue
        statement = record[2]
        if statement.effect is not Effect.ALLOW:
            continue
        failed = [f"it requires {c.operator} {c.key} {', '.join(c.values)} but {c.key} is {_seen(seen)}"
                  for c, ok, seen in record[4] if not ok]
        return f" (statement {statement.label} would allow it, but its condition is not met: {'; '.join(failed)})"
    return ""


def _seen(value: object) -> str:
    if value is None:
        return "absent"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]" if value else "an empty list"
    return str(value)


def _principal_gates(
    request: Request,
    identity: Scan,
    resource: Scan,
    boundary: Scan,
    session: Scan,
    resource_policy: PolicyDocument | None,
    permission_boundary: PolicyDocument | None,
    session_policies: Sequence[PolicyDocument],
    records: Sequence[Record] = (),
) -> list[TraceEntry]:
    """The missing allows that keep the request from being allowed (empty when it is allowed)."""
    caller = request.caller
    kind = resource_policy.kind if resource_policy is not None else implied_policy_kind(request)
    grant = resource[2]

    if not caller.is_iam:
        if grant is not None:
            return []
        if resource_policy is None:
            return [_gate("resource", f"No resource-based policy is attached, and {_caller_words(request)}, "
                                      "which only a resource-based policy can allow.", kind=kind)]
        noun = source_noun(resource_policy, request.resource, None)
        who = "an anonymous caller" if caller.kind is CallerKind.ANONYMOUS else caller.arn
        miss = _near_miss(records, resource_policy)
        return [_gate(kind.value if kind else "resource",
                      f"The {noun} has no statement that allows {who} to perform {_what(request)}{miss}, and "
                      f"{_caller_words(request)}, which only a resource-based policy can allow.", kind=kind)]

    boundary_missing = permission_boundary is not None and not boundary[0]
    session_missing = not session[0] if session_policies else caller.kind is CallerKind.FEDERATED_USER
    identity_missing = caller.kind is not CallerKind.ROOT and not identity[0]
    must_allow = kind in (PolicyKind.TRUST, PolicyKind.KEY)
    cross_account = request.is_cross_account

    if cross_account:
        needs_identity, needs_limits, resource_missing = True, True, grant is None
    elif grant is Grant.DIRECT:
        needs_identity, needs_limits, resource_missing = False, kind is PolicyKind.TRUST, False
    elif grant is Grant.ROLE:
        needs_identity, needs_limits, resource_missing = False, True, False
    else:
        needs_identity, needs_limits, resource_missing = True, True, must_allow and grant is None

    if not (resource_missing or (needs_identity and identity_missing)
            or (needs_limits and (boundary_missing or session_missing))):
        return []
    return _explain_gates(request, resource_policy, kind, permission_boundary, resource, cross_account,
                          resource_missing, needs_identity and identity_missing,
                          needs_limits and boundary_missing, needs_limits and session_missing,
                          not session_policies, records)


def _explain_gates(
    request: Request,
    resource_policy: PolicyDocument | None,
    kind: PolicyKind | None,
    permission_boundary: PolicyDocument | None,
    resource: Scan,
    cross_account: bool,
    resource_missing: bool,
    identity_missing: bool,
    boundary_missing: bool,
    session_missing: bool,
    session_policies_absent: bool,
    records: Sequence[Record],
) -> list[TraceEntry]:
    caller = request.caller
    grant = resource[2]
    what = _what(request)
    if resource_policy is not None:
        noun = source_noun(resource_policy, request.resource, None)
    else:
        noun = {PolicyKind.TRUST: "role trust policy", PolicyKind.KEY: "key policy"}.get(
            kind or PolicyKind.RESOURCE, "resource-based policy")
    label = _statement_label(records, resource[3])
    granted_by = f"the {noun} statement {label}" if label else f"the {noun}"
    owner = request.owner_account
    gates: list[TraceEntry] = []
    if resource_missing and cross_account:
        if resource_policy is None:
            lacking = f"no resource-based policy is attached to {request.resource} (account {owner})"
        else:
            lacking = (f"the {noun} has no statement that allows {caller.arn} or its account {caller.account}"
                       f"{_near_miss(records, resource_policy)}")
        gates.append(_gate("cross-account", f"Cross-account request: {lacking}, so the resource account grants "
                           "nothing. A request from another account needs an Allow in the resource's policy and "
                           "in the caller's identity-based policies.", kind=kind))
    elif resource_missing and resource_policy is None:
        why = ("a role can be assumed only when its trust policy allows the caller" if kind is PolicyKind.TRUST
               else "a KMS key can be used only when its key policy allows it")
        gates.append(_gate(kind.value if kind else "resource",
                           f"No {noun} was given for {request.resource}: {why}; identity-based policies alone "
                           f"never suffice for a {noun}.", kind=kind))
    elif resource_missing:
        delegation = (" (directly, or by naming the account to enable IAM policies)" if kind is PolicyKind.KEY
                      else "")
        gates.append(_gate(kind.value if kind else "resource",
                           f"The {noun} does not allow {caller.arn} to perform {what}"
                           f"{_near_miss(records, resource_policy)}; it must allow the caller{delegation}, "
                           f"because identity-based policies alone never suffice for a {noun}.", kind=kind))
    if identity_missing:
        if cross_account:
            message = (f"Cross-account request: {granted_by} in account {owner} allows it, but the caller's "
                       f"account {caller.account} must also allow this in an identity-based policy, and none does "
                       f"(no identity-based policy allows {what}).")
        elif grant is Grant.ACCOUNT:
            message = (f"{granted_by[0].upper()}{granted_by[1:]} allows the account {caller.account}, which only "
                       f"delegates to the account's IAM policies, and no identity-based policy allows {what}.")
        elif resource_policy is not None:
            message = (f"No identity-based policy allows {what}, and the {noun} does not grant it to {caller.arn}"
                       f"{_near_miss(records, resource_policy)}.")
        else:
            message = f"No identity-based policy allows {what}."
        gates.append(_gate("identity", message, kind=PolicyKind.IDENTITY))
    if boundary_missing and permission_boundary is not None:
        message = f"The permissions boundary '{permission_boundary.name}' does not allow {what}."
        if cross_account:
            message = (f"Cross-account request: the caller's permissions boundary '{permission_boundary.name}' "
                       f"must also allow {what}, and it does not.")
        elif grant is Grant.ROLE:
            message += (f" {granted_by[0].upper()}{granted_by[1:]} names the role, not the session, so the "
                        "boundary still limits it.")
        gates.append(_gate("boundary", message, kind=PolicyKind.BOUNDARY))
    if session_missing:
        message = (f"No session policy allows {what}; the session policies passed when the session was created "
                   "limit it to what they allow.")
        if session_policies_absent:
            message = ("A federated user session (GetFederationToken) without a session policy is implicitly "
                       "denied.")
        elif grant is Grant.ROLE and not cross_account:
            message += (f" {granted_by[0].upper()}{granted_by[1:]} names the role, not the session, so it is "
                        "limited too.")
        gates.append(_gate("session", message, kind=PolicyKind.SESSION))
    return gates
