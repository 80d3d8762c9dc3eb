"""Access points (issue 10, item 5): read from moto deployments, then decided with
`ChainEvaluator.via_access_point` for concrete requests.

From the S3 User Guide ("Configuring IAM policies for using access points", "Delegating access control to access
points"): both the access point and the bucket must permit a request made through an access point. The
documented delegation (the bucket allows any access point its account owns, via s3:DataAccessPointAccount) with a
restrictive access point policy keeps the records closed; an access point policy granting "*" or another account
opens them; a bucket policy without the delegation closes every access point to outsiders.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.requests import principal_caller
from compliance.chain.view import AccessPointView, ChainView
from compliance.config import Chain
from compliance.errors import ReadError
from compliance.iam import Decision, Request
from compliance.plugin import PACKAGE_DIR
from compliance.targets.aws_moto import MotoAwsTarget, account_session
from compliance.targets.aws_reader import AwsReader, CallLog, instrument_session
from compliance.targets.snapshot import (
    AccessPointKind,
    AccessPointSnapshot,
    AwsSnapshot,
    NetworkOrigin,
    Read,
    ReadFailure,
)

from .chain_helpers import BUCKET, audit_bucket, customer, deployment_from, provision, reference_bucket_statements, view

ACCOUNT = "111122223333"
STRANGER = "444455556666"
REGION = "us-east-1"
RECORD = f"arn:aws:s3:::{BUCKET}/qualio/2026/11/28/audit-trail-export.pdf"
READER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AuditReader"


def ap_arn(name: str) -> str:
    return f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/{name}"


DELEGATION: dict[str, Any] = {
    "Sid": "DelegateToAccountAccessPoints", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"StringEquals": {"s3:DataAccessPointAccount": ACCOUNT}}}


def ap_policy(name: str, principal: Any, actions: list[str], key: str = "qualio/*") -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": f"{name}-grant", "Effect": "Allow", "Principal": principal, "Action": actions,
        "Resource": f"{ap_arn(name)}/object/{key}"}]}


def restrictive_policy(name: str) -> dict[str, Any]:
    return ap_policy(name, {"AWS": READER_ROLE}, ["s3:GetObject"])


def deployment(reference: dict[str, Any], *, delegation: bool, points: list[dict[str, Any]],
               extra_bucket_statements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(reference)
    bucket = audit_bucket(data)
    statements = [*reference_bucket_statements(), *([DELEGATION] if delegation else []),
                  *(extra_bucket_statements or [])]
    bucket["policy"] = {"Version": "2012-10-17", "Statement": statements}
    bucket["access_points"] = points
    return data


def chain_view(data: dict[str, Any], chain: Chain) -> ChainView:
    return view(chain, provision(deployment_from(data), chain))


def request(principal: str, action: str = "s3:GetObject", resource: str = RECORD) -> Request:
    caller = principal_caller(principal, principal)
    return Request(caller.arn, caller.account, action, resource, ACCOUNT,
                   {**caller.context, "aws:SecureTransport": "true"})


def through(cv: ChainView, point: AccessPointView, principal: str, action: str = "s3:GetObject") -> Any:
    return ChainEvaluator(cv, positive=False).via_access_point(request(principal, action), point)


def only(cv: ChainView, kind: AccessPointKind = AccessPointKind.STANDARD) -> AccessPointView:
    (point,) = cv.access_points(kind)
    return point


OUTSIDERS = (f"arn:aws:iam::{STRANGER}:root", "*", "arn:aws:iam::999988887777:role/ExportService")


# -- reading ------------------------------------------------------------------------------------------------------


def test_access_points_are_read_with_policy_and_origin(reference_deployment: dict[str, Any],
                                                       ref_chain: Chain) -> None:
    data = deployment(reference_deployment, delegation=True, points=[
        {"name": "audit-readers", "policy": restrictive_policy("audit-readers")},
        {"name": "no-policy"}])
    snapshot = provision(deployment_from(data), ref_chain)
    points = {p.name: p for p in snapshot.access_points.value or ()}
    assert set(points) == {"audit-readers", "no-policy"}
    assert points["audit-readers"].arn == ap_arn("audit-readers")
    assert points["audit-readers"].network_origin is NetworkOrigin.INTERNET
    policy = points["audit-readers"].policy.value
    assert policy is not None and policy["Statement"][0]["Sid"] == "audit-readers-grant"
    assert points["no-policy"].policy.absent and points["no-policy"].policy.absent_code == "NoSuchAccessPointPolicy"
    views = {p.name: p for p in view(ref_chain, snapshot).access_points(AccessPointKind.STANDARD)}
    assert views["audit-readers"].policy is not None and views["no-policy"].policy is None
    assert views["audit-readers"].kind is AccessPointKind.STANDARD and views["audit-readers"].alias


def test_object_lambda_on_moto_is_an_absence_elsewhere_a_failure(
        reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    """moto implements no Object Lambda API (404). The moto target's chain cannot have one (a deployment cannot
    declare it), so there it is a documented absence; read from any other endpoint, an access point on the bucket
    means one could exist, so the same 404 is a failure and a check needing every path is ERROR."""
    data = deployment(reference_deployment, delegation=True, points=[{"name": "audit-readers"}])
    target = MotoAwsTarget(deployment_from(data))
    target.start()
    try:
        emulated = target.snapshot(ref_chain)
        session = account_session(ACCOUNT)
        instrument_session(session, CallLog(), read_only=True)
        direct = AwsReader(session).read_access_points(ref_chain)["object_lambda_access_points"]
    finally:
        target.stop()
    assert emulated.object_lambda_access_points.absent_code == "NotInDeployment"
    assert [p.name for p in view(ref_chain, emulated).access_points()] == ["audit-readers"]
    assert direct.failure is not None and direct.failure.api == "s3control:ListAccessPointsForObjectLambda"
    with pytest.raises(ReadError) as info:
        view(ref_chain, replace(emulated, object_lambda_access_points=direct)).access_points()
    assert info.value.api == "s3control:ListAccessPointsForObjectLambda"


def test_no_access_point_means_no_object_lambda_path(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    """The embedded default: no access point on the bucket, so no Object Lambda access point can reach it."""
    assert reference_snapshot.object_lambda_access_points.absent_code == "NoSupportingAccessPoint"
    assert view(ref_chain, reference_snapshot).access_points() == ()


def test_unreadable_access_point_policy_is_an_error(reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    data = deployment(reference_deployment, delegation=True, points=[{"name": "audit-readers"}])
    snapshot = provision(deployment_from(data), ref_chain)
    (point,) = snapshot.access_points.value or ()
    denied: Read[Any] = Read("s3control:GetAccessPointPolicy",
                  failure=ReadFailure("s3control:GetAccessPointPolicy", "AccessDenied", "test"))
    blind = replace(snapshot, access_points=Read("s3control:ListAccessPoints", (replace(point, policy=denied),)))
    with pytest.raises(ReadError) as info:
        view(ref_chain, blind).access_points(AccessPointKind.STANDARD)
    assert (info.value.api, info.value.code) == ("s3control:GetAccessPointPolicy", "AccessDenied")


# -- deciding: the documented delegation ---------------------------------------------------------------------------


def test_delegation_with_restrictive_policy_keeps_the_records_closed(reference_deployment: dict[str, Any],
                                                                    ref_chain: Chain) -> None:
    """SECURE: the bucket delegates to the account's access points; the access point admits only the reader."""
    cv = chain_view(deployment(reference_deployment, delegation=True,
                               points=[{"name": "audit-readers", "policy": restrictive_policy("audit-readers")}]),
                    ref_chain)
    point = only(cv)
    for outsider in OUTSIDERS:
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            result = through(cv, point, outsider, action)
            assert not result.allowed(), result.summary()
    reader = through(cv, point, READER_ROLE)
    assert reader.allowed(), reader.summary()
    assert "audit-readers-grant" in reader.summary() and "DelegateToAccountAccessPoints" in reader.summary()
    hop_resources = [e.request.resource for _, e in reader.hops]
    assert hop_resources == [f"{ap_arn('audit-readers')}/object/qualio/2026/11/28/audit-trail-export.pdf", RECORD]
    assert reader.bucket.request.context["s3:DataAccessPointAccount"] == ACCOUNT


def test_reader_identity_grant_on_the_access_point_is_enough_with_delegation(
        reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    """SECURE: the reader's own policy names only the access point (the documented IAM policy), the bucket
    delegates, so the reader reads; the same identity grant without the delegation is not enough."""
    from compliance.iam import PolicyKind, parse_policy

    identity = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{ap_arn('audit-readers')}/object/*"}]},
        kind=PolicyKind.IDENTITY, name="AuditReaderPolicy")
    for delegation, allowed in ((True, True), (False, False)):
        cv = chain_view(deployment(reference_deployment, delegation=delegation,
                                   points=[{"name": "audit-readers", "policy": restrictive_policy("audit-readers")}]),
                        ref_chain)
        result = ChainEvaluator(cv, positive=False).via_access_point(request(READER_ROLE), only(cv),
                                                                     identity_policies=[identity])
        assert result.allowed() is allowed, result.summary()


@pytest.mark.parametrize(("grantee", "action", "caller"), [
    ("*", "s3:GetObject", "*"),  # BROKEN: anyone, anonymous included, reads the records
    ({"AWS": "*"}, "s3:GetObject", f"arn:aws:iam::{STRANGER}:root"),  # BROKEN: every AWS account reads
    ({"AWS": STRANGER}, "s3:GetObject", f"arn:aws:iam::{STRANGER}:user/attacker"),  # BROKEN: another account reads
    ({"AWS": f"arn:aws:iam::{STRANGER}:root"}, "s3:PutObject", f"arn:aws:iam::{STRANGER}:root"),  # BROKEN: writes
])
def test_open_access_point_policy_opens_the_records(reference_deployment: dict[str, Any], ref_chain: Chain,
                                                    grantee: Any, action: str, caller: str) -> None:
    cv = chain_view(deployment(reference_deployment, delegation=True, points=[
        {"name": "partner-share", "policy": ap_policy("partner-share", grantee, [action])}]), ref_chain)
    result = through(cv, only(cv), caller, action)
    assert result.allowed(), result.summary()
    assert result.decision is Decision.ALLOW
    assert "partner-share" in result.summary() and "is allowed" in result.summary()


def test_bucket_policy_without_delegation_closes_every_access_point(reference_deployment: dict[str, Any],
                                                                   ref_chain: Chain) -> None:
    """SECURE look-alike of the open policy: the access point grants "*", but the bucket does not delegate."""
    cv = chain_view(deployment(reference_deployment, delegation=False, points=[
        {"name": "partner-share", "policy": ap_policy("partner-share", "*", ["s3:GetObject", "s3:PutObject"])}]),
        ref_chain)
    point = only(cv)
    for outsider in OUTSIDERS:
        for action in ("s3:GetObject", "s3:PutObject"):
            result = through(cv, point, outsider, action)
            assert not result.allowed(), result.summary()
            assert result.through.allowed(), "the access point itself admits the caller"
            assert result.deciding[0] == "the bucket policy"
            assert "the bucket policy does not" in result.summary()


def test_bucket_deny_applies_through_an_access_point(reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    """SECURE: an explicit bucket-policy Deny on reading the records closes the open access point too."""
    deny = {"Sid": "NoOneReadsRecords", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/qualio/*"}
    cv = chain_view(deployment(reference_deployment, delegation=True, extra_bucket_statements=[deny],
                               points=[{"name": "partner-share", "policy": ap_policy("partner-share", "*",
                                                                                     ["s3:GetObject"])}]), ref_chain)
    result = through(cv, only(cv), f"arn:aws:iam::{STRANGER}:root")
    assert result.decision is Decision.EXPLICIT_DENY and "NoOneReadsRecords" in result.summary()


def test_delegation_limited_to_vpc_access_points(reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    """The bucket delegates only to VPC-origin access points: an open Internet access point stays closed
    (SECURE), the same policy on a VPC access point is open (BROKEN)."""
    vpc_only = copy.deepcopy(DELEGATION)
    vpc_only["Condition"]["StringEquals"]["s3:AccessPointNetworkOrigin"] = "VPC"
    data = deployment(reference_deployment, delegation=False, extra_bucket_statements=[vpc_only], points=[
        {"name": "internet-share", "policy": ap_policy("internet-share", "*", ["s3:GetObject"])},
        {"name": "vpc-share", "vpc_id": "vpc-0a1b2c3d", "policy": ap_policy("vpc-share", "*", ["s3:GetObject"])}])
    cv = chain_view(data, ref_chain)
    points = {p.name: p for p in cv.access_points(AccessPointKind.STANDARD)}
    assert points["vpc-share"].network_origin is NetworkOrigin.VPC and points["vpc-share"].vpc_id == "vpc-0a1b2c3d"
    stranger = f"arn:aws:iam::{STRANGER}:root"
    assert not through(cv, points["internet-share"], stranger).allowed()
    assert through(cv, points["vpc-share"], stranger).allowed()


def test_multi_region_access_point_policy_is_judged(reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    """BROKEN: a Multi-Region Access Point over the bucket lets every account read; SECURE: without its policy,
    the outsider is refused (no resource policy grants it)."""
    for policy, allowed in ((True, True), (False, False)):
        data = deployment(reference_deployment, delegation=True, points=[])
        mrap: dict[str, Any] = {"name": "global-reports", "buckets": [BUCKET]}
        if policy:
            mrap["policy"] = {"Version": "2012-10-17", "Statement": [{
                "Sid": "EveryoneReads", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3::{ACCOUNT}:accesspoint/*/object/*"}]}
        customer(data)["multi_region_access_points"] = [mrap]
        cv = chain_view(data, ref_chain)
        point = only(cv, AccessPointKind.MULTI_REGION)
        assert point.arn.startswith(f"arn:aws:s3::{ACCOUNT}:accesspoint/")
        result = through(cv, point, f"arn:aws:iam::{STRANGER}:root")
        assert result.allowed() is allowed, result.summary()


def _with_object_lambda(snapshot: AwsSnapshot, supporting_arn: str, olap_policy: Any) -> AwsSnapshot:
    olap = AccessPointSnapshot(
        kind=AccessPointKind.OBJECT_LAMBDA, name="redacting-olap",
        arn=f"arn:aws:s3-object-lambda:{REGION}:{ACCOUNT}:accesspoint/redacting-olap", alias="redacting-olap-alias",
        account=ACCOUNT, network_origin=NetworkOrigin.INTERNET, vpc_id=None,
        policy=Read("s3control:GetAccessPointPolicyForObjectLambda", olap_policy),
        policy_is_public=Read("s3control:GetAccessPointPolicyStatusForObjectLambda", True),
        supporting_access_point=supporting_arn)
    return replace(snapshot, object_lambda_access_points=Read("s3control:ListAccessPointsForObjectLambda", (olap,)))


def test_object_lambda_path_needs_its_policy_the_supporting_access_point_and_the_bucket(
        reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    """BROKEN: an open Object Lambda access point whose supporting access point admits calls made via
    s3-object-lambda (aws:CalledVia) opens the records; SECURE: the supporting access point admits only the
    reader, so the same open Object Lambda policy does not."""
    olap_policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "AnyoneUsesTheOlap", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3-object-lambda:*",
        "Resource": f"arn:aws:s3-object-lambda:{REGION}:{ACCOUNT}:accesspoint/redacting-olap"}]}
    via_lambda = {"Version": "2012-10-17", "Statement": [{
        "Sid": "ViaObjectLambda", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
        "Resource": f"{ap_arn('supporting')}/object/*",
        "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": "s3-object-lambda.amazonaws.com"}}}]}
    stranger = f"arn:aws:iam::{STRANGER}:root"
    for supporting_policy, allowed in ((via_lambda, True), (restrictive_policy("supporting"), False)):
        data = deployment(reference_deployment, delegation=True,
                          points=[{"name": "supporting", "policy": supporting_policy}])
        snapshot = _with_object_lambda(provision(deployment_from(data), ref_chain), ap_arn("supporting"),
                                       olap_policy)
        cv = view(ref_chain, snapshot)
        point = only(cv, AccessPointKind.OBJECT_LAMBDA)
        result = through(cv, point, stranger)
        assert result.allowed() is allowed, result.summary()
        assert [e.request.action for _, e in result.hops] == ["s3-object-lambda:GetObject", "s3:GetObject",
                                                              "s3:GetObject"]
        # a direct call to the supporting access point (not via Object Lambda) stays closed
        assert not through(cv, only(cv), stranger).allowed()


def test_documented_delegation_chain_passes_every_aws_check(pytester: pytest.Pytester, tmp_path: Path,
                                                            reference_deployment: dict[str, Any]) -> None:
    """SECURE: the documented delegation plus a restrictive access point policy (issue 10's fourth false FAIL)."""
    data = deployment(reference_deployment, delegation=True,
                      points=[{"name": "audit-readers", "policy": restrictive_policy("audit-readers")}])
    path = tmp_path / "delegation.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = pytester.runpytest_inprocess(str(PACKAGE_DIR), "--evidence-dir", str(tmp_path / "reports"),
                                          "--fuzz-examples", "25", "--deployment", str(path), "-k", "aws")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()[-2000:]
