"""The reference deployment provisioned into moto and read back: every snapshot field, and every read failure.

One provisioning per module (MotoAwsTarget owns the process-wide mock_aws while it runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from moto.core import enable_iam_authentication

from compliance.chain.view import ChainView
from compliance.checks.test_aws_identity import test_aws_configured_role_arn_matches_role as role_arn_check
from compliance.config import Chain, parse_chain_config
from compliance.errors import ReadError, ReadOnlyViolation
from compliance.model import Status
from compliance.plugin import _run_check
from compliance.targets.aws_live import LiveAwsTarget
from compliance.targets.aws_moto import MotoAwsTarget, account_session
from compliance.targets.aws_reader import (
    AwsReader,
    CallLog,
    _strip_account_host_prefix,
    guard_read_only,
    instrument_session,
    is_read_operation,
)
from compliance.targets.deployment import validate
from compliance.targets.snapshot import AwsSnapshot, KmsKey, ObjectLock, Read

from .conftest import EXTERNAL_ID, aws_only_chain, reference_deployment, to_toml

CUSTOMER = "111122223333"
MANAGEMENT = "222233334444"


def make_chain(**aws: Any) -> Chain:
    data = aws_only_chain()
    data["aws"].update(aws)
    return parse_chain_config(to_toml(data), "chain.toml", require_secrets=False).chains[0]


@pytest.fixture(scope="module")
def target() -> Iterator[MotoAwsTarget]:
    t = MotoAwsTarget(validate("reference", reference_deployment()), env={"EXPORT_EXTERNAL_ID": EXTERNAL_ID})
    t.start()
    try:
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
def snapshot(target: MotoAwsTarget) -> AwsSnapshot:
    return target.snapshot(make_chain())


def ok(read: Read[Any], api: str) -> Any:
    assert read.api == api
    assert read.failure is None, read.failure
    assert read.value is not None, f"{api} reported absence ({read.absent_code})"
    return read.value


# --- every field of the reference snapshot -----------------------------------------------------------------


def test_identity_fields(snapshot: AwsSnapshot) -> None:
    assert (snapshot.chain_id, snapshot.target, snapshot.account_id, snapshot.region) == (
        "qualio", "moto", CUSTOMER, "us-east-1")
    assert ok(snapshot.caller, "sts:GetCallerIdentity")["Account"] == CUSTOMER


def test_role_fields(snapshot: AwsSnapshot, target: MotoAwsTarget) -> None:
    role = ok(snapshot.role, "iam:GetRole")
    assert role.arn == f"arn:aws:iam::{CUSTOMER}:role/QualioExportRole"
    assert (role.name, role.path, role.max_session_duration) == ("QualioExportRole", "/", 3600)
    assert role.tags == {"purpose": "eqms-audit-export", "vendor": "qualio"}
    trust = role.trust_policy
    assert [s["Sid"] for s in trust["Statement"]] == ["VendorAssumesWithExternalId", "VendorPassesSsoSessionTags"]
    assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::999988887777:role/ExportService"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    inline = ok(role.inline_policies, "iam:ListRolePolicies")
    assert [p.name for p in inline] == ["WriteAuditExports"] and inline[0].arn is None
    statements = {s["Sid"]: s for s in inline[0].document["Statement"]}
    assert statements["UseBucketKey"]["Resource"] == target.kms_arns["audit-reports"]
    assert statements["PutExportsUnderPrefix"]["Resource"] == "arn:aws:s3:::company-audit-reports/qualio/*"
    assert role.managed_policies.api == "iam:ListAttachedRolePolicies" and role.managed_policies.value == ()
    assert role.permissions_boundary_arn is None
    assert role.permissions_boundary.api == "iam:GetPolicy" and role.permissions_boundary.absent


def test_bucket_fields(snapshot: AwsSnapshot, target: MotoAwsTarget) -> None:
    bucket = ok(snapshot.bucket, "s3:GetBucketLocation")
    assert bucket.name == "company-audit-reports"
    policy = ok(bucket.policy, "s3:GetBucketPolicy")
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport"]
    assert ok(bucket.public_access_block, "s3:GetPublicAccessBlock").all_on
    assert ok(bucket.ownership, "s3:GetBucketOwnershipControls") == "BucketOwnerEnforced"
    encryption = ok(bucket.encryption, "s3:GetBucketEncryption")
    key_arn = target.kms_arns["audit-reports"]
    assert (encryption.algorithm, encryption.kms_key_id, encryption.bucket_key_enabled) == ("aws:kms", key_arn, True)
    key = ok(bucket.kms_key, "kms:GetKeyPolicy")
    assert isinstance(key, KmsKey) and key.arn == key_arn and key_arn.endswith("/" + key.key_id)
    assert [s["Sid"] for s in key.policy["Statement"]] == ["EnableIamPolicies", "AllowExportRoleToEncrypt"]
    versioning = ok(bucket.versioning, "s3:GetBucketVersioning")
    assert (versioning.status, versioning.mfa_delete) == ("Enabled", None)
    lock = ok(bucket.object_lock, "s3:GetObjectLockConfiguration")
    assert lock == ObjectLock(True, "COMPLIANCE", 2555, None) and lock.retention_days == 2555
    logging = ok(bucket.logging, "s3:GetBucketLogging")
    assert (logging.target_bucket, logging.target_prefix) == ("company-audit-access-logs",
                                                              "s3-access/company-audit-reports/")
    assert bucket.replication.api == "s3:GetBucketReplication"
    assert bucket.replication.absent and bucket.replication.absent_code == "ReplicationConfigurationNotFoundError"
    listing = ok(bucket.newest_objects, "s3:ListObjectsV2")
    assert [o.key for o in listing.objects] == ["qualio/2026/11/28/audit-trail-export.pdf",
                                               "qualio/2026/11/27/audit-trail-export.pdf"]
    assert {o.size for o in listing.objects} == {len(b"%PDF-1.7 reference export")}
    assert all(o.last_modified.endswith("+00:00") for o in listing.objects) and not listing.truncated


def test_account_public_access_block(snapshot: AwsSnapshot) -> None:
    assert ok(snapshot.account_public_access_block, "s3:GetAccountPublicAccessBlock").all_on


def test_scps_along_the_ou_path(snapshot: AwsSnapshot) -> None:
    levels = ok(snapshot.scps, "organizations:ListPoliciesForTarget")
    assert [(lv.target_type, lv.name) for lv in levels] == [
        ("ROOT", "Root"), ("ORGANIZATIONAL_UNIT", "Regulated"), ("ACCOUNT", CUSTOMER)]
    assert levels[-1].target_id == CUSTOMER
    names = [[p.name for p in lv.policies] for lv in levels]
    assert names == [["FullAWSAccess"], ["FullAWSAccess", "ProtectAuditRecords"], ["FullAWSAccess"]]
    protect = levels[1].policies[1]
    assert protect.arn.startswith(f"arn:aws:organizations::{MANAGEMENT}:policy/")
    assert [s["Sid"] for s in protect.document["Statement"]] == ["DenyLeavingOrganization",
                                                                "DenyObjectLockTampering"]


def test_api_calls_are_logged_and_all_reads(snapshot: AwsSnapshot) -> None:
    ops = {(c.service, c.operation) for c in snapshot.api_calls}
    expected = {("sts", "GetCallerIdentity"), ("iam", "GetRole"), ("iam", "ListRolePolicies"),
                ("iam", "GetRolePolicy"), ("iam", "ListAttachedRolePolicies"), ("s3", "GetBucketLocation"),
                ("s3", "GetBucketPolicy"), ("s3", "GetPublicAccessBlock"), ("s3", "GetBucketOwnershipControls"),
                ("s3", "GetBucketEncryption"), ("kms", "DescribeKey"), ("kms", "GetKeyPolicy"), ("kms", "ListGrants"),
                ("s3", "ListBuckets"),  # the log target bucket: owned by the account?
                ("s3", "GetBucketVersioning"), ("s3", "GetObjectLockConfiguration"), ("s3", "GetBucketLogging"),
                ("s3", "GetBucketReplication"), ("s3", "ListObjectsV2"), ("s3control", "GetPublicAccessBlock"),
                ("organizations", "DescribeOrganization"), ("organizations", "ListParents"),
                ("organizations", "DescribeOrganizationalUnit"),
                ("organizations", "ListPoliciesForTarget"), ("organizations", "DescribePolicy"),
                ("s3control", "ListAccessPoints"), ("s3control", "ListMultiRegionAccessPoints")}
    assert ops == expected
    assert all(is_read_operation(c.operation) for c in snapshot.api_calls)
    replication = [c for c in snapshot.api_calls if c.operation == "GetBucketReplication"]
    assert [(c.status, c.error_code) for c in replication] == [(404, "ReplicationConfigurationNotFoundError")]


def test_snapshot_is_json_serialisable(snapshot: AwsSnapshot) -> None:
    data = json.loads(json.dumps(snapshot.to_json()))
    assert data["role"]["value"]["inline_policies"]["value"][0]["name"] == "WriteAuditExports"
    assert data["bucket"]["value"]["object_lock"]["value"] == {"enabled": True, "mode": "COMPLIANCE",
                                                               "days": 2555, "years": None}
    comparable = snapshot.comparable()
    assert set(data) - set(comparable) == {"api_calls", "caller", "target"}


def test_second_bucket_without_kms_lock_or_logging(target: MotoAwsTarget) -> None:
    """The access-log bucket: SSE-S3, no Object Lock, no versioning, no logging → documented absences."""
    bucket = ok(target.snapshot(make_chain(bucket="company-audit-access-logs", prefix="")).bucket,
                "s3:GetBucketLocation")
    assert ok(bucket.encryption, "s3:GetBucketEncryption").algorithm == "AES256"
    assert bucket.kms_key.absent and bucket.kms_key.absent_code == "NoKmsKeyConfigured"
    assert bucket.object_lock.absent and bucket.object_lock.absent_code == "ObjectLockConfigurationNotFoundError"
    assert ok(bucket.versioning, "s3:GetBucketVersioning").status is None
    assert bucket.logging.ok and bucket.logging.value is None
    assert ok(bucket.policy, "s3:GetBucketPolicy")["Statement"][0]["Sid"] == "S3ServerAccessLogs"
    # moto delivers server access logs of the reports bucket here, so only their prefix is predictable
    listing = ok(bucket.newest_objects, "s3:ListObjectsV2")
    assert all(o.key.startswith("s3-access/company-audit-reports/") for o in listing.objects)
    assert len(listing.objects) <= 5
    assert [o.last_modified for o in listing.objects] == sorted((o.last_modified for o in listing.objects),
                                                                reverse=True)


# --- read failures keep the API name and the error code -----------------------------------------------------


def test_missing_bucket_is_a_failure_not_an_absence(target: MotoAwsTarget) -> None:
    reader = AwsReader(account_session(CUSTOMER))
    bucket = reader.read_bucket(make_chain(bucket="no-such-audit-bucket"))  # snapshot()'s `bucket`
    assert bucket.failure is not None
    assert (bucket.failure.api, bucket.failure.code) == ("s3:GetBucketLocation", "NoSuchBucket")
    with pytest.raises(ReadError) as info:
        bucket.require()
    assert (info.value.api, info.value.code) == ("s3:GetBucketLocation", "NoSuchBucket")


def test_missing_role_fails_the_arn_check_and_errors_other_reads(target: MotoAwsTarget) -> None:
    chain = make_chain(role_arn=f"arn:aws:iam::{CUSTOMER}:role/NoSuchRole")
    snap = target.snapshot(chain)
    assert snap.role.failure is not None and (snap.role.failure.api, snap.role.failure.code) == (
        "iam:GetRole", "NoSuchEntity")
    with pytest.raises(ReadError):
        snap.role.require()  # every other role-dependent check → ERROR
    finding = _run_check(cast(pytest.Function, _Item(role_arn_check)), {"chain_view": ChainView(chain, snap)})
    assert finding.status is Status.FAIL
    assert finding.message.startswith("No role named NoSuchRole exists in account 111122223333")


class _Item:
    """The bit of a pytest item that the plugin's `_run_check` uses."""

    def __init__(self, fn: Any) -> None:
        self.obj = fn


@pytest.fixture
def limited_user(target: MotoAwsTarget) -> dict[str, str]:
    """An IAM user in the customer account whose policy lacks iam:GetRole (and iam:GetPolicy)."""
    iam = target.client("iam", CUSTOMER)
    name = "auditor-without-getrole"
    if not any(u["UserName"] == name for u in iam.list_users()["Users"]):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="reads", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "sts:GetCallerIdentity", "iam:List*", "iam:GetRolePolicy", "s3:*", "kms:*"]}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_access_denied_is_kept_and_the_check_reports_error(target: MotoAwsTarget,
                                                           limited_user: dict[str, str]) -> None:
    """moto IAM enforcement on: iam:GetRole → AccessDenied; the ARN check is ERROR, never PASS."""
    chain = make_chain()
    log = CallLog()
    session = account_session(CUSTOMER, **limited_user)
    instrument_session(session, log, read_only=True)
    with enable_iam_authentication():
        snap = AwsReader(session).snapshot(chain, target="moto", calls=log)
    assert snap.role.failure is not None
    assert (snap.role.failure.api, snap.role.failure.code) == ("iam:GetRole", "AccessDenied")
    assert "iam:GetRole" in snap.role.failure.message
    assert ok(snap.caller, "sts:GetCallerIdentity")["Arn"].endswith("user/auditor-without-getrole")
    assert [(c.status, c.error_code) for c in snap.api_calls if c.operation == "GetRole"] == [(403, "AccessDenied")]
    assert snap.to_json()["role"]["failure"]["code"] == "AccessDenied"

    with pytest.raises(ReadError) as info:
        role_arn_check(ChainView(chain, snap))
    assert (info.value.api, info.value.code) == ("iam:GetRole", "AccessDenied")
    finding = _run_check(cast(pytest.Function, _Item(role_arn_check)), {"chain_view": ChainView(chain, snap)})
    assert finding.status is Status.ERROR
    assert finding.message.startswith("Could not read iam:GetRole (AccessDenied)")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _error_response(request: Any, status: int, body: str, content_type: str) -> AWSResponse:
    return AWSResponse(request.url, status, {"Content-Type": content_type}, _Raw(body.encode()))


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's standard retries still happen, without sleeping between attempts."""
    delays: list[float] = []

    def delay_amount(self: ExponentialBackoff, context: Any) -> float:
        delays.append(context.attempt_number)
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", delay_amount)
    return delays


def _injected_session(event: str, respond: Any, log: CallLog) -> tuple[boto3.Session, list[int]]:
    sends: list[int] = []

    def handler(request: Any, **_: Any) -> AWSResponse:
        sends.append(1)
        return respond(request)

    session = account_session(CUSTOMER)
    instrument_session(session, log, read_only=True)
    session.events.register(event, handler)
    return session, sends


def test_throttling_is_retried_then_kept(target: MotoAwsTarget, no_backoff: list[float]) -> None:
    log = CallLog()
    body = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            "</Error><RequestId>r-1</RequestId></ErrorResponse>")
    session, sends = _injected_session(
        "before-send.iam.GetRole", lambda r: _error_response(r, 400, body, "text/xml"), log)
    snap = AwsReader(session).snapshot(make_chain(), target="moto", calls=log)
    # botocore's `max_attempts` retries key counts retries: 1 attempt + CLIENT_CONFIG's 5 retries
    assert len(sends) == 6
    assert no_backoff == [1, 2, 3, 4, 5]
    assert snap.role.failure is not None
    assert (snap.role.failure.api, snap.role.failure.code, snap.role.failure.message) == (
        "iam:GetRole", "Throttling", "Rate exceeded")
    assert [(c.status, c.error_code) for c in log.calls if c.operation == "GetRole"] == [(400, "Throttling")]
    assert ok(snap.bucket, "s3:GetBucketLocation").name == "company-audit-reports"


def test_json_protocol_throttling_on_the_key_policy(target: MotoAwsTarget, no_backoff: list[float]) -> None:
    log = CallLog()
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    session, sends = _injected_session(
        "before-send.kms.GetKeyPolicy", lambda r: _error_response(r, 400, body, "application/x-amz-json-1.1"), log)
    bucket = ok(AwsReader(session).read_bucket(make_chain()), "s3:GetBucketLocation")  # snapshot's `bucket`
    assert len(sends) == 6
    assert bucket.kms_key.failure is not None
    assert (bucket.kms_key.failure.api, bucket.kms_key.failure.code) == ("kms:GetKeyPolicy", "ThrottlingException")
    with pytest.raises(ReadError):
        bucket.kms_key.require()
    assert ok(bucket.encryption, "s3:GetBucketEncryption").algorithm == "aws:kms"


@pytest.mark.parametrize(("event", "field", "api"), [
    ("before-send.s3.GetBucketPolicy", "policy", "s3:GetBucketPolicy"),
    ("before-send.s3.GetObjectLockConfiguration", "object_lock", "s3:GetObjectLockConfiguration"),
    ("before-send.s3.ListObjectsV2", "newest_objects", "s3:ListObjectsV2"),
    ("before-send.s3.GetBucketEncryption", "kms_key", "s3:GetBucketEncryption"),  # the key read depends on it
])
def test_s3_access_denied_per_read(target: MotoAwsTarget, event: str, field: str, api: str) -> None:
    log = CallLog()
    body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    session, _ = _injected_session(event, lambda r: _error_response(r, 403, body, "application/xml"), log)
    bucket = ok(AwsReader(session).read_bucket(make_chain()), "s3:GetBucketLocation")
    failure = getattr(bucket, field).failure
    assert failure is not None and (failure.api, failure.code) == (api, "AccessDenied")
    assert ok(bucket.versioning, "s3:GetBucketVersioning").status == "Enabled"


def test_scp_read_from_a_member_account_is_a_failure(target: MotoAwsTarget) -> None:
    """Without the management account, Organizations refuses the member account (moto: AccountNotFound)."""
    log = CallLog()
    session = account_session(CUSTOMER)
    instrument_session(session, log, read_only=True)
    scps = AwsReader(session).read_scps(make_chain())
    assert scps.failure is not None and scps.failure.api == "organizations:ListPoliciesForTarget"
    assert scps.failure.code == "AccountNotFoundException"


# --- live target code paths against the in-process moto ------------------------------------------------------


def test_live_target_reads_scps_through_the_organizations_role(target: MotoAwsTarget,
                                                               snapshot: AwsSnapshot) -> None:
    chain = make_chain(organizations_role_arn=f"arn:aws:iam::{MANAGEMENT}:role/OrganizationsReadOnly")
    snap = LiveAwsTarget(base_session=account_session(CUSTOMER)).snapshot(chain)
    assert snap.target == "live"
    assert snap.scps.to_json() == snapshot.scps.to_json()
    assert [c.operation for c in snap.api_calls].count("AssumeRole") == 1


def test_live_target_keeps_assume_role_failures(target: MotoAwsTarget) -> None:
    body = ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized"
            "</Message></Error></ErrorResponse>")
    log = CallLog()
    session, _ = _injected_session("before-send.sts.AssumeRole",
                                   lambda r: _error_response(r, 403, body, "text/xml"), log)
    org_chain = make_chain(organizations_role_arn=f"arn:aws:iam::{MANAGEMENT}:role/OrganizationsReadOnly")
    snap = LiveAwsTarget(base_session=session).snapshot(org_chain)
    assert snap.scps.failure is not None
    assert (snap.scps.failure.api, snap.scps.failure.code) == ("sts:AssumeRole", "AccessDenied")
    assert ok(snap.role, "iam:GetRole").name == "QualioExportRole"

    audit_chain = make_chain(audit_role_arn=f"arn:aws:iam::{CUSTOMER}:role/ComplianceAudit")
    snap = LiveAwsTarget(base_session=session).snapshot(audit_chain)
    for read in (snap.caller, snap.role, snap.bucket, snap.account_public_access_block, snap.scps):
        assert read.failure is not None and (read.failure.api, read.failure.code) == ("sts:AssumeRole",
                                                                                      "AccessDenied")


def test_read_only_guard_refuses_mutating_calls(target: MotoAwsTarget) -> None:
    log = CallLog()
    sent: list[str] = []
    session = account_session(CUSTOMER)
    instrument_session(session, log, read_only=True)
    session.events.register("before-send.*.*", lambda request, **_: sent.append(request.url))
    s3 = session.client("s3")
    with pytest.raises(ReadOnlyViolation, match="refused s3:PutObject: live mode is read-only"):
        s3.put_object(Bucket="company-audit-reports", Key="qualio/x", Body=b"x")
    with pytest.raises(ReadOnlyViolation, match="refused iam:DeleteRole"):
        session.client("iam").delete_role(RoleName="QualioExportRole")
    assert sent == [] and log.calls == [], "refused before anything was sent"
    assert s3.head_bucket(Bucket="company-audit-reports")["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize(("operation", "allowed"), [
    ("GetRole", True), ("ListObjectsV2", True), ("HeadObject", True), ("DescribeKey", True), ("AssumeRole", True),
    ("GetCallerIdentity", True), ("PutObject", False), ("CreateBucket", False), ("DeleteObject", False),
    ("UpdateAssumeRolePolicy", False), ("TagRole", False), ("AssumeRoleWithWebIdentity", False),
    ("SimulatePrincipalPolicy", False),
])
def test_is_read_operation(operation: str, allowed: bool) -> None:
    assert is_read_operation(operation) is allowed


def test_guard_raises_for_a_mutating_operation_model() -> None:
    model = type("M", (), {"name": "PutBucketPolicy",
                           "service_model": type("S", (), {"service_name": "s3"})()})()
    with pytest.raises(ReadOnlyViolation):
        guard_read_only(model=model)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://111122223333.s3-control.us-east-1.amazonaws.com/v20180820/configuration/publicAccessBlock",
     "https://111122223333.s3-control.us-east-1.amazonaws.com/v20180820/configuration/publicAccessBlock"),
    ("https://111122223333.s3-control.cn-north-1.amazonaws.com.cn/v20180820/x",
     "https://111122223333.s3-control.cn-north-1.amazonaws.com.cn/v20180820/x"),
    ("https://111122223333.s3-control.dualstack.us-east-1.api.aws/v20180820/x",
     "https://111122223333.s3-control.dualstack.us-east-1.api.aws/v20180820/x"),
    ("http://111122223333.127.0.0.1:5000/v20180820/x", "http://127.0.0.1:5000/v20180820/x"),
    ("http://111122223333.moto:5000/v20180820/x", "http://moto:5000/v20180820/x"),
    ("http://111122223333.amazonaws.com.example.org/v20180820/x", "http://amazonaws.com.example.org/v20180820/x"),
])
def test_s3control_account_prefix_is_stripped_for_custom_endpoints_only(url: str, expected: str) -> None:
    request = type("Request", (), {"url": url, "headers": {"Host": url.split("/")[2]}})()
    _strip_account_host_prefix(request)
    assert request.url == expected
    assert request.headers["Host"] == expected.split("/")[2]
