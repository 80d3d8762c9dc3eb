"""The effective policies of one chain: the snapshot, with any `--proposed` documents laid over it.

Every check reads policies through a `ChainView`, so a proposed document is seen by all of them.
Reads stay lazy: a check only fails to ERROR on the inputs it actually needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance.chain.proposed import Proposal, ProposalTarget
from compliance.config import Chain
from compliance.errors import ComplianceError, ReadError
from compliance.iam import PolicyDocument, PolicyKind, parse_policy
from compliance.targets.snapshot import AwsSnapshot, BucketSnapshot, KmsKey, NamedPolicy, RoleSnapshot

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

    def proposals_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.proposals]


def documents(policies: Sequence[SourcedPolicy]) -> list[PolicyDocument]:
    return [p.document for p in policies]


def level_documents(levels: Sequence[Sequence[SourcedPolicy]]) -> list[list[PolicyDocument]]:
    return [[p.document for p in level] for level in levels]
