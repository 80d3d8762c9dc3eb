"""Organization context and RCPs (issue 10, items 3 and 4), as moto deployments: each broken chain FAILs, each
secure look-alike PASSes, and an unreadable organization makes a verdict that depends on it ERROR.

Policies follow the AWS data-perimeter examples (IAM User Guide, "AWS global condition context keys";
Organizations User Guide, "Resource control policies (RCPs)" and its examples): a Deny unless
StringNotEqualsIfExists aws:PrincipalOrgID is the organization, with the service-principal exemption
BoolIfExists aws:PrincipalIsAWSService false.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compliance.chain.org_context import in_organization, with_org_context
from compliance.chain.requests import principal_caller, session_caller
from compliance.checks import load_all_checks
from compliance.checks.test_aws_bucket import test_aws_bucket_policy_denies_no_intended_write as no_write_denied
from compliance.checks.test_aws_chain import test_aws_chain_allows_vendor_export as vendor_export
from compliance.checks.test_aws_role import test_aws_role_and_key_policy_allow_kms_for_bucket_key as key_allows
from compliance.checks.test_aws_trust import test_aws_trust_denies_other_principals as others_denied
from compliance.config import Chain
from compliance.iam import Request
from compliance.model import Status
from compliance.plugin import PACKAGE_DIR
from compliance.targets.snapshot import AwsSnapshot, OrgContext, Read

from .chain_helpers import (
    BUCKET,
    audit_bucket,
    customer,
    deployment_from,
    provision,
    reference_bucket_statements,
    run_check,
    unreadable,
    view,
)

VENDOR_ACCOUNT = "999988887777"
AWS_CHECKS = sorted(c for c, meta in load_all_checks().items() if meta.provider.value == "aws")
PERIMETER_CONDITION = {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "{{org:id}}"},
                       "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}


def perimeter_bucket(data: dict[str, Any], condition: dict[str, Any] | None = None) -> None:
    """The bucket's reference statements plus the documented data-perimeter Deny."""
    audit_bucket(data)["policy"] = {"Version": "2012-10-17", "Statement": [*reference_bucket_statements(), {
        "Sid": "DataPerimeterOrgPrincipalsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": condition or PERIMETER_CONDITION}]}


def perimeter_key(data: dict[str, Any], condition: dict[str, Any] | None = None) -> None:
    """A perimeter on the key's data operations (moto applies a key-policy Deny on kms:* to the reader's own
    DescribeKey, without organization context, so the perimeter names the cryptographic operations)."""
    key = customer(data)["kms_keys"][0]
    key["policy"]["Statement"].append({
        "Sid": "KeyPerimeterOrgPrincipalsOnly", "Effect": "Deny", "Principal": "*",
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "Resource": "*", "Condition": condition or PERIMETER_CONDITION})


def rcp(data: dict[str, Any], name: str, statements: list[dict[str, Any]], *, root: bool = True) -> None:
    org = data["aws"]["organization"]
    org.setdefault("rcps", {})[name] = {"Version": "2012-10-17", "Statement": statements}
    if root:
        org.setdefault("root_rcps", []).append(name)
    else:
        org["ous"][0].setdefault("rcps", []).append(name)


def snapshot_of(data: dict[str, Any], chain: Chain) -> AwsSnapshot:
    return provision(deployment_from(data), chain)


def chain_finding(chain: Chain, snapshot: AwsSnapshot) -> Any:
    return run_check(vendor_export, view(chain, snapshot))


@pytest.fixture
def data(reference_deployment: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(reference_deployment)


# -- the organization context as read ------------------------------------------------------------------------


def test_org_context_read_from_the_organization(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    org = reference_snapshot.org_context.value
    assert org is not None
    assert org.organization_id.startswith("o-") and org.root_id.startswith("r-")
    assert len(org.ou_path) == 1 and org.ou_path[0].startswith("ou-")
    assert org.org_path == f"{org.organization_id}/{org.root_id}/{org.ou_path[0]}/"
    assert org.management_account == "222233334444" and not org.is_management_account
    keys = with_org_context(Request(f"arn:aws:sts::{ref_chain.aws.account}:assumed-role/R/s",
                                    ref_chain.aws.account, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/k",
                                    ref_chain.aws.account), org).context
    assert keys["aws:PrincipalOrgID"] == org.organization_id == keys["aws:ResourceOrgID"]
    assert keys["aws:PrincipalOrgPaths"] == (org.org_path,) == keys["aws:ResourceOrgPaths"]
    assert keys["aws:PrincipalAccount"] == ref_chain.aws.account == keys["aws:ResourceAccount"]


def test_outsiders_and_services_get_no_principal_org_keys(reference_snapshot: AwsSnapshot) -> None:
    org = reference_snapshot.org_context.value
    resource = f"arn:aws:s3:::{BUCKET}/k"
    vendor = with_org_context(Request("arn:aws:sts::999988887777:assumed-role/ExportService/s", VENDOR_ACCOUNT,
                                      "s3:GetObject", resource, "111122223333"), org).context
    service = with_org_context(Request("logging.s3.amazonaws.com", None, "s3:PutObject", resource,
                                       "111122223333"), org).context
    for context in (vendor, service):
        assert "aws:PrincipalOrgID" not in context and "aws:ResourceOrgID" in context


def test_account_directly_under_the_root_has_a_root_path(data: dict[str, Any], ref_chain: Chain) -> None:
    org = data["aws"]["organization"]
    org["root_scps"] = org["ous"][0].pop("scps")
    org["ous"][0]["accounts"] = []
    org["accounts"] = [ref_chain.aws.account]
    snapshot = snapshot_of(data, ref_chain)
    context = snapshot.org_context.value
    assert context is not None and context.ou_path == ()
    assert context.org_path == f"{context.organization_id}/{context.root_id}/"
    assert len(view(ref_chain, snapshot).rcp_levels()) == 2  # root, account


def test_no_organization_is_an_absence_not_a_failure(data: dict[str, Any], ref_chain: Chain) -> None:
    del data["aws"]["organization"]
    snapshot = snapshot_of(data, ref_chain)
    assert snapshot.org_context.absent and snapshot.org_context.absent_code == "AWSOrganizationsNotInUseException"
    assert snapshot.rcps.absent
    assert view(ref_chain, snapshot).rcp_levels() == ()


# -- item 3: data perimeter on aws:PrincipalOrgID --------------------------------------------------------------


def test_secure_data_perimeter_on_bucket_and_key_passes(data: dict[str, Any], ref_chain: Chain) -> None:
    """SECURE: Deny unless aws:PrincipalOrgID is the organization (services exempted) on the bucket and the key.
    The role session is a principal of the member account, so every gate is allowed; strangers stay denied."""
    perimeter_bucket(data)
    perimeter_key(data)
    chain_view = view(ref_chain, snapshot_of(data, ref_chain))
    for check in (vendor_export, no_write_denied,
                  key_allows, others_denied):
        finding = run_check(check, chain_view)
        assert finding.status is Status.PASS, (check.__name__, finding.message)


def test_perimeter_naming_another_organization_fails(data: dict[str, Any], ref_chain: Chain) -> None:
    """BROKEN: the perimeter names an organization the account is not in, so the role session's write is denied."""
    perimeter_bucket(data, {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-notmyorg01"},
                            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})
    finding = chain_finding(ref_chain, snapshot_of(data, ref_chain))
    assert finding.status is Status.FAIL
    assert "DataPerimeterOrgPrincipalsOnly" in finding.message and "aws:PrincipalOrgID" in finding.message


def test_perimeter_without_an_organization_fails(data: dict[str, Any], ref_chain: Chain) -> None:
    """BROKEN: the account left the organization: AWS sends no aws:PrincipalOrgID, the IfExists Deny applies."""
    del data["aws"]["organization"]
    perimeter_bucket(data, {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})
    finding = chain_finding(ref_chain, snapshot_of(data, ref_chain))
    assert finding.status is Status.FAIL and "DataPerimeterOrgPrincipalsOnly" in finding.message


def test_ou_path_perimeter_passes_for_the_accounts_ou_and_fails_for_another(
        data: dict[str, Any], ref_chain: Chain) -> None:
    """SECURE / BROKEN: Deny unless aws:PrincipalOrgPaths is under the account's OU, then under another OU."""
    data["aws"]["organization"]["ous"].append({"name": "Sandbox", "accounts": []})
    for ou, expected in (("Regulated", Status.PASS), ("Sandbox", Status.FAIL)):
        case = copy.deepcopy(data)
        perimeter_key(case, {"ForAllValues:StringNotLike": {
            "aws:PrincipalOrgPaths": f"{{{{org:id}}}}/{{{{org:root}}}}/{{{{org:ou/{ou}}}}}/*"},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})
        # ForAllValues with the key absent is true: only principals with an org path can be judged, so add
        # the documented Null guard for principals outside any organization
        case_key = customer(case)["kms_keys"][0]["policy"]["Statement"][-1]
        case_key["Condition"]["Null"] = {"aws:PrincipalOrgPaths": "false"}
        finding = run_check(key_allows,
                            view(ref_chain, snapshot_of(case, ref_chain)))
        assert finding.status is expected, (ou, finding.message)


def test_unreadable_organization_makes_a_perimeter_verdict_error(data: dict[str, Any], ref_chain: Chain) -> None:
    """ERROR, never PASS: the verdict depends on aws:PrincipalOrgID and Organizations could not be read."""
    perimeter_bucket(data)
    snapshot = snapshot_of(data, ref_chain)
    blind = replace(snapshot, org_context=unreadable("organizations:DescribeOrganization"))
    for check in (vendor_export, no_write_denied):
        finding = run_check(check, view(ref_chain, blind))
        assert finding.status is Status.ERROR, (check.__name__, finding.message)
        assert "organizations:DescribeOrganization" in finding.message
        assert "DataPerimeterOrgPrincipalsOnly" in finding.message


def test_unreadable_organization_without_org_conditions_keeps_the_verdict(
        ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    blind = replace(reference_snapshot, org_context=unreadable("organizations:DescribeOrganization"))
    assert chain_finding(ref_chain, blind).status is Status.PASS


# -- item 4: RCPs ------------------------------------------------------------------------------------------------

RCP_ENFORCE_ORG_IDENTITIES: dict[str, Any] = {
    "Sid": "EnforceOrgIdentities", "Effect": "Deny", "Principal": "*", "Action": ["sts:AssumeRole", "s3:*", "kms:*"],
    "Resource": "*",
    "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "{{org:id}}"},
                  "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}


def test_rcps_are_read_along_the_path(data: dict[str, Any], ref_chain: Chain) -> None:
    rcp(data, "EnforceOrgIdentities", [RCP_ENFORCE_ORG_IDENTITIES], root=False)
    snapshot = snapshot_of(data, ref_chain)
    levels = view(ref_chain, snapshot).rcp_levels()
    assert [[p.name for p in level] for level in levels] == [
        ["RCPFullAWSAccess"], ["RCPFullAWSAccess", "EnforceOrgIdentities"], ["RCPFullAWSAccess"]]
    assert all("organizations:DescribePolicy" in p.origin for level in levels for p in level)


def test_rcp_blocking_the_vendor_fails_naming_the_rcp(data: dict[str, Any], ref_chain: Chain) -> None:
    """BROKEN: the RCP denies sts:AssumeRole unless the caller is in the organization; the vendor is not."""
    rcp(data, "EnforceOrgIdentities", [RCP_ENFORCE_ORG_IDENTITIES], root=False)
    finding = chain_finding(ref_chain, snapshot_of(data, ref_chain))
    assert finding.status is Status.FAIL
    assert "step 1" in finding.message and "RCP 'EnforceOrgIdentities' (level 2)" in finding.message
    note = next(e for e in finding.evidence if e.label.startswith("Organization: RCPs"))
    assert "EnforceOrgIdentities" in str(note.data)


def test_rcp_exempting_the_vendor_account_passes(data: dict[str, Any], ref_chain: Chain) -> None:
    """SECURE: the same RCP also exempts the vendor's account (aws:PrincipalAccount), so the chain works, the
    session's write and key use are inside the organization, and the RCP shows in the evidence."""
    statement = copy.deepcopy(RCP_ENFORCE_ORG_IDENTITIES)
    statement["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalAccount"] = [VENDOR_ACCOUNT]
    rcp(data, "EnforceOrgIdentities", [statement], root=False)
    finding = chain_finding(ref_chain, snapshot_of(data, ref_chain))
    assert finding.status is Status.PASS, finding.message
    note = next(e for e in finding.evidence if e.label.startswith("Organization: RCPs"))
    assert "EnforceOrgIdentities" in str(note.data)


def test_rcp_requiring_a_vpc_endpoint_for_writes_fails(data: dict[str, Any], ref_chain: Chain) -> None:
    """BROKEN: a root RCP only admits s3:PutObject through a VPC endpoint; the vendor writes over the internet."""
    rcp(data, "S3ViaVpceOnly", [{"Sid": "DenyPutOutsideVpce", "Effect": "Deny", "Principal": "*",
                                 "Action": "s3:PutObject", "Resource": "*",
                                 "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-0a1b2c3d"},
                                               "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}])
    finding = chain_finding(ref_chain, snapshot_of(data, ref_chain))
    assert finding.status is Status.FAIL
    assert "RCP 'S3ViaVpceOnly' (level 1)" in finding.message and "DenyPutOutsideVpce" in finding.message


def test_rcp_enforcing_tls_passes(data: dict[str, Any], ref_chain: Chain) -> None:
    """SECURE: a root RCP denying S3 and KMS over plain HTTP; the vendor writes over TLS."""
    rcp(data, "EnforceTls", [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                              "Action": ["s3:*", "kms:*", "sts:*"], "Resource": "*",
                              "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}])
    assert chain_finding(ref_chain, snapshot_of(data, ref_chain)).status is Status.PASS


def test_unreadable_rcps_error_the_positive_check(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    blind = replace(reference_snapshot, rcps=unreadable("organizations:ListPoliciesForTarget"))
    finding = chain_finding(ref_chain, blind)
    assert finding.status is Status.ERROR and "organizations:ListPoliciesForTarget" in finding.message
    assert "RCP" in finding.message
    # a check that proves denials leaves unreadable RCPs out (they can only deny)
    assert run_check(others_denied, view(ref_chain, blind)).status is Status.PASS


def test_rcps_do_not_apply_in_the_management_account(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    org = reference_snapshot.org_context.value
    assert org is not None
    managed = replace(reference_snapshot, org_context=Read(reference_snapshot.org_context.api,
                                                           OrgContext(org.organization_id, ref_chain.aws.account,
                                                                      org.root_id, org.ou_path, ref_chain.aws.account)))
    assert view(ref_chain, managed).rcp_levels() == ()


# -- end to end: every AWS check on the secure perimeter chain -----------------------------------------------------


def test_secure_perimeter_chain_passes_every_aws_check(pytester: pytest.Pytester, tmp_path: Path,
                                                       data: dict[str, Any]) -> None:
    """SECURE: data perimeter on the bucket and the key, plus an RCP enforcing organization identities on STS, S3
    and KMS that exempts the vendor's account: every AWS check of the suite passes."""
    perimeter_bucket(data)
    perimeter_key(data)
    statement = copy.deepcopy(RCP_ENFORCE_ORG_IDENTITIES)
    statement["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalAccount"] = [VENDOR_ACCOUNT]
    rcp(data, "EnforceOrgIdentities", [statement], root=False)
    deployment = tmp_path / "perimeter.json"
    deployment.write_text(json.dumps(data), encoding="utf-8")
    result = pytester.runpytest_inprocess(str(PACKAGE_DIR), "--evidence-dir", str(tmp_path / "reports"),
                                          "--fuzz-examples", "25", "--deployment", str(deployment), "-k", "aws")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()[-3000:]
    assert outcomes.get("passed", 0) == len(AWS_CHECKS)


def test_callers_built_with_the_org_context(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    org = reference_snapshot.org_context.value
    role = reference_snapshot.role.value
    assert org is not None and role is not None
    session = session_caller(ref_chain, role, org=org)
    assert session.context["aws:PrincipalOrgID"] == org.organization_id
    assert session.context["aws:PrincipalOrgPaths"] == (org.org_path,)
    insider = in_organization(principal_caller(f"arn:aws:iam::{ref_chain.aws.account}:role/Other", "x"), org)
    outsider = in_organization(principal_caller(f"arn:aws:iam::{VENDOR_ACCOUNT}:role/ExportService", "v"), org)
    service = in_organization(principal_caller("lambda.amazonaws.com", "s"), org)
    assert insider.context["aws:PrincipalOrgID"] == org.organization_id
    assert "aws:PrincipalOrgID" not in outsider.context and "aws:PrincipalOrgID" not in service.context
