"""`aws_bucket_access_logging_enabled`: logging must really deliver (issue 10, item 6).

Every chain here is provisioned into moto from the reference deployment, changed in one place. S3 User Guide,
"Enabling Amazon S3 server access logging" ("Permissions for log delivery"): the target bucket belongs to the
source bucket's account, and its policy lets logging.s3.amazonaws.com put objects under the target prefix with
aws:SourceArn and/or aws:SourceAccount conditions, or (ACLs enabled) its ACL grants the Log Delivery group WRITE.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from compliance.checks.test_aws_bucket import test_aws_bucket_access_logging_enabled as logging_check
from compliance.model import Status
from compliance.targets.snapshot import LOG_DELIVERY_GROUP, AclGrant, Read

from .chain_helpers import BUCKET, audit_bucket, customer, deployment_from, provision, run_check, unreadable, view

LOG_BUCKET = "company-audit-access-logs"
PREFIX = "s3-access/company-audit-reports/"
ACCOUNT = "111122223333"
LOG_OBJECTS = f"arn:aws:s3:::{LOG_BUCKET}/{PREFIX}*"


def log_bucket(data: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in customer(data)["buckets"] if b["name"] == LOG_BUCKET)


def delivery_statement(condition: dict[str, Any] | None = None, *, resource: str = LOG_OBJECTS,
                       service: str = "logging.s3.amazonaws.com") -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow",
                                 "Principal": {"Service": service}, "Action": "s3:PutObject", "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SOURCE_ARN = {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"}}
SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
ORG_ONLY: dict[str, Any] = {"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}}
"""A data-perimeter Deny: the logging service carries no aws:PrincipalOrgID, so it catches every delivery."""
ORG_ONLY_EXCEPT_SERVICES = {**ORG_ONLY, "Condition": {**ORG_ONLY["Condition"],
                                                      "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}
"""The documented perimeter: aws:PrincipalIsAWSService exempts requests AWS services make with their principals
(IAM User Guide, "Data perimeters on AWS")."""
DENY_INSECURE = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [f"arn:aws:s3:::{LOG_BUCKET}", f"arn:aws:s3:::{LOG_BUCKET}/*"],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def set_log_policy(*statements: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        log_bucket(data)["policy"] = policy(*statements)
    return change


def drop_log_policy(data: dict[str, Any]) -> None:
    log_bucket(data).pop("policy")


def target_missing(data: dict[str, Any]) -> None:
    customer(data)["buckets"] = [b for b in customer(data)["buckets"] if b["name"] != LOG_BUCKET]


def target_in_other_account(data: dict[str, Any]) -> None:
    bucket = log_bucket(data)
    target_missing(data)
    bucket["policy"]["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    data["aws"]["accounts"]["444455556666"] = {"description": "someone else's account", "buckets": [bucket]}


def target_in_other_region(data: dict[str, Any]) -> None:
    log_bucket(data)["region"] = "eu-west-1"


def logs_into_itself(data: dict[str, Any]) -> None:
    audit_bucket(data)["logging"] = {"target_bucket": BUCKET, "target_prefix": "logs/"}


def logging_off(data: dict[str, Any]) -> None:
    audit_bucket(data).pop("logging")


LOG_DELIVERY_WRITE = {"GrantWrite": f'uri="{LOG_DELIVERY_GROUP}"', "GrantReadACP": f'uri="{LOG_DELIVERY_GROUP}"'}
"""What the canned ACL log-delivery-write grants (moto 5.2's canned ACL forgets the WRITE grant)."""


def acls_enabled(acl: dict[str, str] | None) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        bucket = log_bucket(data)
        bucket["ownership"] = "ObjectWriter"
        bucket.pop("policy")
        bucket["public_access_block"] = {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                                         "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
        if acl:
            bucket["acl"] = acl
    return change


def provisioned(ref_chain: Any, reference_deployment: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    data = copy.deepcopy(reference_deployment)
    change(data)
    return provision(deployment_from(data), ref_chain)


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "logging-off": (logging_off, "Server access logging is off"),
    "logs-into-itself": (logs_into_itself, "logs into itself"),
    "target-missing": (target_missing, f"the bucket {LOG_BUCKET} does not exist"),
    "target-in-other-account": (target_in_other_account, "is not one of account 111122223333's own buckets"),
    "target-in-other-region": (target_in_other_region, "a bucket in eu-west-1, not us-east-1"),
    "no-target-policy": (drop_log_policy, "ACLs are disabled, so only the policy can grant it"),
    "wrong-prefix": (set_log_policy(delivery_statement(SOURCE_ACCOUNT,
                                                       resource=f"arn:aws:s3:::{LOG_BUCKET}/elb-logs/*")),
                     f"does not let logging.s3.amazonaws.com put arn:aws:s3:::{LOG_BUCKET}/{PREFIX}"),
    "no-source-condition": (set_log_policy(delivery_statement()), "write for any source bucket"),
    "source-arn-other-bucket": (set_log_policy(delivery_statement(
        {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::some-other-bucket"}})), "does not let logging.s3.amazonaws.com"),
    "source-account-other": (set_log_policy(delivery_statement(
        {"StringEquals": {"aws:SourceAccount": "444455556666"}})), "does not let logging.s3.amazonaws.com"),
    "deny-without-kms-header": (set_log_policy(delivery_statement(SOURCE_ACCOUNT), {
        "Sid": "DenyUnencryptedPuts", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}), "DenyUnencryptedPuts"),
    "other-service-principal": (set_log_policy(delivery_statement(SOURCE_ACCOUNT,
                                                                  service="delivery.logs.amazonaws.com")),
                                "does not let logging.s3.amazonaws.com"),
    "acls-enabled-no-grant": (acls_enabled(None), "its ACL grants the Log Delivery group no WRITE"),
    "perimeter-denies-service": (set_log_policy(delivery_statement(SOURCE_ACCOUNT), ORG_ONLY), "OrgOnly"),
}

SECURE: dict[str, Callable[[dict[str, Any]], None]] = {
    "source-account-only": lambda data: None,  # the reference deployment
    "source-arn-only": set_log_policy(delivery_statement(SOURCE_ARN)),
    "source-arn-and-account": set_log_policy(delivery_statement({**SOURCE_ARN, **SOURCE_ACCOUNT}), DENY_INSECURE),
    "whole-bucket-grant": set_log_policy(delivery_statement(SOURCE_ARN, resource=f"arn:aws:s3:::{LOG_BUCKET}/*")),
    "acls-enabled-log-delivery-write": acls_enabled(LOG_DELIVERY_WRITE),
    "perimeter-exempts-services": set_log_policy(delivery_statement(SOURCE_ACCOUNT), ORG_ONLY_EXCEPT_SERVICES),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_logging_that_cannot_deliver_fails(ref_chain: Any, reference_deployment: Any, case: str) -> None:
    change, expected = BROKEN[case]
    finding = run_check(logging_check, view(ref_chain, provisioned(ref_chain, reference_deployment, change)))
    assert finding.status is Status.FAIL, finding.message
    assert expected in finding.message, finding.message


@pytest.mark.parametrize("case", sorted(SECURE))
def test_logging_that_delivers_passes(ref_chain: Any, reference_deployment: Any, case: str) -> None:
    finding = run_check(logging_check, view(ref_chain, provisioned(ref_chain, reference_deployment, SECURE[case])))
    assert finding.status is Status.PASS, finding.message
    assert f"s3://{LOG_BUCKET}/{PREFIX}" in finding.message


def test_acl_path_is_named_and_read(ref_chain: Any, reference_deployment: Any) -> None:
    snapshot = provisioned(ref_chain, reference_deployment, acls_enabled(LOG_DELIVERY_WRITE))
    target = snapshot.bucket.value.log_target.value
    assert target.ownership.value == "ObjectWriter"
    assert any(g.grantee == LOG_DELIVERY_GROUP and g.permission == "WRITE" for g in target.acl.value)
    finding = run_check(logging_check, view(ref_chain, snapshot))
    assert "ACL grants the Log Delivery group WRITE" in finding.message


def test_other_account_target_is_read_without_its_policy(ref_chain: Any, reference_deployment: Any) -> None:
    target = provisioned(ref_chain, reference_deployment, target_in_other_account).bucket.value.log_target.value
    assert (target.owned.value, target.exists.value) == (False, True)
    assert target.policy.absent and target.policy.absent_code == "NotOwnedByAccount"


# -- unreadable inputs are ERROR, never PASS -----------------------------------------------------------------------

def with_target(snapshot: Any, **changes: Any) -> Any:
    bucket = snapshot.bucket.value
    target = replace(bucket.log_target.value, **changes)
    return replace(snapshot, bucket=Read(snapshot.bucket.api, replace(bucket, log_target=Read(
        "s3:GetBucketLogging", target))))


@pytest.mark.parametrize(("field", "api"), [
    ("owned", "s3:ListBuckets"), ("region", "s3:GetBucketLocation"), ("policy", "s3:GetBucketPolicy"),
    ("ownership", "s3:GetBucketOwnershipControls"),
])
def test_unreadable_target_is_an_error(ref_chain: Any, reference_snapshot: Any, field: str, api: str) -> None:
    finding = run_check(logging_check, view(ref_chain, with_target(reference_snapshot, **{field: unreadable(api)})))
    assert finding.status is Status.ERROR and api in finding.message and "AccessDenied" in finding.message


def test_unreadable_acl_with_acls_enabled_is_an_error(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_target(reference_snapshot, ownership=Read("s3:GetBucketOwnershipControls", "ObjectWriter"),
                           policy=Read("s3:GetBucketPolicy", None, absent_code="NoSuchBucketPolicy"),
                           acl=unreadable("s3:GetBucketAcl"))
    finding = run_check(logging_check, view(ref_chain, snapshot))
    assert finding.status is Status.ERROR and "s3:GetBucketAcl" in finding.message


def test_acl_grant_under_bucket_owner_enforced_does_not_count(ref_chain: Any, reference_snapshot: Any) -> None:
    """A Log Delivery grant left in the ACL has no effect once ACLs are disabled (the ACL is not even read)."""
    snapshot = with_target(reference_snapshot,
                           policy=Read("s3:GetBucketPolicy", None, absent_code="NoSuchBucketPolicy"),
                           acl=Read("s3:GetBucketAcl", (AclGrant("Group", LOG_DELIVERY_GROUP, "WRITE"),)))
    assert run_check(logging_check, view(ref_chain, snapshot)).status is Status.FAIL


def test_snapshot_without_the_target_read_is_an_error(ref_chain: Any, reference_snapshot: Any) -> None:
    bucket = reference_snapshot.bucket.value
    bare = replace(bucket, log_target=type(bucket)(**{
        f: getattr(bucket, f) for f in bucket.__dataclass_fields__ if f != "log_target"}).log_target)
    snapshot = replace(reference_snapshot, bucket=Read(reference_snapshot.bucket.api, bare))
    finding = run_check(logging_check, view(ref_chain, snapshot))
    assert finding.status is Status.ERROR and "NotRead" in finding.message


# -- resource control policies govern the log delivery too --------------------------------------------------------

RCP_PERIMETER: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{
    "Sid": "OrgPrincipalsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "*",
    "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "{{org:id}}"}}}]}
"""An RCP data perimeter without the aws:PrincipalIsAWSService exemption the RCP examples carry."""


def with_rcp(document: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        org = data["aws"]["organization"]
        org["rcps"] = {"DataPerimeter": document}
        org["ous"][0]["rcps"] = ["DataPerimeter"]
    return change


def test_rcp_perimeter_without_service_exemption_stops_delivery(ref_chain: Any, reference_deployment: Any) -> None:
    snapshot = provisioned(ref_chain, reference_deployment, with_rcp(RCP_PERIMETER))
    finding = run_check(logging_check, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "OrgPrincipalsOnly" in finding.message, finding.message


def test_rcp_perimeter_exempting_services_delivers(ref_chain: Any, reference_deployment: Any) -> None:
    exempt = copy.deepcopy(RCP_PERIMETER)
    exempt["Statement"][0]["Condition"]["BoolIfExists"] = {"aws:PrincipalIsAWSService": "false"}
    snapshot = provisioned(ref_chain, reference_deployment, with_rcp(exempt))
    finding = run_check(logging_check, view(ref_chain, snapshot))
    assert finding.status is Status.PASS, finding.message


def test_unreadable_rcps_are_an_error(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = replace(reference_snapshot, rcps=unreadable("organizations:ListPoliciesForTarget"))
    finding = run_check(logging_check, view(ref_chain, snapshot))
    assert finding.status is Status.ERROR and "organizations:ListPoliciesForTarget" in finding.message


def test_the_moto_target_reads_logging_but_keeps_no_delivered_logs(moto_target: Any) -> None:
    """moto would store a log object per S3 request in the process (memory growing with every chain read, issue 15);
    the target keeps the configuration the check reads and delivers nothing. The patch ends with the target."""
    from moto.s3.models import S3Backend

    s3 = moto_target.client("s3", ACCOUNT)
    enabled = s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]
    assert (enabled["TargetBucket"], enabled["TargetPrefix"]) == (LOG_BUCKET, PREFIX)
    for _ in range(3):
        s3.get_bucket_policy(Bucket=BUCKET)
    assert s3.list_objects_v2(Bucket=LOG_BUCKET).get("KeyCount", 0) == 0
    patched = S3Backend.log_incoming_request
    moto_target.stop()
    assert S3Backend.log_incoming_request is not patched
