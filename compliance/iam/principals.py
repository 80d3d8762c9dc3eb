"""Who is calling, and whether a Principal / NotPrincipal element names them.

From the IAM User Guide ("AWS JSON policy elements: Principal" and "NotPrincipal"):

* An account id and ``arn:aws:iam::ID:root`` "behave the same way. Both delegate permissions to
  the account"; the account's own identity-based policies must then allow the request.
* A role ARN matches the sessions of that role, but "the effective permissions for the principal
  are limited by any policy types that limit permissions for the role" (boundaries, session policies).
* ``"*"`` and ``{"AWS": "*"}`` are equivalent and match everyone, anonymous callers included.
* "You cannot use a wildcard to match part of a principal name or ARN."
* For NotPrincipal with Deny, "AWS might validate the account first, then the role, and then
  the assumed-role user": a caller escapes the deny only when its account, its role (for a
  session) and its own ARN are all listed. NotPrincipal with Allow "allows all principals
  except the one named": naming any of the caller's identities excludes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache

from compliance.iam.variables import ContextValue

PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")

_ACCOUNT_ID = re.compile(r"\d{12}")
_IAM_ARN = re.compile(r"arn:([^:]+):(iam|sts)::(\d{12}):(.+)", re.DOTALL)
_CANONICAL_USER = re.compile(r"[0-9a-f]{64}")


class CallerKind(StrEnum):
    ROOT = "root"
    USER = "user"
    ROLE = "role"
    ROLE_SESSION = "role session"
    FEDERATED_USER = "federated user session"
    SERVICE = "service"
    FEDERATED = "federated identity"
    CANONICAL_USER = "canonical user"
    ANONYMOUS = "anonymous"


IAM_KINDS = frozenset(
    {CallerKind.ROOT, CallerKind.USER, CallerKind.ROLE, CallerKind.ROLE_SESSION, CallerKind.FEDERATED_USER}
)
SESSION_KINDS = frozenset({CallerKind.ROLE_SESSION, CallerKind.FEDERATED_USER})
SERVICE_LINKED_PREFIX = "AWSServiceRoleFor"


class Grant(IntEnum):
    """How a resource-based policy statement named the caller; higher grants are stronger.

    ACCOUNT delegates to the caller's IAM policies; ROLE is limited by boundaries and session
    policies; DIRECT (the caller's own user/session ARN, ``*``, a service) stands alone.
    """

    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


@dataclass(frozen=True, slots=True)
class Principal:
    """A normalised Principal or NotPrincipal element. ``"*"`` is stored as ``aws=("*",)``."""

    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()

    @property
    def is_everyone(self) -> bool:
        return "*" in self.aws

    def items(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        pairs = zip(PRINCIPAL_TYPES, (self.aws, self.service, self.federated, self.canonical_user), strict=True)
        return tuple((name, values) for name, values in pairs if values)

    def to_json(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.items()}


@lru_cache(maxsize=4096)
def account_of_principal_value(value: str) -> str | None:
    """``123456789012`` or ``arn:aws:iam::123456789012:root`` → the account id, else None."""
    if _ACCOUNT_ID.fullmatch(value):
        return value
    match = _IAM_ARN.fullmatch(value)
    if match and match.group(2) == "iam" and match.group(4) == "root":
        return match.group(3)
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """The request's principal, classified once per request."""

    arn: str
    kind: CallerKind
    account: str | None
    role_arn: str | None = None
    role_name: str | None = None
    user_arn: str | None = None
    """For a federated user session (GetFederationToken), the IAM user ARN of the same name."""

    @property
    def is_iam(self) -> bool:
        return self.kind in IAM_KINDS

    @property
    def is_session(self) -> bool:
        return self.kind in SESSION_KINDS

    @property
    def is_service_linked_role(self) -> bool:
        """Service-linked roles live under the ``/aws-service-role/`` path and are named
        ``AWSServiceRoleFor...`` (the name alone identifies a session when no ``aws:PrincipalArn`` is given)."""
        if self.role_arn is None:
            return False
        return ":role/aws-service-role/" in self.role_arn or (self.role_name or "").startswith(SERVICE_LINKED_PREFIX)


def classify_caller(principal: str, account: str | None, context: Mapping[str, ContextValue]) -> Caller:
    """Classify the request's principal; ``aws:PrincipalArn`` (lower-case key) names a session's role."""
    role_arn = context.get("aws:principalarn")
    return _classify(principal, account, role_arn if isinstance(role_arn, str) else None)


@lru_cache(maxsize=4096)
def _classify(principal: str, account: str | None, principal_arn: str | None) -> Caller:
    if principal in ("*", "", "anonymous"):
        return Caller(principal, CallerKind.ANONYMOUS, None)
    match = _IAM_ARN.fullmatch(principal)
    if match is None:
        return Caller(principal, _kind_without_arn(principal), None)
    partition, service, arn_account, resource = match.groups()
    account = account or arn_account
    if service == "iam" and resource == "root":
        return Caller(principal, CallerKind.ROOT, account)
    if service == "iam" and resource.startswith("user/"):
        return Caller(principal, CallerKind.USER, account)
    if service == "iam" and resource.startswith("role/"):
        return Caller(principal, CallerKind.ROLE, account, principal, resource.rsplit("/", 1)[-1])
    if service == "sts" and resource.startswith("assumed-role/"):
        parts = resource.split("/")
        role_name = parts[1] if len(parts) > 1 else ""
        role_arn = principal_arn
        if role_arn is None or ":role/" not in role_arn:
            role_arn = f"arn:{partition}:iam::{arn_account}:role/{role_name}"
        return Caller(principal, CallerKind.ROLE_SESSION, account, role_arn, role_name)
    if service == "sts" and resource.startswith("federated-user/"):
        user_arn = f"arn:{partition}:iam::{arn_account}:user/{resource.split('/', 1)[1]}"
        return Caller(principal, CallerKind.FEDERATED_USER, account, user_arn=user_arn)
    if service == "iam" and (":saml-provider/" in principal or ":oidc-provider/" in principal):
        return Caller(principal, CallerKind.FEDERATED, None)
    return Caller(principal, CallerKind.USER, account)


def _kind_without_arn(principal: str) -> CallerKind:
    """A principal that is not an IAM or STS ARN: an S3 canonical user, an AWS service, or a federated identity
    (a web identity provider such as cognito-identity.amazonaws.com, or anything else)."""
    if _CANONICAL_USER.fullmatch(principal):
        return CallerKind.CANONICAL_USER
    if principal.endswith(".amazonaws.com") and principal != "cognito-identity.amazonaws.com":
        return CallerKind.SERVICE
    if principal.endswith(".amazonaws.com.cn"):
        return CallerKind.SERVICE
    return CallerKind.FEDERATED


def _names_role(value: str, caller: Caller) -> bool:
    if caller.role_arn is None or caller.role_name is None:
        return False
    if value == caller.role_arn:
        return True
    match = _IAM_ARN.fullmatch(value)
    if not match or match.group(2) != "iam" or not match.group(4).startswith("role/"):
        return False
    role_name = match.group(4).rsplit("/", 1)[-1]
    known_path = caller.role_arn.split(":role/", 1)[-1] != caller.role_name
    return not known_path and match.group(3) == caller.account and role_name == caller.role_name


def _aws_grant(value: str, caller: Caller) -> Grant | None:
    if value == "*":
        return Grant.DIRECT
    if value == caller.arn:
        # "Resource-based policies that grant permissions to an IAM role ARN are limited by an implicit
        # deny in a permissions boundary or session policy", also when the caller is named by the role ARN.
        return Grant.ROLE if caller.kind is CallerKind.ROLE else Grant.DIRECT
    if caller.is_iam and account_of_principal_value(value) == caller.account:
        return Grant.ACCOUNT
    if _names_role(value, caller):
        return Grant.ROLE
    if caller.user_arn is not None and value == caller.user_arn:
        # "if a resource-based policy grants permission to the ARN of the IAM user who federated, then
        # requests made by the federated user during the session are limited by an implicit deny in a
        # permission boundary or session policy" (Policy evaluation logic).
        return Grant.ROLE
    return None


def _names_itself(element: Principal, caller: Caller) -> bool:
    """Does ``element`` list the caller's own ARN (or ``*``, or its service/federated/canonical id)?"""
    if "*" in element.aws or caller.arn in element.aws or caller.arn in element.canonical_user:
        return True
    folded = caller.arn.lower()
    return any(value.lower() == folded for value in element.service + element.federated)


def principal_grant(element: Principal, caller: Caller) -> Grant | None:
    """The strongest way ``element`` names ``caller``, or None when it does not."""
    best: Grant | None = None
    for value in element.aws:
        grant = _aws_grant(value, caller)
        if grant is Grant.DIRECT:
            return grant
        if grant is not None and (best is None or grant > best):
            best = grant
    folded = caller.arn.lower()
    if any(value.lower() == folded for value in element.service + element.federated):
        return Grant.DIRECT
    if caller.arn in element.canonical_user:
        return Grant.DIRECT
    return best


def not_principal_applies(element: Principal, caller: Caller, *, deny: bool, has_boundary: bool = False) -> bool:
    """Does a NotPrincipal statement cover ``caller``?

    With Allow it covers callers none of whose identities (account, role, own ARN) are listed.
    With Deny it covers callers with any identity not listed, and — "A NotPrincipal element with
    a Deny effect will always deny any IAM principal that has a permissions boundary policy
    attached" (Permissions boundaries for IAM entities) — every caller with a boundary.
    """
    if not deny:
        return principal_grant(element, caller) is None
    if has_boundary and caller.is_iam:
        return True
    if element.is_everyone:
        return False
    account_listed = caller.account is not None and any(
        account_of_principal_value(value) == caller.account for value in element.aws
    )
    if caller.kind is CallerKind.ROOT:
        return not account_listed
    if not _names_itself(element, caller):
        return True
    if caller.is_iam and not account_listed:
        return True
    return caller.kind is CallerKind.ROLE_SESSION and not any(_names_role(v, caller) for v in element.aws)
