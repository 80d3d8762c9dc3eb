"""The effective policies of one chain: the snapshot, with any `--proposed` documents laid over it.

Every check reads policies through a `ChainView`, so a proposed document is seen by all of them.
Reads stay lazy: a check only fails to ERROR on the inputs it actually needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance.chain.grants import with_grants
from compliance.chain.org_context import ORG_REMEDY, org_conditions
from compliance.chain.proposed import Proposal, ProposalTarget
from compliance.config import Chain
from compliance.errors import ComplianceError, ReadError
from compliance.iam import PolicyDocument, PolicyKind, parse_policy
from compliance.targets.snapshot import (
    AccessPointKind,
    AccessPointSnapshot,
    AwsSnapshot,
    BucketSnapshot,
    KmsGrant,
    KmsKey,
    NamedPolicy,
    NetworkOrigin,
    OrgContext,
    RoleSnapshot,
    ScpLevel,
)

SCP_REMEDY = (
    "an SCP could deny the export, so it cannot be shown to be allowed; let the audit identity call "
    "organizations:ListParents, DescribeOrganizationalUnit, ListPoliciesForTarget and DescribePolicy "
    "(from the management account or a delegated administrator)"
)


@dataclass(frozen=True, slots=True)
class SourcedPolicy:
    """A parsed policy with the JSON it came from and where that JSON came from."""

    document: PolicyDocument
    raw: Any
    origin: str

    @property
    def name(self) -> str:
        return self.document.name

    @property
    def proposed(self) -> bool:
        return self.origin.startswith("proposed")


RCP_REMEDY = (
    "an RCP could deny the request on the customer's S3 bucket, role or key, so it cannot be shown to be allowed; let "
    "the audit identity call organizations:ListParents, DescribeOrganizationalUnit, ListPoliciesForTarget and "
    "DescribePolicy (from the management account or a delegated administrator)"
)


@dataclass(frozen=True, slots=True)
class AccessPointView:
    """One access point that reaches the bucket, with its policy parsed (None: no access point policy)."""

    name: str
    arn: str
    alias: str | None
    kind: AccessPointKind
    account: str
    network_origin: NetworkOrigin
    vpc_id: str | None
    policy: SourcedPolicy | None
    supporting_access_point: str | None = None

    @property
    def label(self) -> str:
        return f"the {self.kind.value} {self.name} ({self.arn})"


class ChainView:
    """One chain's snapshot as the checks should see it."""

    def __init__(self, chain: Chain, snapshot: AwsSnapshot, proposals: Sequence[Proposal] = ()) -> None:
        self.chain = chain
        self.snapshot = snapshot
        self.proposals = tuple(proposals)
        self._cache: dict[str, Any] = {}

    # -- raw resources -------------------------------------------------------------------------

    def role(self) -> RoleSnapshot:
        return self.snapshot.role.require_present(f"the role {self.chain.aws.role_arn}")

    def bucket(self) -> BucketSnapshot:
        return self.snapshot.bucket.require_present(f"the bucket {self.chain.aws.bucket}")

    def kms_key(self) -> KmsKey | None:
        """The bucket's customer-managed default key (None: no SSE-KMS or an AWS-managed key)."""
        return self.bucket().kms_key.require()

    # -- policies ------------------------------------------------------------------------------

    def _proposal(self, target: ProposalTarget, name: str | None = None) -> Proposal | None:
        for proposal in self.proposals:
            if proposal.target is target and (name is None or proposal.name == name):
                return proposal
        return None

    def _parse(self, raw: Any, kind: PolicyKind, name: str, origin: str) -> SourcedPolicy:
        return SourcedPolicy(parse_policy(raw, kind=kind, name=name), raw, origin)

    def _proposed(self, proposal: Proposal, kind: PolicyKind, name: str) -> SourcedPolicy | None:
        document = proposal.resolved()
        if document is None:
            return None
        return self._parse(document, kind, name, f"proposed ({proposal.source})")

    def _overlaid(self, proposal: Proposal | None, kind: PolicyKind, named: NamedPolicy, origin: str,
                  used: set[str]) -> SourcedPolicy | None:
        """`named` as read from `origin`, or the proposal that replaces it (its `replaces` noted in `used`)."""
        if proposal is None:
            return self._parse(named.document, kind, named.name, origin)
        used.add(proposal.replaces)
        return self._proposed(proposal, kind, named.name)

    def _memo(self, key: str, build: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def trust(self) -> SourcedPolicy:
        def build() -> SourcedPolicy:
            proposal = self._proposal(ProposalTarget.TRUST)
            if proposal is not None:
                policy = self._proposed(proposal, PolicyKind.TRUST, "trust policy")
                assert policy is not None
                return policy
            return self._parse(self.role().trust_policy, PolicyKind.TRUST, "trust policy", "iam:GetRole")

        result: SourcedPolicy = self._memo("trust", build)
        return result

    def identity_policies(self) -> tuple[SourcedPolicy, ...]:
        """Inline then managed policies of the role, with proposals replacing or adding policies."""

        def build() -> tuple[SourcedPolicy, ...]:
            role = self.role()
            out: list[SourcedPolicy] = []
            used: set[str] = set()
            for named in role.inline_policies.require() or ():
                proposal = self._proposal(ProposalTarget.ROLE_INLINE, named.name)
                policy = self._overlaid(proposal, PolicyKind.IDENTITY, named, "iam:GetRolePolicy", used)
                if policy is not None:
                    out.append(policy)
            for named in role.managed_policies.require() or ():
                proposal = self._proposal(ProposalTarget.ROLE_MANAGED, named.name) or (
                    self._proposal(ProposalTarget.ROLE_MANAGED, named.arn) if named.arn else None)
                policy = self._overlaid(proposal, PolicyKind.IDENTITY, named, "iam:GetPolicyVersion", used)
                if policy is not None:
                    out.append(policy)
            for proposal in self.proposals:
                if proposal.target in (ProposalTarget.ROLE_INLINE, ProposalTarget.ROLE_MANAGED) \
                        and proposal.replaces not in used:
                    added = self._proposed(proposal, PolicyKind.IDENTITY, (proposal.name or "").rsplit("/", 1)[-1])
                    if added is not None:
                        out.append(added)
            return tuple(out)

        result: tuple[SourcedPolicy, ...] = self._memo("identity", build)
        return result

    def boundary(self) -> SourcedPolicy | None:
        def build() -> SourcedPolicy | None:
            proposal = self._proposal(ProposalTarget.BOUNDARY)
            if proposal is not None:
                return self._proposed(proposal, PolicyKind.BOUNDARY, "permissions boundary")
            role = self.role()
            named = role.permissions_boundary.require()
            if named is None:
                if role.permissions_boundary_arn:
                    raise ReadError("iam:GetPolicy", "NoSuchEntity",
                                    f"the permissions boundary {role.permissions_boundary_arn} was not returned")
                return None
            return self._parse(named.document, PolicyKind.BOUNDARY, named.name, "iam:GetPolicyVersion")

        result: SourcedPolicy | None = self._memo("boundary", build)
        return result

    def bucket_policy(self) -> SourcedPolicy | None:
        def build() -> SourcedPolicy | None:
            proposal = self._proposal(ProposalTarget.BUCKET)
            if proposal is not None:
                return self._proposed(proposal, PolicyKind.RESOURCE, "bucket policy")
            raw = self.bucket().policy.require()
            if raw is None:
                return None
            return self._parse(raw, PolicyKind.RESOURCE, "bucket policy", "s3:GetBucketPolicy")

        result: SourcedPolicy | None = self._memo("bucket", build)
        return result

    def key_policy(self) -> SourcedPolicy | None:
        def build() -> SourcedPolicy | None:
            key = self.kms_key()
            if key is None:
                return None
            proposal = self._proposal(ProposalTarget.KEY)
            if proposal is not None:
                return self._proposed(proposal, PolicyKind.KEY, "key policy")
            return self._parse(key.policy, PolicyKind.KEY, "key policy", "kms:GetKeyPolicy")

        result: SourcedPolicy | None = self._memo("key", build)
        return result

    def key_grants(self) -> tuple[KmsGrant, ...]:
        """The bucket key's grants (ListGrants). Raises `ReadError` when they could not be read: a grant can
        open the key to anyone, so nothing about who may use the key can be proved without them."""
        key = self.kms_key()
        if key is None:
            return ()
        return key.grants.require() or ()

    def key_policy_with_grants(self) -> SourcedPolicy | None:
        """The key policy (or its proposal) with one Allow statement per grant appended (compliance.chain.grants:
        Sid "Grant <id>", Principal the grantee, Action the grant operations prefixed "kms:", Resource "*",
        constraints as kms:EncryptionContext:<key> conditions), so the engine judges grants like the policy."""

        def build() -> SourcedPolicy | None:
            policy = self.key_policy()
            if policy is None:
                return None
            grants = self.key_grants()
            if not grants:
                return policy
            raw = with_grants(policy.raw, grants)
            return self._parse(raw, PolicyKind.KEY, "key policy with grants", f"{policy.origin} + kms:ListGrants")

        result: SourcedPolicy | None = self._memo("key+grants", build)
        return result

    @property
    def scps_unreadable(self) -> bool:
        return self.snapshot.scps.failure is not None

    def scp_levels(self) -> tuple[tuple[SourcedPolicy, ...], ...]:
        """SCP levels from the root to the account. Raises `ReadError` (with the remedy) when the
        SCPs could not be read: use this in checks that prove something *is allowed*."""
        failure = self.snapshot.scps.failure
        if failure is not None:
            raise ReadError(failure.api, failure.code, f"{failure.message}; {SCP_REMEDY}")
        return self._levels()

    def scp_levels_or_none(self) -> tuple[tuple[SourcedPolicy, ...], ...]:
        """SCP levels, or none when unreadable. Only for checks that prove something *is denied*:
        SCPs can only take permissions away, so leaving them out never hides an allow."""
        if self.snapshot.scps.failure is not None:
            return ()
        return self._levels()

    def _levels(self) -> tuple[tuple[SourcedPolicy, ...], ...]:
        def build() -> tuple[tuple[SourcedPolicy, ...], ...]:
            levels = self.snapshot.scps.require() or ()
            proposals = [p for p in self.proposals if p.target is ProposalTarget.SCP]
            if proposals and not levels:
                raise ComplianceError(f"{proposals[0].replaces} is proposed, but the account is in no organization "
                                      "(no SCPs apply)")
            used: set[str] = set()
            out: list[tuple[SourcedPolicy, ...]] = []
            for level in levels:
                policies: list[SourcedPolicy] = []
                for named in level.policies:
                    proposal = self._proposal(ProposalTarget.SCP, named.name)
                    policy = self._overlaid(proposal, PolicyKind.SCP, named,
                                            f"organizations:DescribePolicy ({level.target_type} {level.name})", used)
                    if policy is not None:
                        policies.append(policy)
                out.append(tuple(policies))
            for proposal in proposals:
                if proposal.replaces not in used:
                    added = self._proposed(proposal, PolicyKind.SCP, proposal.name or "proposed SCP")
                    if added is not None:
                        out[-1] = (*out[-1], added)
            return tuple(out)

        result: tuple[tuple[SourcedPolicy, ...], ...] = self._memo("scps", build)
        return result

    # -- organization: context keys, RCPs --------------------------------------------------------

    def org_context(self) -> OrgContext | None:
        """Where the account sits in its organization; None when it is in no organization. Raises `ReadError`
        when Organizations could not be read."""
        read = self.snapshot.org_context
        if read.failure is not None:
            raise ReadError(read.failure.api, read.failure.code, f"{read.failure.message}; {ORG_REMEDY}")
        return read.value

    def org_context_or_none(self) -> OrgContext | None:
        """The organization context, or None when the account is in no organization or it could not be read.
        Use with `require_org_context_for`, which turns an unreadable context a verdict depends on into ERROR."""
        return self.snapshot.org_context.value if self.snapshot.org_context.ok else None

    def require_org_context_for(self, policies: Sequence[PolicyDocument | SourcedPolicy | None]) -> None:
        """Raise `ReadError` when the organization context could not be read and one of `policies` conditions on
        aws:PrincipalOrgID/OrgPaths or aws:ResourceOrgID/OrgPaths: without the context the engine would see those
        keys absent, so the verdict (either way) would be made up. An account in no organization is not a failure:
        AWS leaves the keys out of the request context too."""
        failure = self.snapshot.org_context.failure
        if failure is None:
            return
        documents = [p.document if isinstance(p, SourcedPolicy) else p for p in policies if p is not None]
        using = org_conditions(documents)
        if using:
            raise ReadError(failure.api, failure.code,
                            f"{failure.message}; the verdict depends on the organization context ({using[0]}"
                            f"{f' and {len(using) - 1} more' if len(using) > 1 else ''}), which could not be read; "
                            f"{ORG_REMEDY}")

    @property
    def rcps_unreadable(self) -> bool:
        return self.snapshot.rcps.failure is not None

    def rcp_levels(self) -> tuple[tuple[SourcedPolicy, ...], ...]:
        """RCP levels from the root to the account (empty: RCPs not enabled, no organization, or the management
        account). Raises `ReadError` when they could not be read: use this in checks that prove something *is
        allowed*."""
        failure = self.snapshot.rcps.failure
        if failure is not None:
            raise ReadError(failure.api, failure.code, f"{failure.message}; {RCP_REMEDY}")
        return self._rcp_levels()

    def rcp_levels_or_none(self) -> tuple[tuple[SourcedPolicy, ...], ...]:
        """RCP levels, or none when unreadable. Only for checks that prove something *is denied*: RCPs can only
        take permissions away, so leaving them out never hides an allow."""
        if self.snapshot.rcps.failure is not None:
            return ()
        return self._rcp_levels()

    def _rcp_levels(self) -> tuple[tuple[SourcedPolicy, ...], ...]:
        def build() -> tuple[tuple[SourcedPolicy, ...], ...]:
            org = self.snapshot.org_context
            if org.value is not None and org.value.is_management_account:
                return ()  # "RCPs don't apply to resources in the management account" (Organizations User Guide)
            levels: tuple[ScpLevel, ...] = self.snapshot.rcps.require() or ()
            return tuple(
                tuple(self._parse(named.document, PolicyKind.RCP, named.name,
                                  f"organizations:DescribePolicy ({level.target_type} {level.name})")
                      for named in level.policies)
                for level in levels)

        result: tuple[tuple[SourcedPolicy, ...], ...] = self._memo("rcps", build)
        return result

    def rcp_policies(self) -> tuple[SourcedPolicy, ...]:
        """Every RCP in effect, root first (for evidence)."""
        return tuple(p for level in self.rcp_levels_or_none() for p in level)

    # -- access points -------------------------------------------------------------------------

    def access_points(self, *kinds: AccessPointKind) -> tuple[AccessPointView, ...]:
        """Every access point that reaches the bucket (or only those of `kinds`), policies parsed. Raises
        `ReadError` when a needed read failed, including an access point's policy: a path to the records that
        cannot be judged is never taken as closed."""
        wanted = kinds or tuple(AccessPointKind)
        reads = {AccessPointKind.STANDARD: self.snapshot.access_points,
                 AccessPointKind.MULTI_REGION: self.snapshot.multi_region_access_points,
                 AccessPointKind.OBJECT_LAMBDA: self.snapshot.object_lambda_access_points}
        out: list[AccessPointView] = []
        for kind in wanted:
            for point in reads[kind].require() or ():
                out.append(self._access_point(point))
        return tuple(out)

    def _access_point(self, point: AccessPointSnapshot) -> AccessPointView:
        def build() -> AccessPointView:
            raw = point.policy.require()
            policy = None if raw is None else self._parse(
                raw, PolicyKind.RESOURCE, f"{point.kind.value} policy '{point.name}'", point.policy.api)
            return AccessPointView(point.name, point.arn, point.alias, point.kind, point.account,
                                   point.network_origin, point.vpc_id, policy, point.supporting_access_point)

        result: AccessPointView = self._memo(f"access-point:{point.arn}", build)
        return result

    def proposals_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.proposals]


def documents(policies: Sequence[SourcedPolicy]) -> list[PolicyDocument]:
    return [p.document for p in policies]


def level_documents(levels: Sequence[Sequence[SourcedPolicy]]) -> list[list[PolicyDocument]]:
    return [[p.document for p in level] for level in levels]
