"""A request made through an access point: the hops S3 authorises, and the combined decision in words.

Amazon S3 User Guide, "Configuring IAM policies for using access points"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-points-policies.html): both the access point and
the underlying bucket must permit the request; access point policies name the access point's ARN
(arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME, objects as .../object/KEY); the condition keys
s3:DataAccessPointArn, s3:DataAccessPointAccount and s3:AccessPointNetworkOrigin describe the access point
("Internet" or "VPC"). "Transforming objects with S3 Object Lambda": the Object Lambda access point's policy is
evaluated for the s3-object-lambda action, and the request reaches the supporting access point with
aws:CalledVia s3-object-lambda.amazonaws.com.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from compliance.chain.explain import cause
from compliance.chain.view import AccessPointView, SourcedPolicy
from compliance.errors import ComplianceError
from compliance.iam import Decision, Evaluation, Request
from compliance.targets.snapshot import AccessPointKind

OBJECT_LAMBDA_SERVICE = "s3-object-lambda.amazonaws.com"


@dataclass(frozen=True, slots=True)
class Hop:
    """One authorisation S3 makes for a request through an access point."""

    label: str
    request: Request
    policy: SourcedPolicy | None
    is_bucket: bool


def _split(resource: str, bucket: str) -> str | None:
    """The object key of `resource` on `bucket` (None: the bucket itself)."""
    base = f"arn:aws:s3:::{bucket}"
    if resource == base:
        return None
    if resource.startswith(base + "/"):
        return resource[len(base) + 1:]
    raise ComplianceError(f"{resource} is not the bucket {bucket} or one of its objects; a request through an "
                          "access point is given as the request it stands for on the bucket")


def _point_context(point: AccessPointView) -> dict[str, str | tuple[str, ...]]:
    return {"s3:DataAccessPointArn": point.arn, "s3:DataAccessPointAccount": point.account,
            "s3:AccessPointNetworkOrigin": point.network_origin.value}


def _through(request: Request, point: AccessPointView, key: str | None,
             extra: dict[str, str | tuple[str, ...]]) -> Request:
    resource = point.arn if key is None else f"{point.arn}/object/{key}"
    return Request(request.principal, request.principal_account, request.action, resource, point.account,
                   {**request.context, **_point_context(point), **extra})


def access_point_requests(request: Request, point: AccessPointView, supporting: AccessPointView | None,
                          bucket: str) -> tuple[Hop, ...]:
    """The hops of `request` (as made directly on the bucket) when made through `point`, bucket last."""
    key = _split(request.resource, bucket)
    hops: list[Hop] = []
    via = point
    extra: dict[str, str | tuple[str, ...]] = {}
    if point.kind is AccessPointKind.OBJECT_LAMBDA:
        if supporting is None:
            raise ComplianceError(f"the Object Lambda access point {point.name} reads through "
                                  f"{point.supporting_access_point}, which is not an access point on the bucket")
        _, _, name = request.action.partition(":")
        olap = Request(request.principal, request.principal_account, f"s3-object-lambda:{name}", point.arn,
                       point.account, {**request.context, **_point_context(point)})
        hops.append(Hop(f"the {point.kind.value} policy of {point.name}", olap, point.policy, False))
        via = supporting
        extra = {"aws:CalledVia": (OBJECT_LAMBDA_SERVICE,), "aws:CalledViaFirst": OBJECT_LAMBDA_SERVICE,
                 "aws:CalledViaLast": OBJECT_LAMBDA_SERVICE}
    hops.append(Hop(f"the {via.kind.value} policy of {via.name}", _through(request, via, key, extra),
                    via.policy, False))
    direct = Request(request.principal, request.principal_account, request.action, request.resource,
                     request.resource_account, {**request.context, **_point_context(via), **extra})
    hops.append(Hop("the bucket policy", direct, None, True))
    return tuple(hops)


def _hop_words(label: str, evaluation: Evaluation) -> str:
    if evaluation.allowed():
        reason = evaluation.reason
        by = f" (statement {reason.statement})" if reason is not None and reason.statement else ""
        return f"{label} allows it{by}"
    return f"{label} does not: {cause(evaluation)}"


class HopDecision(NamedTuple):
    """One policy's decision on the request as it passes through (the access point, then the bucket)."""

    label: str
    """Which policy decided: "the access point policy of X", "the bucket policy"."""
    evaluation: Evaluation


@dataclass(frozen=True, slots=True)
class AccessPointEvaluation:
    """The decision on a request made through an access point: every hop must allow it."""

    access_point: AccessPointView
    request: Request
    """The request as it would be made directly on the bucket."""
    hops: tuple[HopDecision, ...]

    @property
    def decision(self) -> Decision:
        decisions = [evaluation.decision for _, evaluation in self.hops]
        if Decision.EXPLICIT_DENY in decisions:
            return Decision.EXPLICIT_DENY
        if Decision.IMPLICIT_DENY in decisions:
            return Decision.IMPLICIT_DENY
        return Decision.ALLOW

    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def through(self) -> Evaluation:
        """The access point's own decision (the first hop)."""
        return self.hops[0].evaluation

    @property
    def bucket(self) -> Evaluation:
        """The bucket's decision (the last hop)."""
        return self.hops[-1].evaluation

    @property
    def deciding(self) -> HopDecision:
        """The hop that decided: the first explicit deny, else the first implicit deny, else the bucket."""
        for wanted in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY):
            for hop in self.hops:
                if hop.evaluation.decision is wanted:
                    return hop
        return self.hops[-1]

    def summary(self) -> str:
        verdict = "allowed" if self.allowed() else "denied"
        what = f"{self.request.action} on {self.request.resource} through {self.access_point.label}"
        return f"{what} is {verdict}: " + "; ".join(_hop_words(label, e) for label, e in self.hops) + "."

    def to_json(self) -> dict[str, Any]:
        return {"access_point": {"name": self.access_point.name, "arn": self.access_point.arn,
                                 "kind": self.access_point.kind.value,
                                 "network_origin": self.access_point.network_origin.value},
                "decision": self.decision.value, "allowed": self.allowed(), "summary": self.summary(),
                "hops": [{"label": label, **evaluation.to_json()} for label, evaluation in self.hops]}
