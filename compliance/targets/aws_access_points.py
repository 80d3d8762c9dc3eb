"""Every access point that reaches the audit bucket, read through S3 Control (read-only).

Sources (Amazon S3 User Guide and S3 Control API Reference):
* "Managing access to shared datasets with access points": ListAccessPoints with `Bucket` lists the access points
  the account owns on the bucket, with NetworkOrigin and VpcConfiguration; GetAccessPointPolicy and
  GetAccessPointPolicyStatus give each one's policy. Access points other accounts own on the bucket cannot be
  listed by the bucket owner; they only reach the records when the bucket policy lets them, which is what
  `ChainEvaluator.via_access_point` evaluates.
* "Multi-Region Access Points": the control-plane requests go to us-west-2 only
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRestrictions.html);
  ListMultiRegionAccessPoints gives each one's Regions[].Bucket, GetMultiRegionAccessPointPolicy its
  Established policy. The ARN is arn:aws:s3::ACCOUNT:accesspoint/ALIAS.
* "Transforming objects with S3 Object Lambda": an Object Lambda access point reads through a supporting access
  point (GetAccessPointConfigurationForObjectLambda → SupportingAccessPoint), so it can reach the bucket only
  when a standard access point on the bucket exists. With none (the embedded default, and most chains), Object
  Lambda access points are a documented absence without a call; with some, a failed read is a failure (ERROR
  for any check that needs it), never an empty list. moto implements no Object Lambda API (404), so a moto
  deployment with access points shows that failure honestly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from compliance.targets.snapshot import AccessPointKind, AccessPointSnapshot, NetworkOrigin, Read

MRAP_CONTROL_REGION = "us-west-2"
NO_SUPPORTING_ACCESS_POINT = "NoSupportingAccessPoint"
"""Absence code for Object Lambda access points when no standard access point is on the bucket."""

ReadFn = Callable[..., Read[Any]]
"""`read(api, fn, absent=...)` from aws_reader (kept as a parameter to avoid an import cycle)."""


def _policy_text(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _origin(value: str | None) -> NetworkOrigin:
    return NetworkOrigin.VPC if (value or "").upper() == "VPC" else NetworkOrigin.INTERNET


def standard(s3control: Any, account: str, bucket: str, read: ReadFn) -> tuple[AccessPointSnapshot, ...]:
    """The account's access points on `bucket`, each with its policy (absent when none) and policy status."""
    out: list[AccessPointSnapshot] = []
    for ap in _pages(s3control.list_access_points, "AccessPointList", AccountId=account, Bucket=bucket):
        if ap.get("Bucket") not in (None, bucket):
            continue
        name = ap["Name"]
        out.append(AccessPointSnapshot(
            kind=AccessPointKind.STANDARD, name=name, arn=ap["AccessPointArn"], alias=ap.get("Alias"),
            account=account, network_origin=_origin(ap.get("NetworkOrigin")),
            vpc_id=(ap.get("VpcConfiguration") or {}).get("VpcId"),
            policy=read("s3control:GetAccessPointPolicy", lambda n=name: _policy_text(
                s3control.get_access_point_policy(AccountId=account, Name=n)["Policy"]),
                absent=["NoSuchAccessPointPolicy"]),
            policy_is_public=read("s3control:GetAccessPointPolicyStatus", lambda n=name: bool(
                s3control.get_access_point_policy_status(AccountId=account, Name=n)["PolicyStatus"]["IsPublic"]),
                absent=["NoSuchAccessPointPolicy"]),
        ))
    return tuple(out)


def multi_region(s3control_west: Any, account: str, bucket: str, read: ReadFn) -> tuple[AccessPointSnapshot, ...]:
    """Multi-Region Access Points of the account that include `bucket` in one of their Regions."""
    out: list[AccessPointSnapshot] = []
    for mrap in _pages(s3control_west.list_multi_region_access_points, "AccessPoints", AccountId=account):
        regions = mrap.get("Regions", [])
        if not any(r.get("Bucket") == bucket and r.get("BucketAccountId", account) == account for r in regions):
            continue
        name = mrap["Name"]
        alias = mrap.get("Alias") or name
        out.append(AccessPointSnapshot(
            kind=AccessPointKind.MULTI_REGION, name=name, arn=f"arn:aws:s3::{account}:accesspoint/{alias}",
            alias=alias, account=account, network_origin=NetworkOrigin.INTERNET, vpc_id=None,
            policy=read("s3control:GetMultiRegionAccessPointPolicy", lambda n=name: _policy_text(
                s3control_west.get_multi_region_access_point_policy(AccountId=account, Name=n)
                ["Policy"].get("Established", {}).get("Policy")),
                absent=["NoSuchMultiRegionAccessPointPolicy"]),
            policy_is_public=read("s3control:GetMultiRegionAccessPointPolicyStatus", lambda n=name: bool(
                s3control_west.get_multi_region_access_point_policy_status(AccountId=account, Name=n)
                ["Established"]["IsPublic"]), absent=["NoSuchMultiRegionAccessPointPolicy"]),
        ))
    return tuple(out)


def object_lambda(s3control: Any, account: str, supporting: frozenset[str],
                  read: ReadFn) -> tuple[AccessPointSnapshot, ...]:
    """Object Lambda access points whose supporting access point is one of `supporting` (ARNs on the bucket)."""
    out: list[AccessPointSnapshot] = []
    for olap in _pages(s3control.list_access_points_for_object_lambda, "ObjectLambdaAccessPointList",
                       AccountId=account):
        name = olap["Name"]
        config = s3control.get_access_point_configuration_for_object_lambda(AccountId=account, Name=name)
        through = config["Configuration"]["SupportingAccessPoint"]
        if through not in supporting:
            continue
        alias = (olap.get("Alias") or {}).get("Value")
        out.append(AccessPointSnapshot(
            kind=AccessPointKind.OBJECT_LAMBDA, name=name, arn=olap["ObjectLambdaAccessPointArn"], alias=alias,
            account=account, network_origin=NetworkOrigin.INTERNET, vpc_id=None,
            policy=read("s3control:GetAccessPointPolicyForObjectLambda", lambda n=name: _policy_text(
                s3control.get_access_point_policy_for_object_lambda(AccountId=account, Name=n)["Policy"]),
                absent=["NoSuchAccessPointPolicy"]),
            policy_is_public=read("s3control:GetAccessPointPolicyStatusForObjectLambda", lambda n=name: bool(
                s3control.get_access_point_policy_status_for_object_lambda(AccountId=account, Name=n)
                ["PolicyStatus"]["IsPublic"]), absent=["NoSuchAccessPointPolicy"]),
            supporting_access_point=through,
        ))
    return tuple(out)


def object_lambda_read(s3control: Any, account: str, standard_read: Read[tuple[AccessPointSnapshot, ...]],
                       read: ReadFn) -> Read[tuple[AccessPointSnapshot, ...]]:
    """Object Lambda access points on the bucket: an absence when no standard access point could support one,
    the standard read's failure when that is unknown, else the read's own outcome."""
    api = "s3control:ListAccessPointsForObjectLambda"
    if standard_read.failure is not None:
        return Read(api, failure=standard_read.failure)
    arns = frozenset(ap.arn for ap in standard_read.value or ())
    if not arns:
        return Read(api, None, absent_code=NO_SUPPORTING_ACCESS_POINT)
    return read(api, lambda: object_lambda(s3control, account, arns, read))
