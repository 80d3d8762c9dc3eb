"""Snapshot reads for issue 10 items 3-5: organization context, RCP levels, access points of every kind.

Each read keeps its API name and error code on failure; absences are documented (no organization, no access
point that could support an Object Lambda access point); every call the reader makes is in the read-action table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from compliance.permission_vocabulary import READ_ACTIONS
from compliance.targets.aws_moto import MotoAwsTarget, account_session
from compliance.targets.aws_reader import AwsReader, CallLog, instrument_session
from compliance.targets.deployment import validate
from compliance.targets.snapshot import AccessPointKind, AwsSnapshot, NetworkOrigin, ReadFailure

from .conftest import EXTERNAL_ID, reference_deployment
from .test_snapshot_reference import CUSTOMER, make_chain

BUCKET = "company-audit-reports"


def _deployment() -> dict[str, Any]:
    data = reference_deployment()
    customer = data["aws"]["accounts"][CUSTOMER]
    bucket = next(b for b in customer["buckets"] if b["name"] == BUCKET)
    bucket["access_points"] = [
        {"name": "audit-readers", "policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CUSTOMER}:role/AuditReader"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:us-east-1:{CUSTOMER}:accesspoint/audit-readers/object/qualio/*"}]}},
        {"name": "vpc-only", "vpc_id": "vpc-0a1b2c3d"}]
    customer["multi_region_access_points"] = [{"name": "global-reports", "buckets": [BUCKET]},
                                              {"name": "elsewhere", "buckets": ["company-audit-access-logs"]}]
    org = data["aws"]["organization"]
    org["rcps"] = {"EnforceTls": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}]}}
    org["root_rcps"] = ["EnforceTls"]
    return data


@pytest.fixture(scope="module")
def target() -> Iterator[MotoAwsTarget]:
    t = MotoAwsTarget(validate("access-points", _deployment()), env={"EXPORT_EXTERNAL_ID": EXTERNAL_ID})
    t.start()
    try:
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
def snapshot(target: MotoAwsTarget) -> AwsSnapshot:
    return target.snapshot(make_chain())


def test_org_context_and_rcp_levels(snapshot: AwsSnapshot, target: MotoAwsTarget) -> None:
    org = snapshot.org_context.value
    assert org is not None and org.organization_id == target.org_ids["id"]
    assert org.org_path == f"{target.org_ids['id']}/{target.org_ids['root']}/{target.org_ids['ou/Regulated']}/"
    levels = snapshot.rcps.value
    assert levels is not None
    assert [(level.target_type, [p.name for p in level.policies]) for level in levels] == [
        ("ROOT", ["RCPFullAWSAccess", "EnforceTls"]), ("ORGANIZATIONAL_UNIT", ["RCPFullAWSAccess"]),
        ("ACCOUNT", ["RCPFullAWSAccess"])]
    assert snapshot.to_json()["org_context"]["value"]["org_path"] == org.org_path


def test_access_points_of_every_kind(snapshot: AwsSnapshot) -> None:
    standard = {p.name: p for p in snapshot.access_points.value or ()}
    assert set(standard) == {"audit-readers", "vpc-only"}
    assert standard["vpc-only"].network_origin is NetworkOrigin.VPC and standard["vpc-only"].vpc_id == "vpc-0a1b2c3d"
    assert standard["vpc-only"].policy.absent
    mraps = snapshot.multi_region_access_points.value or ()
    assert [(m.name, m.kind) for m in mraps] == [("global-reports", AccessPointKind.MULTI_REGION)]
    assert mraps[0].arn == f"arn:aws:s3::{CUSTOMER}:accesspoint/{mraps[0].alias}"
    assert mraps[0].policy.absent_code == "NoSuchMultiRegionAccessPointPolicy"
    # moto has no Object Lambda API and a deployment cannot declare one: the moto target records an absence
    assert snapshot.object_lambda_access_points.absent_code == "NotInDeployment"


def test_object_lambda_read_elsewhere_is_a_failure(target: MotoAwsTarget) -> None:
    """The reader itself (as live mode uses it) keeps the 404 as a failure once a supporting access point exists."""
    session = account_session(CUSTOMER)
    instrument_session(session, CallLog(), read_only=True)
    olap = AwsReader(session).read_access_points(make_chain())["object_lambda_access_points"]
    assert olap.failure is not None and olap.failure.api == "s3control:ListAccessPointsForObjectLambda"


def test_every_call_is_in_the_read_action_table(snapshot: AwsSnapshot) -> None:
    calls = {f"{c.service}:{c.operation}" for c in snapshot.api_calls}
    assert {"s3control:ListAccessPoints", "s3control:GetAccessPointPolicy", "s3control:GetAccessPointPolicyStatus",
            "s3control:ListMultiRegionAccessPoints", "s3control:GetMultiRegionAccessPointPolicy"} <= calls
    assert calls <= set(READ_ACTIONS), calls - set(READ_ACTIONS)


def test_unreadable_organization_fails_every_org_read(target: MotoAwsTarget) -> None:
    failure = ReadFailure("sts:AssumeRole", "AccessDenied", "the Organizations role could not be assumed")
    log = CallLog()
    session = account_session(CUSTOMER)
    instrument_session(session, log, read_only=True)
    reader = AwsReader(session, org_failure=failure)
    chain = make_chain()
    for got in (reader.read_scps(chain), reader.read_rcps(chain), reader.read_org_context(chain)):
        assert got.failure == failure


def test_member_account_cannot_read_its_organization(target: MotoAwsTarget) -> None:
    """Without the management account, the org context is a failure with the API and code, never an absence."""
    session = account_session(CUSTOMER)
    instrument_session(session, CallLog(), read_only=True)
    context = AwsReader(session).read_org_context(make_chain())
    assert context.failure is not None and context.failure.api == "organizations:DescribeOrganization"


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: d["aws"]["organization"]["root_rcps"].append("Missing"), "aws.organization.root_rcps"),
    (lambda d: d["aws"]["accounts"][CUSTOMER]["buckets"][1]["access_points"].append({"policy": {}}),
     "access_points[2].name"),
    (lambda d: d["aws"]["accounts"][CUSTOMER]["multi_region_access_points"].append({"name": "x"}),
     "multi_region_access_points[2].buckets"),
    (lambda d: d["aws"]["organization"].update(bogus=1), "aws.organization.bogus"),
])
def test_bad_deployment_keys_are_one_line_errors(change: Any, where: str) -> None:
    from compliance.errors import ConfigError

    data = _deployment()
    change(data)
    with pytest.raises(ConfigError) as info:
        validate("bad.json", data)
    assert where in str(info.value)
