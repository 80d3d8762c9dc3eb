"""Fixes built from the finding: each kind is applied to the failing policy, and the check must then PASS.

Never a widened Deny: every rewritten Deny keeps its effect, actions, resources, principals and conditions and only
gains an exemption, so it still denies everyone else.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

import pytest

from compliance.chain.view import ChainView
from compliance.checks.test_aws_bucket import test_aws_bucket_policy_denies_no_intended_write as bucket_check
from compliance.checks.test_aws_trust import test_aws_trust_network_conditions_admit_vendor_ips as network_check
from compliance.config import Chain, default_chain_path, load_chain_config
from compliance.evidence.html_check import detail_html
from compliance.evidence.record import Record
from compliance.model import CheckMeta, Finding, Provider, Severity, Status
from compliance.targets.aws_moto import MotoAwsTarget
from compliance.targets.deployment import load_deployment
from compliance.targets.snapshot import AwsSnapshot, Read

from .conftest import EXTERNAL_ID

VENDOR = "arn:aws:iam::999988887777:role/ExportService"
ROLE = "arn:aws:iam::111122223333:role/QualioExportRole"
BUCKET = "company-audit-reports"
PUBLISHED = ("203.0.113.0/24",)


@pytest.fixture(scope="module")
def ref_chain() -> Chain:
    os.environ.setdefault("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    return load_chain_config(default_chain_path(), require_secrets=False).chains[0]


@pytest.fixture(scope="module")
def snapshot(ref_chain: Chain) -> AwsSnapshot:
    target = MotoAwsTarget(load_deployment())
    target.start()
    try:
        return target.snapshot(ref_chain)
    finally:
        target.stop()


def _with_bucket_policy(snapshot: AwsSnapshot, statements: list[dict[str, Any]]) -> AwsSnapshot:
    bucket = snapshot.bucket.value
    assert bucket is not None
    policy = Read("s3:GetBucketPolicy", {"Version": "2012-10-17", "Statement": statements})
    return replace(snapshot, bucket=Read(snapshot.bucket.api, replace(bucket, policy=policy)))


def _with_trust(snapshot: AwsSnapshot, statements: list[dict[str, Any]]) -> AwsSnapshot:
    role = snapshot.role.value
    assert role is not None
    trust = {"Version": "2012-10-17", "Statement": statements}
    return replace(snapshot, role=Read(snapshot.role.api, replace(role, trust_policy=trust)))


def _with_ips(chain: Chain, ips: tuple[str, ...]) -> Chain:
    return replace(chain, vendor=replace(chain.vendor, source_ips=ips))


def _tls() -> dict[str, Any]:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def _replace_sid(statements: list[dict[str, Any]], fixed: dict[str, Any]) -> list[dict[str, Any]]:
    return [fixed if s.get("Sid") == fixed.get("Sid") else s for s in statements]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _assert_only_narrowed(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The rewritten Deny keeps everything it had and only gains exemptions (never widened)."""
    assert after["Effect"] == before["Effect"] == "Deny"
    for element in ("Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal"):
        if element in before:
            assert after[element] == before[element], element
    for operator, block in (before.get("Condition") or {}).items():
        for key, values in block.items():
            now = after["Condition"][operator][key]
            assert set(_listed(values)) <= set(_listed(now)), (operator, key)


def _fix_of(finding: Finding) -> dict[str, Any]:
    assert finding.status is Status.FAIL and finding.remediation is not None, finding
    fix = finding.remediation.fix
    assert isinstance(fix, dict)
    statement: dict[str, Any] = fix["Statement"]
    return statement


def test_bucket_deny_catching_the_role_is_rewritten_to_exempt_it(ref_chain: Chain, snapshot: AwsSnapshot) -> None:
    only_admins = {"Sid": "OnlyAdminsWrite", "Effect": "Deny",
                   "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
                   "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    statements = [_tls(), only_admins]
    finding = bucket_check(ChainView(ref_chain, _with_bucket_policy(snapshot, statements)))
    fixed = _fix_of(finding)
    _assert_only_narrowed(only_admins, fixed)
    assert fixed["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [ROLE]
    assert "never widen a Deny" in finding.remediation.summary  # type: ignore[union-attr]
    after = bucket_check(ChainView(ref_chain, _with_bucket_policy(snapshot, _replace_sid(statements, fixed))))
    assert after.status is Status.PASS, after.message


def test_existing_role_exemption_gets_the_role_added(ref_chain: Chain, snapshot: AwsSnapshot) -> None:
    deny = {"Sid": "OnlyPipelineWrites", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Pipeline"}}}
    statements = [_tls(), deny]
    fixed = _fix_of(bucket_check(ChainView(ref_chain, _with_bucket_policy(snapshot, statements))))
    _assert_only_narrowed(deny, fixed)
    assert fixed["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/Pipeline",
                                                                     ROLE]
    after = bucket_check(ChainView(ref_chain, _with_bucket_policy(snapshot, _replace_sid(statements, fixed))))
    assert after.status is Status.PASS, after.message


def test_bucket_ip_deny_allows_the_published_cidrs(ref_chain: Chain, snapshot: AwsSnapshot) -> None:
    published = _with_ips(ref_chain, PUBLISHED)
    deny = {"Sid": "OfficeOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*", "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}
    statements = [_tls(), deny]
    finding = bucket_check(ChainView(published, _with_bucket_policy(snapshot, statements)))
    fixed = _fix_of(finding)
    _assert_only_narrowed(deny, fixed)
    assert fixed["Condition"]["NotIpAddress"]["aws:SourceIp"] == ["198.51.100.0/24", *PUBLISHED]
    assert "ArnNotEquals" not in fixed["Condition"]
    after = bucket_check(ChainView(published, _with_bucket_policy(snapshot, _replace_sid(statements, fixed))))
    assert after.status is Status.PASS, after.message


def test_bucket_ip_deny_without_published_ranges_explains_the_placeholder(ref_chain: Chain,
                                                                          snapshot: AwsSnapshot) -> None:
    deny = {"Sid": "OfficeOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*", "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}
    finding = bucket_check(ChainView(_with_ips(ref_chain, ()), _with_bucket_policy(snapshot, [_tls(), deny])))
    fixed = _fix_of(finding)
    _assert_only_narrowed(deny, fixed)
    assert fixed["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [ROLE]
    note = finding.remediation.note  # type: ignore[union-attr]
    assert "192.0.2.10" in note and "vendor.source_ips" in note and "RFC 5737" in note


def test_trust_source_ip_without_published_ranges_is_removed_and_explained(ref_chain: Chain,
                                                                           snapshot: AwsSnapshot) -> None:
    statement = {"Sid": "VendorAssumes", "Effect": "Allow", "Principal": {"AWS": VENDOR},
                 "Action": ["sts:AssumeRole", "sts:TagSession"],
                 "Condition": {"StringEquals": {"sts:ExternalId": os.environ["EXPORT_EXTERNAL_ID"]},
                               "IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}
    unpublished = _with_ips(ref_chain, ())
    finding = network_check(ChainView(unpublished, _with_trust(snapshot, [statement])))
    fixed = _fix_of(finding)
    assert "IpAddress" not in fixed["Condition"]
    assert os.environ["EXPORT_EXTERNAL_ID"] not in json.dumps(fixed)  # the ExternalId is a secret
    assert fixed["Condition"]["StringEquals"]["sts:ExternalId"] == "<the ExternalId from $EXPORT_EXTERNAL_ID>"
    note = finding.remediation.note  # type: ignore[union-attr]
    assert "192.0.2.10" in note and "vendor.source_ips" in note
    applied = {**fixed, "Condition": {**fixed["Condition"],
                                      "StringEquals": {"sts:ExternalId": os.environ["EXPORT_EXTERNAL_ID"]}}}
    after = network_check(ChainView(unpublished, _with_trust(snapshot, [applied])))
    assert after.status is Status.PASS, after.message


def test_trust_source_ip_is_rewritten_to_the_published_cidrs(ref_chain: Chain, snapshot: AwsSnapshot) -> None:
    statement = {"Sid": "VendorAssumes", "Effect": "Allow", "Principal": {"AWS": VENDOR},
                 "Action": ["sts:AssumeRole", "sts:TagSession"],
                 "Condition": {"StringEquals": {"sts:ExternalId": os.environ["EXPORT_EXTERNAL_ID"],
                                                "aws:SourceVpce": "vpce-0abc"},
                               "IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}
    published = _with_ips(ref_chain, PUBLISHED)
    finding = network_check(ChainView(published, _with_trust(snapshot, [statement])))
    fixed = _fix_of(finding)
    assert fixed["Condition"]["IpAddress"]["aws:SourceIp"] == list(PUBLISHED)
    assert "aws:SourceVpce" not in json.dumps(fixed)
    applied = {**fixed, "Condition": {**fixed["Condition"],
                                      "StringEquals": {"sts:ExternalId": os.environ["EXPORT_EXTERNAL_ID"]}}}
    after = network_check(ChainView(published, _with_trust(snapshot, [applied])))
    assert after.status is Status.PASS, after.message


def test_passing_findings_carry_no_specific_fix_and_the_report_shows_it(ref_chain: Chain,
                                                                         snapshot: AwsSnapshot) -> None:
    passing = bucket_check(ChainView(ref_chain, _with_bucket_policy(snapshot, [_tls()])))
    assert passing.status is Status.PASS and passing.remediation is None
    deny = {"Sid": "OnlyAdminsWrite", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/A"},
            "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    failing = bucket_check(ChainView(ref_chain, _with_bucket_policy(snapshot, [_tls(), deny])))
    meta = CheckMeta(id="aws_bucket_policy_denies_no_intended_write", title="", severity=Severity.HIGH,
                     provider=Provider.AWS, rationale="", remediation="General advice.", controls=(), permissions=())
    page = detail_html(Record(meta, "c", failing, "", ""), [])
    assert "For this finding:" in page and "ArnNotEquals" in page and "In general: General advice." in page
    assert "widen the statement" not in page.lower()
