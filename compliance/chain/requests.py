"""The requests of the export chain, built the way AWS would present them to the policy engine.

Gate by gate: the vendor's session calls sts:AssumeRole (and sts:TagSession when it passes SSO
session tags) on the customer's role; the role session calls s3:PutObject under the prefix with the headers the
vendor is declared to send; S3 calls kms:GenerateDataKey (and kms:Decrypt for multipart uploads) on the bucket key
on the session's behalf.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from compliance.chain.vendor_write import WriteHeaders, declared_headers
from compliance.config import Chain
from compliance.iam import PolicyDocument, PolicyKind, Request, parse_policy
from compliance.model import Finding
from compliance.targets.snapshot import Encryption, OrgContext, RoleSnapshot

VENDOR_SESSION_NAME = "vendor-export"
ROLE_SESSION_NAME = "export-session"
SAMPLE_OBJECT = "2026/11/28/audit-trail-export.pdf"
UNPUBLISHED_IP = "192.0.2.10"
"""Stands for "an address the vendor never published" (TEST-NET-1, RFC 5737)."""
TLS_VERSION = "1.2"
ACL_OWNER_FULL_CONTROL = "bucket-owner-full-control"

VENDOR_POLICY_ASSUMPTION = (
    "The vendor's own identity policy lives in the vendor's account, which the customer cannot read; the "
    "evaluation assumes it allows sts:AssumeRole and sts:TagSession on the role. If AssumeRole still fails "
    "with every customer-side check passing, ask the vendor to confirm that grant."
)
OTHER_PRINCIPAL_ASSUMPTION = (
    "Every other principal is evaluated with an identity policy that allows everything, the correct ExternalId "
    "(AWS does not treat it as a secret) and the configured session tags: the worst case."
)


@dataclass(frozen=True, slots=True)
class Caller:
    """An identity making a request: its ARN, account and the principal context keys AWS adds."""

    arn: str
    account: str | None
    label: str
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)


_ACCOUNT_ID = re.compile(r"\d{12}")
_IAM_OR_STS_ARN = re.compile(r"arn:([^:]+):(iam|sts)::(\d{12}):(.+)", re.DOTALL)
_SERVICE_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")
_FEDERATED_SERVICES = frozenset({"cognito-identity.amazonaws.com"})


def principal_caller(principal: str, label: str, session_name: str = VENDOR_SESSION_NAME) -> Caller:
    """The caller that acts *as* `principal`, for every form a Principal element accepts.

    IAM User Guide, "AWS JSON policy elements: Principal": an account is named by its 12-digit id or
    `arn:aws:iam::ID:root` (both "delegate permissions to the account", so its root user stands for it);
    a role acts through one of its sessions; `"*"` / `{"AWS": "*"}` is anyone, anonymous callers included;
    S3 also accepts canonical user ids; services and federated providers (OIDC, SAML) call as themselves.
    An assumed-role session or federated user ARN calls as that session. A value of none of these forms
    (for example the unique id AWS shows for a deleted principal) is kept as an opaque caller: it never
    raises, and it matches only a Principal that names it literally.
    """
    principal = principal.strip()
    if principal in ("*", "anonymous", ""):
        return Caller("*", None, label)
    if _ACCOUNT_ID.fullmatch(principal):
        principal = f"arn:aws:iam::{principal}:root"
    if principal.endswith(_SERVICE_SUFFIXES) and principal not in _FEDERATED_SERVICES:
        return Caller(principal, None, label, {"aws:PrincipalIsAWSService": "true",
                                               "aws:PrincipalServiceName": principal})
    match = _IAM_OR_STS_ARN.fullmatch(principal)
    if match is None:
        # canonical user ids, web identity providers (accounts.google.com, cognito-identity.amazonaws.com, ...),
        # unique ids of deleted principals: no account, no IAM principal context keys
        return Caller(principal, None, label)
    partition, service, account, resource = match.groups()
    if service == "iam" and resource.startswith("role/"):
        name = resource.rsplit("/", 1)[-1]
        arn = f"arn:{partition}:sts::{account}:assumed-role/{name}/{session_name}"
        return Caller(arn, account, label, {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account,
                                            "aws:PrincipalType": "AssumedRole"})
    if service == "sts" and resource.startswith("assumed-role/"):
        role_arn = f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
        return Caller(principal, account, label, {"aws:PrincipalArn": role_arn, "aws:PrincipalAccount": account,
                                                  "aws:PrincipalType": "AssumedRole"})
    if service == "sts" and resource.startswith("federated-user/"):
        return Caller(principal, account, label, {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account,
                                                  "aws:PrincipalType": "FederatedUser"})
    if service == "iam" and resource.startswith(("saml-provider/", "oidc-provider/")):
        return Caller(principal, None, label)  # a federated identity provider: its users call through it
    kind = "Account" if resource == "root" else "User"
    return Caller(principal, account, label, {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account,
                                              "aws:PrincipalType": kind})


def vendor_caller(chain: Chain) -> Caller:
    return principal_caller(chain.vendor.principal, f"the vendor ({chain.vendor.name})")


def session_caller(chain: Chain, role: RoleSnapshot, session_tags: Mapping[str, str] | None = None, *,
                   org: OrgContext | None = None) -> Caller:
    """The role session the vendor gets. Role tags and session tags become its principal tags; with `org`, the
    organization keys of the customer's account (aws:PrincipalOrgID, aws:PrincipalOrgPaths). ChainEvaluator
    adds those keys to every request it decides anyway (compliance/chain/org_context.py)."""
    account = chain.aws.account
    arn = f"arn:aws:sts::{account}:assumed-role/{role.name}/{ROLE_SESSION_NAME}"
    context: dict[str, str | tuple[str, ...]] = {
        "aws:PrincipalArn": role.arn, "aws:PrincipalAccount": account, "aws:PrincipalType": "AssumedRole",
        **(org.principal_keys() if org is not None and org.account_id == account else {}),
    }
    tags = {**role.tags, **(chain.vendor.session_tags if session_tags is None else session_tags)}
    for key, value in tags.items():
        context[f"aws:PrincipalTag/{key}"] = value
    return Caller(arn, account, f"the role session {arn}", context)


def vendor_ips(chain: Chain) -> tuple[str, ...]:
    """Representative addresses of every published vendor CIDR: first, middle and last."""
    out: list[str] = []
    for cidr in chain.vendor.source_ips:
        net = ipaddress.ip_network(cidr, strict=False)
        for address in (net[0], net[net.num_addresses // 2], net[-1]):
            if str(address) not in out:
                out.append(str(address))
    return tuple(out)


def evaluation_ips(chain: Chain) -> tuple[str, ...]:
    """The source addresses to evaluate the vendor from: its published ones, else an unpublished one."""
    return vendor_ips(chain) or (UNPUBLISHED_IP,)


def external_id_unavailable(chain: Chain) -> Finding:
    """The ERROR of a check that needs the ExternalId when its environment variable is empty."""
    return Finding.error(f"The ExternalId is not available ({chain.vendor.external_id_env} is empty).")


def _now() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp()))}


def assume_request(chain: Chain, role_arn: str, *, caller: Caller, external_id: str | None,
                   source_ip: str | None, tags: Mapping[str, str], action: str = "sts:AssumeRole") -> Request:
    """AssumeRole (or the TagSession authorisation within it) as `caller` makes it."""
    context: dict[str, str | tuple[str, ...]] = {**caller.context, "aws:SecureTransport": "true", **_now(),
                                                 "sts:RoleSessionName": VENDOR_SESSION_NAME}
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    if source_ip is not None:
        context["aws:SourceIp"] = source_ip
    if tags:
        for key, value in tags.items():
            context[f"aws:RequestTag/{key}"] = value
        context["aws:TagKeys"] = tuple(tags)
    return Request(caller.arn, caller.account, action, role_arn, chain.aws.account, context)


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def sample_key(chain: Chain) -> str:
    return chain.aws.prefix + SAMPLE_OBJECT


def put_context(chain: Chain, encryption: Encryption | None, key_arn: str | None, *, secure: bool = True,
                acl: str | None = None, source_ip: str | None = None,
                headers: WriteHeaders | None = None) -> dict[str, str | tuple[str, ...]]:
    """The condition keys of the intended write: TLS, and the SSE, key-id and ACL headers the vendor is declared
    to send (`vendor.sse_header`, `kms_key_id_header`, `acl`, resolved by `declared_headers` against the bucket's
    default encryption and `key_arn`). `headers` replaces the declared headers; `acl` overrides the declared ACL."""
    sent = headers if headers is not None else declared_headers(chain, encryption, key_arn)
    if acl is not None:
        sent = replace(sent, acl=acl)
    context: dict[str, str | tuple[str, ...]] = {
        "aws:SecureTransport": "true" if secure else "false", **_now(),
        "aws:RequestedRegion": chain.aws.region, "aws:ResourceAccount": chain.aws.account,
        "s3:signatureversion": "AWS4-HMAC-SHA256", "s3:authType": "REST-HEADER", "s3:TlsVersion": TLS_VERSION,
        **sent.context(),
    }
    if source_ip is not None:
        context["aws:SourceIp"] = source_ip
    return context


def put_request(chain: Chain, caller: Caller, bucket: str, key: str,
                context: Mapping[str, str | tuple[str, ...]], *, action: str = "s3:PutObject") -> Request:
    owner = chain.aws.account if bucket == chain.aws.bucket else None
    return Request(caller.arn, caller.account, action, object_arn(bucket, key), owner,
                   {**caller.context, **context})


def kms_request(chain: Chain, caller: Caller, action: str, key_arn: str, key: str, *,
                bucket_key: bool) -> Request:
    """S3 calling KMS on the session's behalf (forward access session). The encryption context S3 passes is
    aws:s3:arn = the object ARN, or the bucket ARN when an S3 Bucket Key is used (S3 User Guide, "Reducing the cost
    of SSE-KMS with Amazon S3 Bucket Keys" and "Using server-side encryption with AWS KMS keys", Encryption context)."""
    bucket = chain.aws.bucket
    context: dict[str, str | tuple[str, ...]] = {
        **caller.context, "aws:SecureTransport": "true", **_now(), "aws:ViaAWSService": "true",
        "aws:RequestedRegion": chain.aws.region, "aws:ResourceAccount": chain.aws.account,
        "kms:ViaService": f"s3.{chain.aws.region}.amazonaws.com", "kms:CallerAccount": chain.aws.account,
        "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}" if bucket_key else object_arn(bucket, key),
        "kms:EncryptionContextKeys": ("aws:s3:arn",),
    }
    return Request(caller.arn, caller.account, action, key_arn, chain.aws.account, context)


def vendor_identity_policy(role_arn: str) -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": [{
        "Sid": "AssumedVendorGrant", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Resource": role_arn}]}, kind=PolicyKind.IDENTITY, name="vendor identity policy (assumed)")


def allow_all_policy() -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": [{
        "Sid": "WorstCase", "Effect": "Allow", "Action": "*", "Resource": "*"}]},
        kind=PolicyKind.IDENTITY, name="caller identity policy (worst case: allows everything)")


def other_principals(chain: Chain, role_arn: str) -> tuple[Caller, ...]:
    """Principals that must never assume the role, whatever their own permissions."""
    vendor = chain.vendor.account
    customer = chain.aws.account
    stranger = "444455556666" if "444455556666" not in (vendor, customer) else "555566667777"
    vendor_role = chain.vendor.principal.rsplit("/", 1)[-1]
    return (
        principal_caller(f"arn:aws:iam::{stranger}:root", f"another account's root ({stranger})"),
        principal_caller(f"arn:aws:iam::{stranger}:role/{vendor_role}",
                         f"a role with the vendor's role name in another account ({stranger})"),
        principal_caller(f"arn:aws:iam::{stranger}:user/attacker", f"an IAM user in another account ({stranger})"),
        principal_caller(f"arn:aws:iam::{vendor}:role/OtherVendorService",
                         f"another role in the vendor's account ({vendor})"),
        principal_caller(f"arn:aws:iam::{vendor}:user/vendor-employee",
                         f"an IAM user in the vendor's account ({vendor})"),
        principal_caller(f"arn:aws:iam::{vendor}:root", f"the vendor account's root ({vendor})"),
        principal_caller(f"arn:aws:iam::{customer}:role/SomeWorkloadRole",
                         f"another role in the customer's account ({customer})"),
        principal_caller("*", "an anonymous caller"),
        principal_caller("lambda.amazonaws.com", "an AWS service (lambda.amazonaws.com)"),
    )
