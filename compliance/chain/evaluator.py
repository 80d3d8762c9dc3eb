"""Evaluate chain requests against the effective policies of a `ChainView`.

`positive=True` is for checks that prove something *is allowed*: unreadable SCPs raise (ERROR,
never PASS). `positive=False` is for checks that prove something *is denied*: unreadable SCPs are
left out, which can only make more requests allowed, never hide an allow.
"""

from __future__ import annotations

from functools import cached_property

from compliance.chain.requests import allow_all_policy, vendor_identity_policy
from compliance.chain.view import ChainView, SourcedPolicy, documents, level_documents
from compliance.iam import Evaluation, PolicyDocument, Request, evaluate


class ChainEvaluator:
    def __init__(self, view: ChainView, *, positive: bool) -> None:
        self.view = view
        self.positive = positive

    @cached_property
    def identity(self) -> list[PolicyDocument]:
        return documents(self.view.identity_policies())

    @cached_property
    def boundary(self) -> PolicyDocument | None:
        sourced = self.view.boundary()
        return sourced.document if sourced is not None else None

    @cached_property
    def scps(self) -> list[list[PolicyDocument]]:
        levels = self.view.scp_levels() if self.positive else self.view.scp_levels_or_none()
        return level_documents(levels)

    @cached_property
    def vendor_policy(self) -> PolicyDocument:
        return vendor_identity_policy(self.view.role().arn)

    @cached_property
    def worst_case_policy(self) -> PolicyDocument:
        return allow_all_policy()

    def trust(self, request: Request, *, vendor: bool = True) -> Evaluation:
        """The role's trust policy decides, with the caller's own (assumed) identity policy."""
        identity = self.vendor_policy if vendor else self.worst_case_policy
        return evaluate(request, identity_policies=(identity,), resource_policy=self.view.trust().document)

    def role_side(self, request: Request, resource_policy: SourcedPolicy | None) -> Evaluation:
        """A request made by the role session: identity ∩ boundary ∩ SCPs, then the resource policy."""
        return evaluate(request, identity_policies=self.identity, permission_boundary=self.boundary,
                        scps=self.scps, resource_policy=resource_policy.document if resource_policy else None)

    def put(self, request: Request) -> Evaluation:
        ours = request.resource.startswith(f"arn:aws:s3:::{self.view.chain.aws.bucket}/")
        policy = self.view.bucket_policy() if ours else None
        return self.role_side(request, policy)

    def kms(self, request: Request) -> Evaluation:
        return self.role_side(request, self.view.key_policy())

    def principal_side(self, request: Request) -> Evaluation:
        """The role session's own permissions only (identity ∩ boundary ∩ SCPs), no resource policy."""
        return self.role_side(request, None)

    def stranger_on_bucket(self, request: Request) -> Evaluation:
        """Another principal, allowed everything by its own policies, against the bucket policy."""
        bucket_policy = self.view.bucket_policy()
        return evaluate(request, identity_policies=(self.worst_case_policy,),
                        resource_policy=bucket_policy.document if bucket_policy else None)
