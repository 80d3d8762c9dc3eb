"""Organization context keys in the request context, as AWS adds them.

IAM User Guide, "AWS global condition context keys"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
* aws:PrincipalOrgID, aws:PrincipalOrgPaths: "included in the request context only if the principal is a member of
  an organization"; aws:PrincipalAccount for every IAM principal. Service principals and anonymous callers have none.
* aws:ResourceOrgID, aws:ResourceOrgPaths, aws:ResourceAccount: the organization, OU path and account of the
  resource the request targets, present when the resource's account is in an organization.
* The path format: "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/".

The customer's account is the only account whose membership is read. Principals of other accounts (the vendor,
strangers) are evaluated as outside the organization: their membership cannot be read from the customer's side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from compliance.chain.requests import Caller
from compliance.iam import PolicyDocument, Request
from compliance.iam.principals import CallerKind
from compliance.targets.snapshot import OrgContext

ORG_KEYS = ("aws:principalorgid", "aws:principalorgpaths", "aws:resourceorgid", "aws:resourceorgpaths")
"""The keys only Organizations can supply (aws:PrincipalAccount / aws:ResourceAccount come from the ARNs)."""

ORG_REMEDY = ("let the audit identity call organizations:DescribeOrganization and organizations:ListParents (from "
              "the management account or a delegated administrator, aws.organizations_role_arn)")

_NOT_IN_ORG = (CallerKind.SERVICE, CallerKind.ANONYMOUS, CallerKind.CANONICAL_USER, CallerKind.FEDERATED)


def with_org_context(request: Request, org: OrgContext | None) -> Request:
    """`request` with the organization keys AWS adds for a principal of, and a resource in, the member account.

    Keys already in the request are kept (a test or a fuzz probe may set them on purpose)."""
    if org is None:
        return request
    added: dict[str, str | tuple[str, ...]] = {}
    caller = request.caller
    if caller.account == org.account_id and caller.kind not in _NOT_IN_ORG:
        added.update(org.principal_keys())
    if request.owner_account == org.account_id:
        added.update(org.resource_keys())
    present = {key.lower() for key in request.context}
    missing = {key: value for key, value in added.items() if key.lower() not in present}
    if not missing:
        return request
    return Request(request.principal, request.principal_account, request.action, request.resource,
                   request.resource_account, {**request.context, **missing})


def org_conditions(policies: Iterable[PolicyDocument]) -> list[str]:
    """'<policy> statement <label> (<key>)' for every statement whose condition uses an organization key, as a
    condition key or as a policy variable in a value (`${aws:PrincipalOrgID}`)."""
    found: list[str] = []
    for policy in policies:
        for statement in policy.statements:
            for condition in statement.conditions:
                key = condition.key.lower()
                used = key if key in ORG_KEYS else next(
                    (k for k in ORG_KEYS for v in condition.values if "${" + k in v.lower()), None)
                if used is not None:
                    found.append(f"{policy.kind.value} '{policy.name}' statement {statement.label} "
                                 f"({condition.key if used == key else used})")
                    break
    return found


def in_organization(caller: Caller, org: OrgContext | None) -> Caller:
    """`caller` (from `principal_caller`) with the principal organization keys when it is an IAM principal of the
    customer's account, the only account whose membership is read."""
    if org is None or caller.account != org.account_id or "aws:PrincipalArn" not in caller.context:
        return caller
    return replace(caller, context={**org.principal_keys(), **caller.context})
