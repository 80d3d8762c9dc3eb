"""The questions proven for every chain, built from its `ChainView`.

Who is judged, and with which policies (the cross-account rules are the engine's):

* the export role's own sessions, with the role's identity policies, boundary, SCPs and the resource policy;
* every class of caller outside the customer account, with an identity policy that allows everything (their
  own account could grant anything), the resource policy and the customer's RCPs;
* AWS services, web-identity/SAML identities, canonical users and anonymous callers: the resource policy alone;
* other principals of the customer account, with an allow-everything identity policy and the account's SCPs.
  Their real identity policies are not read, so for the records and the key they are *listed*, not failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from compliance.chain.requests import ROLE_SESSION_NAME, allow_all_policy
from compliance.chain.view import ChainView, SourcedPolicy, documents, level_documents
from compliance.errors import ReadError
from compliance.iam import Evaluation, PolicyDocument, Request, evaluate
from compliance.iam.conditions import CompiledCondition
from compliance.proof.catalog import catalog
from compliance.proof.principals import (
    Caller,
    Kind,
    OrgFacts,
    customer_callers,
    outside_callers,
)
from compliance.proof.public import is_public, reached_under_restriction
from compliance.proof.search import Intended, Judge, Outcome, PrincipalClass, Prover, Question
from compliance.proof.strings import Glob

RESOURCE_KEYS = ("aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths", "s3:resourceaccount",
                 "s3:dataaccesspointarn", "s3:dataaccesspointaccount", "s3:accesspointnetworkorigin")
"""Keys AWS derives from the resource, fixed per question. Resource and object tags (aws:ResourceTag/*,
s3:ExistingObjectTag/*) are not read by the suite, so they stay free: a grant that hinges on a tag value is a
hole whenever some record could carry that value."""
ORG_KEYS = ("aws:principalorgid", "aws:principalorgpaths", "aws:resourceorgid", "aws:resourceorgpaths",
            "aws:sourceorgid", "aws:sourceorgpaths")
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:TagSession",
                  "sts:SetSourceIdentity", "sts:SetContext")
RECORD_READS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent")
KEY_DATA = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
            "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:ReEncryptFrom",
            "kms:ReEncryptTo")
KEY_ADMIN = ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:CreateGrant", "kms:RevokeGrant",
             "kms:UpdateAlias", "kms:DeleteAlias", "kms:CreateAlias", "kms:DeleteImportedKeyMaterial",
             "kms:ImportKeyMaterial", "kms:DisableKeyRotation", "kms:UpdatePrimaryRegion", "kms:ReplicateKey")
OWNER_ONLY_BUCKET_ACTIONS = frozenset({"s3:putbucketpolicy", "s3:deletebucketpolicy"})
"""S3 API Reference, PutBucketPolicy / DeleteBucketPolicy: "the calling identity must both have the ...
permissions on the specified bucket and belong to the bucket owner's account in order to use this operation"."""

ASSUMPTIONS = (
    "Principals outside the customer account are judged with an identity policy that allows everything: their own "
    "account could grant them anything.",
    "Other principals of the customer account are governed by their own identity policies, which this suite does not "
    "read; they are listed, not failed, where only the account can grant them.",
    "Requests do not arrive through the customer's VPC endpoints (aws:SourceVpc/aws:SourceVpce are absent).",
    "Callers choose every other request value: source address, time, headers, tags, ExternalId.",
)


def free_key(key: str) -> bool:
    """Keys a caller can choose or cannot be bounded: everything but what AWS derives from the resource."""
    return not key.startswith(RESOURCE_KEYS)


@dataclass(frozen=True)
class Proof:
    """One proven question, with the words an inspector reads."""

    title: str
    outcome: Outcome
    assumptions: tuple[str, ...]
    listed: tuple[str, ...] = ()


class ChainQuestions:
    """Builds and answers the proof questions of one chain."""

    def __init__(self, view: ChainView) -> None:
        self.view = view
        self.chain = view.chain
        self.prover = Prover(free_key=free_key)

    # -- facts ----------------------------------------------------------------------------------------

    @cached_property
    def org(self) -> OrgFacts:
        read = self.view.snapshot.org_context
        if read.failure is not None:
            return OrgFacts(None, None)
        value = read.value
        if value is None:
            return OrgFacts(None, None)
        return OrgFacts(value.organization_id, value.org_path)

    @cached_property
    def org_unreadable(self) -> ReadError | None:
        read = self.view.snapshot.org_context
        if read.failure is None:
            return None
        return ReadError(read.failure.api, read.failure.code, read.failure.message)

    def _require_org(self, policies: Sequence[PolicyDocument]) -> None:
        """Organization keys in a policy with an unreadable organization: the verdict cannot be known."""
        if self.org_unreadable is None:
            return
        for policy in policies:
            for statement in policy.statements:
                for condition in statement.conditions:
                    if condition.key.lower() in ORG_KEYS:
                        raise ReadError(self.org_unreadable.api, self.org_unreadable.code,
                                        f"{policy.name} statement {statement.label} tests {condition.key}, which "
                                        "needs the organization to be read: " + self.org_unreadable.message)

    @cached_property
    def rcps(self) -> list[list[PolicyDocument]]:
        return level_documents(self.view.rcp_levels_or_none())

    @cached_property
    def scps(self) -> list[list[PolicyDocument]]:
        return level_documents(self.view.scp_levels_or_none())

    @cached_property
    def allow_all(self) -> PolicyDocument:
        return allow_all_policy()

    def resource_context(self) -> dict[str, str | tuple[str, ...]]:
        context: dict[str, str | tuple[str, ...]] = {"aws:ResourceAccount": self.chain.aws.account,
                                                     "s3:ResourceAccount": self.chain.aws.account}
        if self.org.organization_id:
            context["aws:ResourceOrgID"] = self.org.organization_id
            if self.org.org_path:
                context["aws:ResourceOrgPaths"] = (self.org.org_path,)
        return context

    # -- judges ---------------------------------------------------------------------------------------

    def _judge(self, resource_policy: PolicyDocument | None, *, iam: bool, customer: bool) -> Judge:
        """A caller other than the export role: an allow-everything identity policy when it is an IAM principal,
        the customer account's SCPs when it is one of the account's, the RCPs, and `resource_policy`."""
        identity = (self.allow_all,) if iam else ()
        scps = self.scps if customer else []
        rcps = self.rcps

        def judge(request: Request) -> Evaluation:
            return evaluate(request, identity_policies=identity, resource_policy=resource_policy, scps=scps,
                            rcps=rcps)

        return judge

    def _role_session(self, resource_policy: PolicyDocument | None) -> PrincipalClass:
        role = self.view.role()
        account = self.chain.aws.account
        identity = documents(self.view.identity_policies())
        boundary = self.view.boundary()
        scps = self.scps
        rcps = self.rcps
        context: dict[str, str | tuple[str, ...]] = {
            "aws:PrincipalArn": role.arn, "aws:PrincipalAccount": account, "aws:PrincipalType": "AssumedRole",
            "aws:userid": f"AROAEXPORTROLEID:{ROLE_SESSION_NAME}", "kms:CallerAccount": account,
            "aws:PrincipalIsAWSService": "false"}
        if self.org.organization_id:
            context["aws:PrincipalOrgID"] = self.org.organization_id
            if self.org.org_path:
                context["aws:PrincipalOrgPaths"] = (self.org.org_path,)
        for key, value in role.tags.items():
            context[f"aws:PrincipalTag/{key}"] = value
        free = frozenset(f"aws:principaltag/{k}".lower() for k in self.chain.vendor.session_tags)
        policies = (*identity, *([boundary.document] if boundary else []), *(p for level in scps for p in level),
                    *(p for level in rcps for p in level), *([resource_policy] if resource_policy else []))

        def judge(request: Request) -> Evaluation:
            return evaluate(request, identity_policies=identity, permission_boundary=boundary.document
                            if boundary else None, scps=scps, rcps=rcps, resource_policy=resource_policy)

        return PrincipalClass(f"the export role's session ({role.arn})",
                              f"arn:aws:sts::{account}:assumed-role/{role.name}/{ROLE_SESSION_NAME}", account, context,
                              judge, policies, free_keys=free,
                              absent_keys=frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourcevpc",
                                                     "aws:sourcevpce", "aws:vpcsourceip"}), group="role")

    def _classes(self, callers: Sequence[Caller], resource_policy: PolicyDocument | None, *,
                 customer: bool) -> list[PrincipalClass]:
        out: list[PrincipalClass] = []
        for caller in callers:
            iam = caller.kind in (Kind.ROOT, Kind.USER, Kind.ROLE_SESSION, Kind.FEDERATED_USER)
            judge = self._judge(resource_policy, iam=iam, customer=customer)
            policies = (*([resource_policy] if resource_policy else []), *(p for level in self.rcps for p in level),
                        *((p for level in self.scps for p in level) if customer else ()))
            out.append(PrincipalClass(caller.label, caller.arn, caller.account, caller.context, judge, policies,
                                      absent_keys=caller.absent, group="customer" if customer else caller.kind))
        return out

    def restricted_public_bucket(self, policy: PolicyDocument | None) -> bool:
        """RestrictPublicBuckets (bucket or account level) with a policy S3 considers public: only AWS services and
        the owner account's principals can use the bucket policy. An unreadable setting is taken as off, which can
        only make more requests allowed."""
        if not is_public(policy):
            return False
        blocks = [self.view.bucket().public_access_block, self.view.snapshot.account_public_access_block]
        return any(read.failure is None and read.value is not None and read.value.restrict_public_buckets
                   for read in blocks)

    def _bucket_outsiders(self, policy: PolicyDocument | None) -> list[PrincipalClass]:
        outsiders = self._outsiders(policy)
        if self.restricted_public_bucket(policy):
            return [p for p in outsiders if reached_under_restriction(policy, caller=p.arn, caller_account=p.account,
                                                                      owner=self.chain.aws.account)]
        return outsiders

    def _outsiders(self, resource_policy: PolicyDocument | None, extra_policies: Sequence[PolicyDocument] = (),
                   *, s3: bool = True) -> list[PrincipalClass]:
        """Callers outside the customer account. Canonical users and anonymous callers exist only for S3: STS and
        KMS take signed requests from IAM principals, services and (web identity, SAML) identity providers."""
        policies = [*([resource_policy] if resource_policy else []), *extra_policies,
                    *(p for level in self.rcps for p in level)]
        vendor = self.chain.vendor.account
        labels = {vendor: f"the vendor's account {vendor}"}
        readers = [r for r in self.chain.aws.readers if r.isdigit()] + [r.split(":")[4] for r in
                                                                         self.chain.aws.readers if r.startswith("arn:")]
        callers = outside_callers(policies, customer=self.chain.aws.account, customer_org=self.org,
                                  extra_accounts=[vendor, *readers], labels=labels)
        vendor_principal = self.chain.vendor.principal
        if ":role/" in vendor_principal and not any(c.context.get("aws:PrincipalArn") == vendor_principal
                                                    for c in callers):
            from compliance.proof.principals import account_callers

            callers = [*account_callers(vendor, org=None, org_path=None, exact=[vendor_principal], globs=[],
                                        where=labels[vendor]), *callers]
        if not s3:
            callers = [c for c in callers if c.kind not in (Kind.CANONICAL, Kind.ANONYMOUS)]
        return self._classes(callers, resource_policy, customer=False)

    def _through_access_points(self, bucket_policy: PolicyDocument | None) -> list[PrincipalClass]:
        """Every outside caller class again, through each access point that reaches the bucket: the access point's
        policy and the bucket policy must both allow (`ChainEvaluator.via_access_point`)."""
        from compliance.chain.evaluator import ChainEvaluator

        evaluator = ChainEvaluator(self.view, positive=False)
        bucket_base = f"arn:aws:s3:::{self.chain.aws.bucket}"
        out: list[PrincipalClass] = []
        for point in self.view.access_points():
            policy = point.policy.document if point.policy else None
            extra = [p for p in [policy] if p]
            self._require_org(extra)
            context = {"s3:DataAccessPointArn": point.arn, "s3:DataAccessPointAccount": point.account,
                       "s3:AccessPointNetworkOrigin": point.network_origin.value}
            for cls in self._outsiders(bucket_policy, extra):
                iam = cls.account is not None

                def judge(request: Request, point: Any = point, iam: bool = iam) -> Evaluation:
                    result = evaluator.via_access_point(request, point,
                                                        identity_policies=(self.allow_all,) if iam else ())
                    denied = [e for _, e in result.hops if not e.allowed()]
                    return denied[0] if denied else result.hops[0].evaluation

                out.append(PrincipalClass(f"{cls.label} through the {point.kind.value} {point.name}", cls.arn,
                                          cls.account, {**cls.context, **context}, judge, (*cls.policies, *extra),
                                          absent_keys=cls.absent_keys, group=cls.group,
                                          resource_aliases=((f"{point.arn}/object/", f"{bucket_base}/"),)))
        return out

    def _through_foreign_access_points(self, bucket_policy: PolicyDocument | None) -> list[PrincipalClass]:
        """Outside callers through an access point they create in their own account: S3 lets any account create an
        access point for any bucket, and only the bucket policy stands between it and the records (S3 User Guide,
        "Creating access points for cross-account buckets"). Its name, Region and network origin are theirs to
        choose. Judged only when the bucket policy tests an access-point key (otherwise the direct route decides
        the same)."""
        keys = {"s3:dataaccesspointarn", "s3:dataaccesspointaccount", "s3:accesspointnetworkorigin"}
        if bucket_policy is None or not any(c.key.lower() in keys for st in bucket_policy.statements
                                            for c in st.conditions):
            return []
        out: list[PrincipalClass] = []
        for cls in self._bucket_outsiders(bucket_policy):
            if cls.account is None:
                continue
            out.append(PrincipalClass(f"{cls.label} through an access point of its own account", cls.arn, cls.account,
                                      {**cls.context, "s3:DataAccessPointAccount": cls.account}, cls.judge,
                                      cls.policies, free_keys=frozenset({"s3:dataaccesspointarn",
                                                                         "s3:accesspointnetworkorigin"}),
                                      absent_keys=cls.absent_keys, group=cls.group))
        return out

    def _acl_writes_refused(self) -> frozenset[str]:
        """With ACLs disabled (BucketOwnerEnforced), S3 refuses every ACL write with AccessControlListNotSupported
        whatever the policies say (S3 User Guide, "Controlling ownership of objects and disabling ACLs"). Unreadable
        ownership keeps the ACL writes in the question, which can only make more requests allowed."""
        read = self.view.bucket().ownership
        if read.failure is None and read.value == "BucketOwnerEnforced":
            return frozenset({"s3:putobjectacl", "s3:putobjectversionacl", "s3:putbucketacl"})
        return frozenset()

    def _customers(self, resource_policy: PolicyDocument | None) -> list[PrincipalClass]:
        policies = [*([resource_policy] if resource_policy else []), *(p for level in self.scps for p in level)]
        callers = customer_callers(policies, customer=self.chain.aws.account, org=self.org,
                                   exclude=[self.chain.aws.role_arn])
        return self._classes(callers, resource_policy, customer=True)

    # -- questions ------------------------------------------------------------------------------------

    def _records_glob(self) -> tuple[Glob, str]:
        base = f"arn:aws:s3:::{self.chain.aws.bucket}/{self.chain.aws.prefix}"
        return Glob(base + "*", arn=True) if "*" not in base and "?" not in base else Glob(base, literal=True), base

    def _bucket_policy(self) -> PolicyDocument | None:
        sourced: SourcedPolicy | None = self.view.bucket_policy()
        return sourced.document if sourced else None

    def records_write(self) -> Proof:
        policy = self._bucket_policy()
        self._require_org([p for p in [policy] if p] + [p for level in self.rcps for p in level])
        role = self._role_session(policy)
        principals = (role, *self._bucket_outsiders(policy), *self._through_access_points(policy),
                      *self._through_foreign_access_points(policy))
        refused = self._acl_writes_refused()
        actions = tuple(a for a in catalog().select(service="s3", resource_type="object",
                                                    access_levels=("Write", "Permissions management", "Tagging"))
                        if a.lower() not in refused)
        glob, base = self._records_glob()
        intended = [Intended(frozenset({role.label}), frozenset(catalog().names(("s3:PutObject",))))]
        if any(kind.value == "multipart" for kind in self.chain.vendor.upload_kinds):
            intended.append(Intended(frozenset({role.label}), frozenset({"s3:AbortMultipartUpload"})))
        question = Question("Writes, overwrites, deletes, retention, legal-hold, ACL and tag changes on the records",
                            principals, actions, glob, base, self.chain.aws.account, self.resource_context(),
                            tuple(intended))
        return Proof(question.title, self.prover.decide(question), ASSUMPTIONS)

    def role_assumption(self, *, every_witness: bool = False) -> Proof:
        """Becoming the role. ``every_witness``: one witness per principal class, not only the first."""
        trust = self.view.trust().document
        self._require_org([trust, *(p for level in self.rcps for p in level)])
        external_id = self.chain.external_id()
        if external_id is None:
            raise ReadError("environment", "MissingExternalId",
                            f"the ExternalId is not available ({self.chain.vendor.external_id_env} is empty)")
        outsiders = self._outsiders(trust, s3=False)
        principals = (*outsiders, *self._customers(trust))
        vendor_labels = frozenset(p.label for p in principals
                                  if p.context.get("aws:PrincipalArn") == self.chain.vendor.principal
                                  or p.arn == self.chain.vendor.principal)
        intended = [Intended(vendor_labels, frozenset({"sts:AssumeRole"}), None,
                             (CompiledCondition("StringEquals", "sts:ExternalId", (external_id,), variables=False),)),
                    Intended(vendor_labels, frozenset({"sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext"}))]
        for assumer in self.chain.aws.declared_assumers:
            labels = frozenset(p.label for p in principals if p.arn.lower() == assumer.principal.lower())
            conditions = tuple(CompiledCondition("StringEquals", k, (v,), variables=False)
                               for k, v in assumer.conditions.items())
            intended.append(Intended(labels, frozenset(ASSUME_ACTIONS), None, conditions))
        role_arn = self.view.role().arn
        question = Question("Becoming the export role (every sts:AssumeRole* action, sts:TagSession, "
                            "sts:SetSourceIdentity, sts:SetContext)", tuple(principals), ASSUME_ACTIONS,
                            Glob(role_arn, literal=True), "", self.chain.aws.account, self.resource_context(),
                            tuple(intended), first_witness_only=not every_witness)
        return Proof(question.title, self.prover.decide(question), ASSUMPTIONS[:1] + ASSUMPTIONS[2:])

    def is_vendor(self, principal: PrincipalClass) -> bool:
        vendor = self.chain.vendor.principal
        return principal.arn == vendor or principal.context.get("aws:PrincipalArn") == vendor

    def key_use(self) -> Proof | None:
        key = self.view.kms_key()
        if key is None:
            return None
        sourced = self.view.key_policy_with_grants()
        policy = sourced.document if sourced else None
        self._require_org([p for p in [policy] if p] + [p for level in self.rcps for p in level])
        role = self._role_session(policy)
        outsiders = self._outsiders(policy, s3=False)
        readers = frozenset(p.label for p in outsiders if self._is_reader(p))
        principals = (role, *outsiders)
        intended = [Intended(frozenset({role.label}), frozenset(KEY_DATA)),
                    Intended(readers, frozenset({"kms:Decrypt"}))]
        question = Question("Using the bucket key for data (decrypt, encrypt, data keys) and administering it "
                            "(deletion, disabling, key policy, grants, aliases, key material)", principals,
                            (*KEY_DATA, *KEY_ADMIN), Glob(key.arn, literal=True), "", self.chain.aws.account,
                            self.resource_context(), tuple(intended))
        outcome = self.prover.decide(question)
        listed = self._list_customers(policy, (*KEY_DATA, *KEY_ADMIN), Glob(key.arn, literal=True), "")
        return Proof(question.title, outcome, ASSUMPTIONS, listed)

    def records_read(self) -> Proof:
        policy = self._bucket_policy()
        self._require_org([p for p in [policy] if p] + [p for level in self.rcps for p in level])
        outsiders = [*self._bucket_outsiders(policy), *self._through_access_points(policy),
                     *self._through_foreign_access_points(policy)]
        readers = frozenset(p.label for p in outsiders if self._is_reader(p))
        glob, base = self._records_glob()
        # the export role's sessions are the vendor's: a read they can make is the vendor reading every record
        principals = (self._role_session(policy), *outsiders)
        question = Question("Reading the records", principals, catalog().names(RECORD_READS), glob, base,
                            self.chain.aws.account, self.resource_context(),
                            (Intended(readers, frozenset(RECORD_READS)),), first_witness_only=False)
        outcome = self.prover.decide(question)
        notes = [f"{w.principal.label} can {w.request.action} but cannot decrypt with the bucket key: the key "
                 "policy alone keeps SSE-KMS records closed to it (objects under other keys are not)"
                 for w in outcome.witnesses if not self._can_decrypt(w.principal)]
        listed = self._list_customers(policy, catalog().names(RECORD_READS), glob, base)
        return Proof(question.title, outcome, (*ASSUMPTIONS, *notes), listed)

    def bucket_configuration(self) -> Proof:
        policy = self._bucket_policy()
        self._require_org([p for p in [policy] if p] + [p for level in self.rcps for p in level])
        refused = self._acl_writes_refused()
        actions = tuple(a for a in catalog().select(service="s3", resource_type="bucket",
                                                     access_levels=("Write", "Permissions management"))
                        if a.lower() not in OWNER_ONLY_BUCKET_ACTIONS | refused and a != "s3:CreateBucket")
        role = self._role_session(policy)
        bucket_arn = f"arn:aws:s3:::{self.chain.aws.bucket}"
        question = Question("Changing the bucket's configuration (policy, Object Lock, logging, replication, "
                            "encryption, ownership, public access block, versioning, lifecycle ...)",
                            (role, *self._bucket_outsiders(policy)), actions, Glob(bucket_arn, literal=True), "",
                            self.chain.aws.account, self.resource_context())
        listed = self._list_customers(policy, actions, Glob(bucket_arn, literal=True), "")
        return Proof(question.title, self.prover.decide(question), ASSUMPTIONS, listed)

    # -- helpers --------------------------------------------------------------------------------------

    def _is_reader(self, principal: PrincipalClass) -> bool:
        for reader in self.chain.aws.readers:
            if reader.startswith("o-") and principal.context.get("aws:PrincipalOrgID") == reader:
                return True
            if reader.isdigit() and principal.account == reader:
                return True
            if reader.startswith("arn:") and reader in (principal.arn, principal.context.get("aws:PrincipalArn")):
                return True
            if reader.endswith(":root") and principal.account == reader.split(":")[4]:
                return True
        return False

    def _can_decrypt(self, principal: PrincipalClass) -> bool:
        """A read of an SSE-KMS record also needs kms:Decrypt on the bucket key (S3 calls KMS for the caller)."""
        encryption = self.view.bucket().encryption.require()
        key = self.view.kms_key() if encryption is not None and encryption.algorithm.startswith("aws:kms") else None
        if key is None:
            return True
        sourced = self.view.key_policy_with_grants()
        policy = sourced.document if sourced else None
        judge = self._judge(policy, iam=principal.account is not None, customer=False)
        cls = PrincipalClass(principal.label, principal.arn, principal.account, principal.context, judge,
                             (*([policy] if policy else []), *(p for level in self.rcps for p in level)),
                             absent_keys=principal.absent_keys)
        question = Question("decrypt", (cls,), ("kms:Decrypt",), Glob(key.arn, literal=True), "",
                            self.chain.aws.account, self.resource_context())
        return bool(self.prover.decide(question).witnesses)

    def _list_customers(self, policy: PolicyDocument | None, actions: Sequence[str], glob: Glob,
                        base: str) -> tuple[str, ...]:
        customers = self._customers(policy)
        question = Question("listing", tuple(customers), tuple(actions), glob, base, self.chain.aws.account,
                            self.resource_context(), first_witness_only=False)
        outcome = self.prover.decide(question)
        return tuple(f"{w.principal.label}: {w.request.action}" for w in outcome.witnesses)


@dataclass(frozen=True)
class IntendedCase:
    """One class of intended export: an object key, a vendor address and session-tag values."""

    key: str
    ip: str
    tags: dict[str, str]


def intended_cases(view: ChainView, policies: Sequence[PolicyDocument], default_ip: str) -> tuple[list[IntendedCase],
                                                                                                 int]:
    """Every class of intended export the policies can tell apart: object keys under the prefix (by the
    policies' Resource patterns), vendor addresses (by their CIDR boundaries, within the declared ranges) and
    session-tag values (by the values their tag conditions name). Returns the cases and the class count."""
    import ipaddress
    import itertools

    from compliance.proof.strings import classes as string_classes
    from compliance.proof.values import key_classes

    chain = view.chain
    base = f"arn:aws:s3:::{chain.aws.bucket}/{chain.aws.prefix}"
    globs = [Glob(p, arn=True) for policy in policies for s in policy.statements
             for p in (s.resources or s.not_resources or ()) if "${" not in p]
    keys = [arn[len(f"arn:aws:s3:::{chain.aws.bucket}/"):] for arn in
            string_classes(globs, required=[(Glob(base + "?*", arn=True), True)], prefix=base).values()]
    conditions: dict[str, list[CompiledCondition]] = {}
    for policy in policies:
        for statement in policy.statements:
            for condition in statement.compiled_conditions:
                conditions.setdefault(condition.key_lower, []).append(condition)
    nets = [ipaddress.ip_network(c, strict=False) for c in chain.vendor.source_ips]
    candidates = [v for v in key_classes("aws:sourceip", conditions.get("aws:sourceip", [])).values
                  if isinstance(v, str)]
    for net in nets:
        candidates += [str(net[0]), str(net[-1])]
    ips = [ip for ip in dict.fromkeys(candidates)
           if not nets or any(ipaddress.ip_address(ip) in n for n in nets if n.version == ipaddress.ip_address(
               ip).version)] if nets else [default_ip]
    tag_values: list[list[tuple[str, str]]] = []
    for tag in chain.vendor.session_tags:
        related = [*conditions.get(f"aws:principaltag/{tag}".lower(), []),
                   *conditions.get(f"aws:requesttag/{tag}".lower(), [])]
        values = [v for v in key_classes(f"aws:principaltag/{tag}".lower(), related, allow_absent=False).values
                  if isinstance(v, str) and v != "x-unparsable" and 0 < len(v) <= 256]
        tag_values.append([(tag, v) for v in dict.fromkeys([chain.vendor.session_tags[tag], *values])])
    cases = [IntendedCase(k, ip, dict(tags)) for k, ip, tags in
             itertools.product(keys, ips, itertools.product(*tag_values) if tag_values else [()])]
    return cases, len(cases)
