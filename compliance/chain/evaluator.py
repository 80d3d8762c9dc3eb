"""Evaluate chain requests against the effective policies of a `ChainView`.

`positive=True` is for checks that prove something *is allowed*: unreadable SCPs or RCPs raise (ERROR,
never PASS). `positive=False` is for checks that prove something *is denied*: unreadable SCPs and RCPs are
left out, which can only make more requests allowed, never hide an allow.

Every evaluation also
* fills the organization keys AWS adds (aws:PrincipalOrgID/OrgPaths for the customer account's principals,
  aws:ResourceOrgID/OrgPaths for its resources; see compliance/chain/org_context.py), and raises `ReadError`
  when Organizations could not be read and a policy in the evaluation conditions on those keys;
* applies the RCPs along the account's OU path to S3, STS and KMS requests on the customer's resources
  (Organizations User Guide, "Resource control policies (RCPs)": RCPs apply to resources of member accounts for
  Amazon S3, AWS STS, AWS KMS, Amazon SQS and AWS Secrets Manager).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from functools import cached_property

from compliance.chain.access_point_evaluation import AccessPointEvaluation, HopDecision, access_point_requests
from compliance.chain.org_context import with_org_context
from compliance.chain.requests import allow_all_policy, vendor_identity_policy
from compliance.chain.view import AccessPointView, ChainView, SourcedPolicy, documents, level_documents
from compliance.iam import Evaluation, PolicyDocument, Request, evaluate
from compliance.targets.snapshot import AccessPointKind

RCP_SERVICES = ("s3", "s3-object-lambda", "sts", "kms")
"""The chain's services RCPs govern (SQS and Secrets Manager are not part of the chain)."""



class _Default(Enum):
    BUCKET_POLICY = "the bucket policy in effect"


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
    def rcps(self) -> list[list[PolicyDocument]]:
        levels = self.view.rcp_levels() if self.positive else self.view.rcp_levels_or_none()
        return level_documents(levels)

    @cached_property
    def vendor_policy(self) -> PolicyDocument:
        return vendor_identity_policy(self.view.role().arn)

    @cached_property
    def worst_case_policy(self) -> PolicyDocument:
        return allow_all_policy()

    # -- the one way every request is decided ----------------------------------------------------

    def on_customer_resource(self, request: Request) -> bool:
        return request.owner_account == self.view.chain.aws.account

    def rcps_for(self, request: Request) -> list[list[PolicyDocument]]:
        """The RCP levels that govern `request`: S3, STS or KMS on a resource of the customer's account."""
        service = request.action_lower.partition(":")[0]
        if service not in RCP_SERVICES or not self.on_customer_resource(request):
            return []
        return self.rcps

    def decide(self, request: Request, *, identity_policies: Sequence[PolicyDocument] = (),
               resource_policy: PolicyDocument | None = None, permission_boundary: PolicyDocument | None = None,
               scps: Sequence[Sequence[PolicyDocument]] = ()) -> Evaluation:
        """`evaluate` with the organization keys filled in and the RCPs applied (see the module docstring)."""
        rcps = self.rcps_for(request)
        self.view.require_org_context_for([*identity_policies, resource_policy, permission_boundary,
                                           *(p for level in scps for p in level),
                                           *(p for level in rcps for p in level)])
        request = with_org_context(request, self.view.org_context_or_none())
        return evaluate(request, identity_policies=identity_policies, resource_policy=resource_policy,
                        permission_boundary=permission_boundary, scps=scps, rcps=rcps)

    # -- the chain's gates -------------------------------------------------------------------------

    def trust(self, request: Request, *, vendor: bool = True) -> Evaluation:
        """The role's trust policy decides, with the caller's own (assumed) identity policy."""
        identity = self.vendor_policy if vendor else self.worst_case_policy
        return self.decide(request, identity_policies=(identity,), resource_policy=self.view.trust().document)

    def role_side(self, request: Request, resource_policy: SourcedPolicy | None) -> Evaluation:
        """A request made by the role session: identity ∩ boundary ∩ SCPs, then the resource policy."""
        return self.decide(request, identity_policies=self.identity, permission_boundary=self.boundary,
                           scps=self.scps, resource_policy=resource_policy.document if resource_policy else None)

    def put(self, request: Request) -> Evaluation:
        ours = request.resource.startswith(f"arn:aws:s3:::{self.view.chain.aws.bucket}/")
        policy = self.view.bucket_policy() if ours else None
        return self.role_side(request, policy)

    def kms(self, request: Request) -> Evaluation:
        return self.role_side(request, self.view.key_policy_with_grants())

    def principal_side(self, request: Request) -> Evaluation:
        """The role session's own permissions only (identity ∩ boundary ∩ SCPs), no resource policy."""
        return self.role_side(request, None)

    def stranger_on_bucket(self, request: Request) -> Evaluation:
        """Another principal, allowed everything by its own policies, against the bucket policy."""
        bucket_policy = self.view.bucket_policy()
        return self.decide(request, identity_policies=(self.worst_case_policy,),
                           resource_policy=bucket_policy.document if bucket_policy else None)

    # -- access points ---------------------------------------------------------------------------

    def via_access_point(self, request: Request, access_point: AccessPointView, *,
                         identity_policies: Sequence[PolicyDocument] | None = None,
                         permission_boundary: PolicyDocument | None = None,
                         scps: Sequence[Sequence[PolicyDocument]] = (),
                         bucket_policy: PolicyDocument | _Default | None = _Default.BUCKET_POLICY,
                         ) -> AccessPointEvaluation:
        """`request` (an S3 request on the bucket or one of its objects, as if made directly) made through
        `access_point`, decided as S3 documents it.

        Amazon S3 User Guide, "Configuring IAM policies for using access points" and "Delegating access control
        to access points" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-points-policies.html):
        "For an application or user to be able to access objects through an access point, both the access point
        and the underlying bucket must permit the request." The access point policy is evaluated for the access
        point's ARN (arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/object/KEY), the bucket policy for the bucket's
        ARN, both with s3:DataAccessPointArn, s3:DataAccessPointAccount and s3:AccessPointNetworkOrigin in the
        context; the documented delegation is a bucket policy allowing any access point the account owns
        (`StringEquals s3:DataAccessPointAccount`). The caller's identity policies (within `permission_boundary`
        and `scps`) are evaluated on both sides, so a grant must cover both the access point and the bucket
        unless the bucket policy grants or delegates; RCPs apply on both sides.

        A Multi-Region Access Point is evaluated the same way for arn:aws:s3::ACCOUNT:accesspoint/ALIAS/object/KEY.
        An Object Lambda access point adds one more hop: its own policy for the s3-object-lambda action on its ARN,
        then its supporting access point with aws:CalledVia s3-object-lambda.amazonaws.com, then the bucket.

        `identity_policies` defaults to the worst case (the caller's own policies allow everything);
        `bucket_policy` defaults to the bucket policy in effect (None: no bucket policy)."""
        identity = (self.worst_case_policy,) if identity_policies is None else tuple(identity_policies)
        if isinstance(bucket_policy, _Default):
            sourced = self.view.bucket_policy()
            bucket_doc = sourced.document if sourced is not None else None
        else:
            bucket_doc = bucket_policy
        supporting = self._supporting(access_point)
        hops = access_point_requests(request, access_point, supporting, self.view.chain.aws.bucket)
        decisions: list[HopDecision] = []
        for hop in hops:
            policy = None if hop.policy is None else hop.policy.document
            resource_policy = bucket_doc if hop.is_bucket else policy
            decisions.append(HopDecision(hop.label, self.decide(hop.request, identity_policies=identity,
                                                                permission_boundary=permission_boundary, scps=scps,
                                                                resource_policy=resource_policy)))
        return AccessPointEvaluation(access_point, request, tuple(decisions))

    def _supporting(self, access_point: AccessPointView) -> AccessPointView | None:
        if access_point.supporting_access_point is None:
            return None
        for candidate in self.view.access_points(AccessPointKind.STANDARD):
            if candidate.arn == access_point.supporting_access_point:
                return candidate
        return None
