"""Hypothesis strategies for the chain's negative space (must be denied) and positive space (must be allowed).

Values are drawn from the user's own policies as well as at random: every account id, principal and
condition value found in the trust, role, bucket and key policies is fed back in, so a hole that needs
one specific value (an Allow for "*" under `aws:Referer = X`) is found within a few examples.
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from hypothesis import strategies as st

from compliance.chain.requests import (
    Caller,
    assume_request,
    object_arn,
    principal_caller,
    put_context,
    session_caller,
    vendor_caller,
)
from compliance.chain.view import ChainView, SourcedPolicy
from compliance.iam import Effect, PolicyDocument, Request
from compliance.targets.snapshot import Encryption, KmsKey

ACCOUNT_RE = re.compile(r"\b\d{12}\b")
KEY_ALPHABET = string.ascii_letters + string.digits + "!-_.*'()/ "
NAME_ALPHABET = string.ascii_letters + string.digits + "+=,.@_-"
# Context keys a caller cannot choose: AWS sets them from who and where the caller really is.
NOT_ATTACKER_CONTROLLED = frozenset({
    "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
    "aws:principaltype", "aws:principalisawsservice", "aws:principalservicename", "aws:userid", "aws:username",
    "aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip", "aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid",
    "aws:sourceorgpaths", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast", "aws:viaawsservice",
    "kms:calleraccount", "kms:viaservice", "aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths",
    # set by S3 only for a request that comes through an access point, never on a direct bucket request
    "s3:dataaccesspointarn", "s3:dataaccesspointaccount", "s3:accesspointnetworkorigin", "s3:resourceaccount",
})
SESSION_ACTIONS = (
    "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectRetention",
    "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
    "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning",
    "s3:ListBucket", "s3:ListAllMyBuckets", "s3:PutObjectTagging", "s3:RestoreObject", "s3:DeleteBucket",
    "s3:PutBucketAcl", "s3:PutEncryptionConfiguration", "s3:PutReplicationConfiguration",
    "iam:PassRole", "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey", "sts:AssumeRole", "sts:TagSession", "kms:Encrypt", "kms:ScheduleKeyDeletion",
    "kms:PutKeyPolicy", "kms:DisableKey", "kms:CreateGrant", "kms:ReEncryptFrom", "organizations:LeaveOrganization",
    "ec2:RunInstances", "lambda:InvokeFunction", "cloudtrail:StopLogging", "logs:DeleteLogGroup",
)
STRANGER_ACTIONS = (
    "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl",
    "s3:PutObjectRetention", "s3:BypassGovernanceRetention", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
    "s3:PutBucketObjectLockConfiguration", "s3:ListBucket", "s3:GetBucketPolicy", "s3:PutBucketVersioning",
)
BUCKET_ACTIONS = frozenset({"s3:putbucketpolicy", "s3:deletebucketpolicy", "s3:putbucketobjectlockconfiguration",
                            "s3:listbucket", "s3:getbucketpolicy", "s3:putbucketversioning", "s3:deletebucket",
                            "s3:putlifecycleconfiguration", "s3:putbucketacl", "s3:putencryptionconfiguration",
                            "s3:putreplicationconfiguration"})


class Judge(Enum):
    """Which policies decide a probe (see ChainEvaluator and the fuzz check's judge)."""

    TRUST_VENDOR = "trust-vendor"
    """The trust policy, for the vendor's principal (its identity policy assumed to allow)."""
    TRUST_OTHER = "trust-other"
    """The trust policy, for any other principal."""
    SESSION = "session"
    """The role session's policies: identity, boundary, bucket and key policies."""
    STRANGER = "stranger"
    """The bucket policy, for another principal (a worst-case identity policy when in another account)."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One generated request and how to judge it."""

    family: str
    request: Request
    judge: Judge


@dataclass(frozen=True, slots=True)
class Harvest:
    """Values found in the chain's own policies."""

    accounts: tuple[str, ...]
    principals: tuple[str, ...]
    conditions: tuple[tuple[str, tuple[str, ...]], ...]
    actions: tuple[str, ...] = ()


def harvest(policies: list[SourcedPolicy | None]) -> Harvest:
    accounts: set[str] = set()
    principals: set[str] = set()
    conditions: dict[str, set[str]] = {}
    actions: set[str] = set()
    for sourced in policies:
        if sourced is None:
            continue
        document: PolicyDocument = sourced.document
        for statement in document.statements:
            if statement.effect is Effect.ALLOW:
                actions.update(a for a in statement.actions or () if "*" not in a and "?" not in a)
                actions.update(a for a in (*SESSION_ACTIONS, *STRANGER_ACTIONS) if statement.matches_action(a))
            for element in (statement.principal, statement.not_principal):
                if element is not None:
                    for value in element.aws:
                        if value != "*":
                            principals.add(value)
                        accounts.update(ACCOUNT_RE.findall(value))
            for condition in statement.conditions:
                conditions.setdefault(condition.key, set()).update(condition.values)
                for value in condition.values:
                    accounts.update(ACCOUNT_RE.findall(value))
    return Harvest(tuple(sorted(accounts)), tuple(sorted(principals)),
                   tuple((k, tuple(sorted(v))) for k, v in sorted(conditions.items())), tuple(sorted(actions)))


def _accounts(harvested: Harvest, *, exclude: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    known = [a for a in (*harvested.accounts, "444455556666", "123456789012") if a not in exclude]
    random = st.text("0123456789", min_size=12, max_size=12).filter(lambda a: a not in exclude)
    return st.sampled_from(known) | random if known else random


def other_principals(view: ChainView, harvested: Harvest, *, include_vendor: bool = False,
                     include_own_root: bool = True) -> st.SearchStrategy[Caller]:
    """Any principal but the role (and the vendor's, unless included): harvested ARNs, roots, roles, users,
    anonymous callers and services. The customer's own root user has every permission in its account unless
    explicitly denied, so it is left out where only a resource policy is judged (`include_own_root=False`)."""
    chain = view.chain
    vendor = chain.vendor.principal
    role_arn = view.role().arn
    names = st.sampled_from(["ExportService", "Admin", "OrganizationAccountAccessRole", "attacker"]) | st.text(
        NAME_ALPHABET, min_size=1, max_size=8)
    accounts = _accounts(harvested) | st.sampled_from([chain.vendor.account, chain.aws.account])

    def build(kind: str, account: str, name: str) -> str:
        return {"root": f"arn:aws:iam::{account}:root", "role": f"arn:aws:iam::{account}:role/{name}",
                "user": f"arn:aws:iam::{account}:user/{name}"}[kind]

    generated = st.builds(build, st.sampled_from(["root", "role", "user"]), accounts,
                          names | st.just(vendor.rsplit("/", 1)[-1]))
    known = st.sampled_from(list(harvested.principals)) if harvested.principals else st.nothing()
    special = st.sampled_from(["*", "lambda.amazonaws.com", "ec2.amazonaws.com", "s3.amazonaws.com"])
    excluded = (role_arn,) if include_vendor else (vendor, role_arn)
    if not include_own_root:
        excluded = (*excluded, f"arn:aws:iam::{chain.aws.account}:root", chain.aws.account)
    arns = (generated | known | special).filter(lambda p: p not in excluded)
    return arns.map(lambda p: principal_caller(p, f"principal {p}"))


def attacker_context(harvested: Harvest) -> st.SearchStrategy[dict[str, str | tuple[str, ...]]]:
    """Context keys a caller controls, with values taken from the policies' own conditions or made up."""
    pairs = [(k, v) for k, v in harvested.conditions if k.lower() not in NOT_ATTACKER_CONTROLLED]
    common = ["aws:UserAgent", "aws:Referer", "s3:x-amz-acl", "s3:x-amz-server-side-encryption",
              "aws:SecureTransport", "aws:SourceIp", "s3:prefix"]
    keys = [*(k for k, _ in pairs), *common]
    values_by_key = dict(pairs)

    def value_for(key: str) -> st.SearchStrategy[str]:
        if key.lower() == "aws:sourceip":
            return st.ip_addresses(v=4).map(str)
        known = [*values_by_key.get(key, ()), "true", "false", "bucket-owner-full-control", "aws:kms"]
        return st.sampled_from(known) | st.text(string.printable.strip(), max_size=12)

    entry = st.sampled_from(keys).flatmap(lambda k: value_for(k).map(lambda v: (k, v)))
    exact = [(k, v) for k, values in pairs for v in values]
    from_policies = st.lists(st.sampled_from(exact), max_size=len(exact), unique=True) if exact else st.just([])
    return st.tuples(from_policies, st.lists(entry, max_size=2)).map(lambda parts: dict([*parts[1], *parts[0]]))


def _key_outside(prefix: str) -> st.SearchStrategy[str]:
    return st.text(KEY_ALPHABET, min_size=1, max_size=40).filter(lambda k: not k.startswith(prefix))


def _key_inside(prefix: str) -> st.SearchStrategy[str]:
    return st.text(KEY_ALPHABET, min_size=1, max_size=40).map(lambda k: prefix + k)


class ProbeFamily(NamedTuple):
    """A family of requests that must all be denied: its label (kept in the evidence) and how to draw one."""

    label: str
    strategy: st.SearchStrategy[Probe]


def negative_probes(view: ChainView, harvested: Harvest) -> list[ProbeFamily]:
    """Families of requests that must all be denied: becoming the role, the role session's other requests, and
    other principals on the bucket."""
    session = _SessionProbes.of(view)
    return [*_trust_families(view, harvested), *session.families(harvested),
            _stranger_family(view, harvested)]


def _trust_families(view: ChainView, harvested: Harvest) -> list[ProbeFamily]:
    """Assuming the role as anyone but the vendor, as the vendor with a wrong ExternalId, or from elsewhere."""
    chain = view.chain
    role = view.role()
    external_id = chain.external_id()
    tags = chain.vendor.session_tags
    ips = st.ip_addresses(v=4).map(str)

    def assume(caller: Caller, ext: str | None, ip: str, family: str, judge: Judge) -> Probe:
        return Probe(family, assume_request(chain, role.arn, caller=caller, external_id=ext, source_ip=ip,
                                            tags=tags), judge)

    families = [ProbeFamily("another principal assumes the role (with the right ExternalId)", st.builds(
        lambda c, ip: assume(c, external_id, ip, "another principal assumes the role", Judge.TRUST_OTHER),
        other_principals(view, harvested), ips))]
    if external_id:
        variants = st.sampled_from([external_id.swapcase(), external_id[:-1], external_id + "x", "",
                                    external_id.upper(), external_id.lower()])
        wrong = (variants | st.text(NAME_ALPHABET + ":/", max_size=40)).filter(lambda e: e != external_id)
        families.append(ProbeFamily("the vendor assumes the role with a wrong or missing ExternalId", st.builds(
            lambda e, ip: assume(vendor_caller(chain), e, ip, "the vendor with a wrong or missing ExternalId",
                                 Judge.TRUST_VENDOR), st.none() | wrong, ips)))
    nets = [ipaddress.ip_network(c, strict=False) for c in chain.vendor.source_ips]
    trust_has_ip = any(c.key.lower() == "aws:sourceip" for s in view.trust().document.statements
                       for c in s.conditions)
    if nets and trust_has_ip and external_id:
        outside = ips.filter(lambda a: not any(ipaddress.ip_address(a) in n for n in nets if n.version == 4))
        families.append(ProbeFamily("the vendor from an address outside its published ranges", outside.map(
            lambda ip: assume(vendor_caller(chain), external_id, ip, "the vendor from an unpublished address",
                              Judge.TRUST_VENDOR))))
    return families


class Aim(Enum):
    """What a role session's other action is aimed at, drawn with the action."""

    BUCKET = "bucket"
    KEY = "key"
    IAM = "iam"


@dataclass(frozen=True, slots=True)
class _SessionProbes:
    """Requests the vendor's role session makes beyond its one intended write."""

    view: ChainView
    session: Caller
    encryption: Encryption | None
    key: KmsKey | None

    @classmethod
    def of(cls, view: ChainView) -> _SessionProbes:
        encryption = view.bucket().encryption.require()
        return cls(view, session_caller(view.chain, view.role()), encryption, view.kms_key())

    def families(self, harvested: Harvest) -> list[ProbeFamily]:
        chain = self.view.chain
        prefix = chain.aws.prefix
        tails = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
        stems = st.sampled_from([chain.aws.bucket, "company-", "audit-", "logs-"])
        other_buckets = st.builds(lambda stem, tail: f"{stem}{tail}", stems, tails).filter(
            lambda b: b != chain.aws.bucket)
        return [
            ProbeFamily("the role session writes outside the prefix", _key_outside(prefix).map(
                lambda k: self.s3("s3:PutObject", chain.aws.bucket, k, True, "a write outside the prefix"))),
            ProbeFamily("the role session writes to another bucket", st.builds(
                lambda b, k: self.s3("s3:PutObject", b, k, True, "a write to another bucket"),
                other_buckets, _key_inside(prefix))),
            ProbeFamily("the role session writes without TLS", _key_inside(prefix).map(
                lambda k: self.s3("s3:PutObject", chain.aws.bucket, k, False,
                                  "a write with aws:SecureTransport=false"))),
            ProbeFamily("the role session calls anything else", st.builds(
                self.any_action, _unintended_actions(harvested), st.sampled_from(list(Aim)),
                _key_inside(prefix))),
        ]

    def s3(self, action: str, bucket_name: str, object_key: str, secure: bool, family: str) -> Probe:
        chain, session = self.view.chain, self.session
        context = put_context(chain, self.encryption, self.key.arn if self.key else None, secure=secure)
        resource = (f"arn:aws:s3:::{bucket_name}" if action.lower() in BUCKET_ACTIONS
                    else object_arn(bucket_name, object_key))
        owner = chain.aws.account if bucket_name == chain.aws.bucket else None
        return Probe(family, Request(session.arn, session.account, action, resource, owner,
                                     {**session.context, **context}), Judge.SESSION)

    def any_action(self, action: str, aim: Aim, object_key: str) -> Probe:
        """``action`` on the bucket key (a KMS action aimed at the key), on a role (an IAM/STS action not aimed at
        the bucket: another role when aimed at the key), or else on the bucket."""
        chain, session, key = self.view.chain, self.session, self.key
        if action.lower().startswith("kms:") and key is not None and aim is Aim.KEY:
            request = Request(session.arn, session.account, action, key.arn, chain.aws.account,
                              {**session.context, "aws:SecureTransport": "true"})
            return Probe("another action on the bucket key", request, Judge.SESSION)
        if action.lower().startswith(("iam:", "sts:")) and aim is not Aim.BUCKET:
            role_name = "AdminRole" if aim is Aim.KEY else self.view.role().name
            resource = f"arn:aws:iam::{chain.aws.account}:role/{role_name}"
            request = Request(session.arn, session.account, action, resource, chain.aws.account,
                              {**session.context, "aws:SecureTransport": "true"})
            return Probe("an IAM/STS action", request, Judge.SESSION)
        return self.s3(action, chain.aws.bucket, object_key, True, "an action beyond s3:PutObject")


_INTENDED_SESSION_ACTIONS = ("s3:putobject", "kms:generatedatakey", "kms:decrypt")


def _unintended_actions(harvested: Harvest) -> st.SearchStrategy[str]:
    """Actions the policies grant, well-known sensitive ones and random ones; never the intended write's."""
    random_actions = st.builds(lambda s, v: f"{s}:{v}", st.sampled_from(["s3", "iam", "sts", "kms", "ec2", "logs"]),
                               st.text(string.ascii_letters, min_size=1, max_size=16))
    granted = [a for a in harvested.actions if a.lower() not in _INTENDED_SESSION_ACTIONS]
    known = st.sampled_from(granted) | st.sampled_from(SESSION_ACTIONS) if granted else st.sampled_from(SESSION_ACTIONS)
    return (known | random_actions).filter(lambda a: a.lower() not in _INTENDED_SESSION_ACTIONS)


def _stranger_family(view: ChainView, harvested: Harvest) -> ProbeFamily:
    """Another principal (the vendor included) reads, writes or administers the bucket."""
    chain = view.chain

    def stranger(caller: Caller, action: str, object_key: str, context: dict[str, Any]) -> Probe:
        resource = (f"arn:aws:s3:::{chain.aws.bucket}" if action.lower() in BUCKET_ACTIONS
                    else object_arn(chain.aws.bucket, object_key))
        return Probe("another principal on the bucket", Request(caller.arn, caller.account, action, resource,
                                                                chain.aws.account, {**context, **caller.context}),
                     Judge.STRANGER)

    named = [a for a in harvested.actions if a.lower().startswith("s3:")]
    stranger_actions = (st.sampled_from(named) | st.sampled_from(STRANGER_ACTIONS)) if named else st.sampled_from(
        STRANGER_ACTIONS)
    prefix = chain.aws.prefix
    return ProbeFamily("another principal reads, writes or administers the bucket", st.builds(
        stranger, other_principals(view, harvested, include_vendor=True, include_own_root=False),
        stranger_actions, _key_inside(prefix) | _key_outside(prefix), attacker_context(harvested)))


def positive_examples(view: ChainView) -> st.SearchStrategy[tuple[str, str | None, dict[str, str]]]:
    """(object key under the prefix, vendor source IP or None, session tag values for the configured keys)."""
    chain = view.chain
    nets = [ipaddress.ip_network(c, strict=False) for c in chain.vendor.source_ips]
    ips: st.SearchStrategy[str | None] = (
        st.sampled_from(nets).flatmap(lambda n: st.ip_addresses(network=n).map(str)) if nets else st.none())
    tag_values = st.fixed_dictionaries({k: st.text(string.ascii_letters + string.digits + "@._-", min_size=1,
                                                   max_size=40) | st.just(v)
                                        for k, v in chain.vendor.session_tags.items()})
    return st.tuples(_key_inside(chain.aws.prefix), ips, tag_values)

