"""The classes of callers the chain's policies can tell apart, each with the policies that decide for it.

Accounts: the customer's, the vendor's, every 12-digit account any policy names, the declared readers' and one
account no policy names. Organizations of an outside account: none, the customer's own organization (another
member account), every organization id a policy names, and one no policy names. Per account: the root user,
IAM users and role sessions whose ARNs fall in each class of the policies' Principal values and
aws:PrincipalArn patterns (the string automaton), and a federated-user session. Beside them: every service,
federated (OIDC/SAML) and canonical-user principal the policies name plus one they do not, and anonymous callers.

What a caller cannot choose is fixed from its class (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType,
aws:PrincipalOrgID, aws:userid, kms:CallerAccount ...); what it can choose (its own principal tags, the source
address, headers, the time of day) is left free for the search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from compliance.iam import PolicyDocument, Statement
from compliance.iam.variables import ContextValue
from compliance.proof.strings import Glob, classes

ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
ORG = re.compile(r"\bo-[a-z0-9]{10,32}\b")
FRESH_ACCOUNT_CANDIDATES = ("000011112222", "000033334444", "000055556666")
FRESH_ORG = "o-zzzzzzzzzz"
FRESH_SERVICE = "unnamed-service.amazonaws.com"
FRESH_CANONICAL = "f" * 64
PRINCIPAL_ARN_KEYS = ("aws:principalarn", "aws:sourcearn")
ROLE_SESSION = "session"

VPC_KEYS = frozenset({"aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip", "aws:sourcevpcarn"})
SERVICE_ONLY_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths",
                               "aws:principalservicename", "aws:principalservicenameslist"})


class Kind(StrEnum):
    """What kind of caller a class stands for."""

    ROOT = "root user"
    USER = "IAM user"
    ROLE_SESSION = "role session"
    FEDERATED_USER = "federated-user session"
    SERVICE = "AWS service"
    FEDERATED = "web-identity/SAML identity"
    CANONICAL = "S3 canonical user"
    ANONYMOUS = "anonymous caller"


@dataclass(frozen=True, slots=True)
class Caller:
    """A representative caller: ARN, account, class label and the context AWS derives for it."""

    label: str
    kind: Kind
    arn: str
    account: str | None
    context: dict[str, ContextValue]
    absent: frozenset[str]
    org: str | None = None


@dataclass(frozen=True, slots=True)
class OrgFacts:
    """The customer's organization as read (None fields when the account is in no organization)."""

    organization_id: str | None
    org_path: str | None


def _principal_values(statements: Iterable[Statement]) -> tuple[set[str], set[str], set[str], set[str]]:
    aws: set[str] = set()
    service: set[str] = set()
    federated: set[str] = set()
    canonical: set[str] = set()
    for statement in statements:
        for element in (statement.principal, statement.not_principal):
            if element is None:
                continue
            aws.update(v for v in element.aws if v != "*")
            service.update(element.service)
            federated.update(element.federated)
            canonical.update(element.canonical_user)
    return aws, service, federated, canonical


def _literals(statements: Iterable[Statement]) -> list[str]:
    out: list[str] = []
    for statement in statements:
        for condition in statement.conditions:
            out.extend(condition.values)
    return out


def _arn_globs(statements: Sequence[Statement]) -> list[Glob]:
    globs: list[Glob] = []
    for statement in statements:
        for condition in statement.compiled_conditions:
            if condition.key_lower in PRINCIPAL_ARN_KEYS:
                for value in condition.values:
                    if "${" not in value:
                        literal = condition.family.name.startswith("String") and "Equals" in condition.family.name
                        globs.append(Glob(value, ignore_case="IgnoreCase" in condition.family.name,
                                          arn=condition.family.name.startswith("Arn"), literal=literal))
    return globs


def _names(kind: str, account: str, exact: Iterable[str], globs: Sequence[Glob]) -> list[str]:
    """ARNs of `kind` ("role" or "user") in `account`, one per class of the policies' values."""
    base = f"arn:aws:iam::{account}:{kind}/"
    named = [Glob(value, literal=True) for value in exact if value.startswith(base)]
    found = classes([*named, *globs], required=[(Glob(base + "?*", arn=True), True)], prefix=base)
    return sorted(found.values(), key=lambda arn: (len(arn), arn))


def _iam_context(arn: str, account: str, principal_type: str, org: str | None, org_path: str | None,
                 userid: str, username: str | None = None) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": arn, "aws:PrincipalAccount": account, "aws:PrincipalType": principal_type,
        "aws:userid": userid, "kms:CallerAccount": account, "aws:PrincipalIsAWSService": "false",
    }
    if username is not None:
        context["aws:username"] = username
    if org is not None:
        context["aws:PrincipalOrgID"] = org
        if org_path is not None:
            context["aws:PrincipalOrgPaths"] = (org_path,)
    return context


def _absent_for_iam(org: str | None, org_path_known: bool) -> frozenset[str]:
    absent = set(SERVICE_ONLY_KEYS | VPC_KEYS)
    if org is None:
        absent.update({"aws:principalorgid", "aws:principalorgpaths"})
    return frozenset(absent)


def account_callers(account: str, *, org: str | None, org_path: str | None, exact: Iterable[str],
                    globs: Sequence[Glob], where: str) -> list[Caller]:
    """Root, users, role sessions and a federated-user session of one account in one organization class."""
    exact = tuple(exact)
    absent = _absent_for_iam(org, org_path is not None)
    org_words = "" if org is None else (f" in organization {org}" if org != FRESH_ORG else " in another organization")
    out = [Caller(f"the root user of {where}{org_words}", Kind.ROOT, f"arn:aws:iam::{account}:root", account,
                  _iam_context(f"arn:aws:iam::{account}:root", account, "Account", org, org_path, account),
                  absent, org)]
    for user in _names("user", account, exact, globs):
        name = user.rsplit("/", 1)[-1]
        out.append(Caller(f"IAM user {user}{org_words}", Kind.USER, user, account,
                          _iam_context(user, account, "User", org, org_path, "AIDAUNNAMEDUSERID", name), absent, org))
    for role in _names("role", account, exact, globs):
        name = role.rsplit("/", 1)[-1]
        session = f"arn:aws:sts::{account}:assumed-role/{name}/{ROLE_SESSION}"
        out.append(Caller(f"a session of role {role}{org_words}", Kind.ROLE_SESSION, session, account,
                          _iam_context(role, account, "AssumedRole", org, org_path,
                                       f"AROAUNNAMEDROLEID:{ROLE_SESSION}"), absent, org))
    federated_user = f"arn:aws:sts::{account}:federated-user/someone"
    out.append(Caller(f"a federated-user session of {where}{org_words}", Kind.FEDERATED_USER, federated_user, account,
                      _iam_context(federated_user, account, "FederatedUser", org, org_path,
                                   f"{account}:someone"), absent, org))
    return out


def _org_paths(statements: Sequence[Statement], org: str | None, customer: OrgFacts) -> list[str | None]:
    """The organization paths an account of `org` can have, one per class of the aws:PrincipalOrgPaths values the
    policies name. AWS starts a principal's path with its own organization and root ("o-…/r-…/ou-…/")."""
    if org is None:
        return [None]
    globs = [Glob(value, ignore_case="IgnoreCase" in c.family.name,
                  literal=c.family.name.startswith("String") and "Equals" in c.family.name)
             for statement in statements for c in statement.compiled_conditions
             if c.key_lower == "aws:principalorgpaths" for value in c.values if "${" not in value]
    if customer.org_path and org == customer.organization_id:
        globs.append(Glob(customer.org_path, literal=True))
    base = f"{org}/"
    found = classes(globs, required=[(Glob(base + "r-?*/", arn=False), True)], prefix=base + "r-")
    ordered: list[str] = sorted(found.values(), key=lambda path: (len(path), path))
    return list[str | None](ordered)


def _named_sessions(account: str, values: Iterable[str], org: str | None, org_path: str | None,
                    where: str) -> list[Caller]:
    """Sessions a Principal element names by their own ARN (assumed-role or federated-user)."""
    out: list[Caller] = []
    absent = _absent_for_iam(org, org_path is not None)
    for value in sorted(values):
        match = re.fullmatch(rf"arn:aws:sts::{account}:(assumed-role/([^/]+)/.+|federated-user/.+)", value)
        if match is None:
            continue
        if match.group(2):
            role = f"arn:aws:iam::{account}:role/{match.group(2)}"
            context = _iam_context(role, account, "AssumedRole", org, org_path, "AROAUNNAMEDROLEID:named")
            out.append(Caller(f"the role session {value} ({where})", Kind.ROLE_SESSION, value, account, context,
                              absent, org))
        else:
            context = _iam_context(value, account, "FederatedUser", org, org_path, f"{account}:named")
            out.append(Caller(f"the federated-user session {value} ({where})", Kind.FEDERATED_USER, value, account,
                              context, absent, org))
    return out


def outside_accounts(policies: Sequence[PolicyDocument], customer: str, extra: Iterable[str]) -> list[str]:
    statements = [s for p in policies for s in p.statements]
    aws, *_ = _principal_values(statements)
    found: set[str] = set(extra)
    for text in (*aws, *_literals(statements)):
        found.update(ACCOUNT.findall(text))
    found.discard(customer)
    fresh = next(a for a in FRESH_ACCOUNT_CANDIDATES if a not in found and a != customer)
    return [*sorted(found), fresh]


def organizations(policies: Sequence[PolicyDocument], customer_org: str | None) -> list[str | None]:
    statements = [s for p in policies for s in p.statements]
    orgs: set[str] = set()
    for text in _literals(statements):
        orgs.update(ORG.findall(text))
    if customer_org:
        orgs.add(customer_org)
    return [None, *sorted(orgs), FRESH_ORG]


def outside_callers(policies: Sequence[PolicyDocument], *, customer: str, customer_org: OrgFacts,
                    extra_accounts: Iterable[str] = (), labels: dict[str, str] | None = None) -> list[Caller]:
    """Every class of caller outside the customer account."""
    statements = [s for p in policies for s in p.statements]
    aws, services, federated, canonical = _principal_values(statements)
    globs = _arn_globs(statements)
    labels = labels or {}
    out: list[Caller] = []
    for account in outside_accounts(policies, customer, extra_accounts):
        where = labels.get(account, f"account {account}")
        for org in organizations(policies, customer_org.organization_id):
            paths = _org_paths(statements, org, customer_org)
            for path in paths:
                callers = account_callers(account, org=org, org_path=path, exact=aws, globs=globs, where=where)
                callers += _named_sessions(account, aws, org, path, where)
                # an outside role's unique id and an outside user's name are whatever that account made them
                callers = [Caller(c.label + (f" (organization path {path})" if len(paths) > 1 else ""), c.kind, c.arn,
                                  c.account, {k: v for k, v in c.context.items()
                                              if k not in ("aws:userid", "aws:username") or c.kind == Kind.ROOT},
                                  c.absent, c.org) for c in callers]
                out.extend(callers)
    for service in sorted({*services, FRESH_SERVICE}):
        out.append(Caller(f"the AWS service {service}", Kind.SERVICE, service, None,
                          {"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": service},
                          frozenset(VPC_KEYS | {"aws:principalarn", "aws:principalaccount", "aws:principalorgid",
                                                "aws:principalorgpaths", "aws:userid", "aws:username",
                                                "kms:calleraccount"})))
    fresh_federated = "arn:aws:iam::000011112222:oidc-provider/unnamed.example.com"
    for provider in sorted({*federated, fresh_federated}):
        out.append(Caller(f"the federated identity provider {provider}", Kind.FEDERATED, provider, None, {},
                          frozenset(VPC_KEYS | SERVICE_ONLY_KEYS | {"aws:principalarn", "aws:principalaccount",
                                                                    "aws:principalorgid", "aws:principalorgpaths",
                                                                    "kms:calleraccount"})))
    for user in sorted({*canonical, FRESH_CANONICAL}):
        out.append(Caller(f"the S3 canonical user {user[:12]}…", Kind.CANONICAL, user, None, {},
                          frozenset(VPC_KEYS | SERVICE_ONLY_KEYS | {"aws:principalarn", "aws:principalaccount",
                                                                    "aws:principalorgid", "aws:principalorgpaths"})))
    out.append(Caller("an anonymous (unauthenticated) caller", Kind.ANONYMOUS, "*", None, {},
                      frozenset(VPC_KEYS | SERVICE_ONLY_KEYS | {
                          "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
                          "aws:principaltype", "aws:userid", "aws:username", "kms:calleraccount",
                          "aws:principalisawsservice"})))
    return out


def customer_callers(policies: Sequence[PolicyDocument], *, customer: str, org: OrgFacts,
                     exclude: Iterable[str] = ()) -> list[Caller]:
    """Classes of callers inside the customer account (other than `exclude`d role ARNs)."""
    statements = [s for p in policies for s in p.statements]
    aws, *_ = _principal_values(statements)
    excluded = set(exclude)
    where = f"the customer account {customer}"
    callers = account_callers(customer, org=org.organization_id, org_path=org.org_path, exact=aws,
                              globs=_arn_globs(statements), where=where)
    callers += _named_sessions(customer, aws, org.organization_id, org.org_path, where)
    return [c for c in callers if c.context.get("aws:PrincipalArn") not in excluded]
