"""Trust and session-tag checks: PASS on the reference, FAIL with the cause named for each mutation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compliance.checks.test_aws_identity import (
    test_aws_session_tags_satisfy_tag_conditions as session_tags_check,
)
from compliance.checks.test_aws_identity import test_aws_trust_allows_tag_session_for_vendor as tag_session_check
from compliance.checks.test_aws_trust import (
    test_aws_trust_allows_vendor_with_external_id as vendor_allowed,
)
from compliance.checks.test_aws_trust import (
    test_aws_trust_denies_other_principals as others_denied,
)
from compliance.checks.test_aws_trust import (
    test_aws_trust_denies_wrong_or_missing_external_id as wrong_id_denied,
)
from compliance.checks.test_aws_trust import (
    test_aws_trust_external_id_condition_is_string_equals as string_equals,
)
from compliance.checks.test_aws_trust import (
    test_aws_trust_network_conditions_admit_vendor_ips as network,
)
from compliance.model import Finding, Status

from .chain_helpers import VENDOR, reference_trust, run_check, secret, view, with_trust, with_vendor

TRUST_CHECKS = (vendor_allowed, wrong_id_denied, others_denied, string_equals, network, tag_session_check,
                session_tags_check)


def assume_statement(condition: dict[str, Any] | None = None, principal: Any = None,
                     action: Any = "sts:AssumeRole") -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "VendorAssumes", "Effect": "Allow", "Principal": principal or {"AWS": VENDOR},
                                 "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def tag_statement() -> dict[str, Any]:
    return reference_trust()[1]


def assert_no_secret(finding: Finding) -> None:
    text = json.dumps(finding.to_json()).lower()
    assert secret().lower() not in text
    assert secret().swapcase().lower() not in text


@pytest.mark.parametrize("check", TRUST_CHECKS, ids=lambda c: c.__name__)
def test_reference_trust_passes(check: Any, ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(check, view(ref_chain, reference_snapshot))
    assert finding.status is Status.PASS, finding.message
    assert_no_secret(finding)


def test_walkthrough_trust_without_tag_session_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    """The walkthrough's trust statement allows only sts:AssumeRole while SSO session tags are passed."""
    snapshot = with_trust(reference_snapshot, [assume_statement({"StringEquals": {"sts:ExternalId": secret()}})])
    finding = run_check(tag_session_check, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert "does not allow sts:TagSession" in finding.message and "walkthrough" in finding.message
    assert run_check(vendor_allowed, view(ref_chain, snapshot)).status is Status.FAIL


def test_no_tags_configured_makes_tag_session_not_applicable(ref_chain: Any, reference_snapshot: Any) -> None:
    finding = run_check(tag_session_check, view(with_vendor(ref_chain, session_tags={}), reference_snapshot))
    assert finding.status is Status.NOT_APPLICABLE


def test_source_ip_without_published_vendor_ips_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    """The walkthrough's 'remove any IP conditions' is right when the vendor publishes no addresses."""
    condition = {"StringEquals": {"sts:ExternalId": secret()}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    snapshot = with_trust(reference_snapshot, [assume_statement(condition), tag_statement()])
    finding = run_check(network, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert "aws:SourceIp condition" in finding.message and "no published source IPs" in finding.message
    denied = run_check(vendor_allowed, view(ref_chain, snapshot))
    assert denied.status is Status.FAIL and "aws:SourceIp" in denied.message


def test_source_ip_with_published_vendor_ips_passes(ref_chain: Any, reference_snapshot: Any) -> None:
    """...and wrong when the vendor publishes its egress range: then it is defence in depth."""
    condition = {"StringEquals": {"sts:ExternalId": secret()}, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    snapshot = with_trust(reference_snapshot, [assume_statement(condition), tag_statement()])
    published = with_vendor(ref_chain, source_ips=("203.0.113.0/24",))
    finding = run_check(network, view(published, snapshot))
    assert finding.status is Status.PASS and "defence in depth" in finding.message
    assert run_check(vendor_allowed, view(published, snapshot)).status is Status.PASS


def test_source_ip_narrower_than_published_range_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    condition = {"StringEquals": {"sts:ExternalId": secret()}, "IpAddress": {"aws:SourceIp": "203.0.113.0/25"}}
    snapshot = with_trust(reference_snapshot, [assume_statement(condition), tag_statement()])
    finding = run_check(network, view(with_vendor(ref_chain, source_ips=("203.0.113.0/24",)), snapshot))
    assert finding.status is Status.FAIL
    assert "203.0.113.128" in finding.message and "aws:SourceIp" in finding.message


def test_source_vpce_condition_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    condition = {"StringEquals": {"sts:ExternalId": secret(), "aws:SourceVpce": "vpce-0123456789abcdef0"}}
    snapshot = with_trust(reference_snapshot, [assume_statement(condition), tag_statement()])
    finding = run_check(network, view(with_vendor(ref_chain, source_ips=("203.0.113.0/24",)), snapshot))
    assert finding.status is Status.FAIL and "aws:SourceVpce" in finding.message


@pytest.mark.parametrize(("condition", "wrong_case", "operator_words"), [
    ({"StringLike": {"sts:ExternalId": "test-*"}}, "with a suffix", "StringLike with a wildcard"),
    ({"StringEqualsIfExists": {"sts:ExternalId": "SECRET"}}, "no ExternalId at all",
     "true when the ExternalId is missing"),
    ({"ForAllValues:StringEquals": {"sts:ExternalId": "SECRET"}}, "no ExternalId at all", "set operator"),
    ({"StringEqualsIgnoreCase": {"sts:ExternalId": "SECRET"}}, "other letter case", "instead of StringEquals"),
    (None, "no ExternalId at all", "without any sts:ExternalId condition"),
], ids=["StringLike-wildcard", "IfExists", "ForAllValues", "IgnoreCase", "no-condition"])
def test_weak_external_id_conditions_fail(ref_chain: Any, reference_snapshot: Any, condition: Any, wrong_case: str,
                                          operator_words: str) -> None:
    if condition is not None:
        condition = json.loads(json.dumps(condition).replace("SECRET", secret()))
    snapshot = with_trust(reference_snapshot, [assume_statement(condition), tag_statement()])
    wrong = run_check(wrong_id_denied, view(ref_chain, snapshot))
    assert wrong.status is Status.FAIL and wrong_case in wrong.message
    form = run_check(string_equals, view(ref_chain, snapshot))
    assert form.status is Status.FAIL and operator_words in form.message
    assert_no_secret(wrong)
    assert_no_secret(form)


@pytest.mark.parametrize(("principal", "who"), [
    ({"AWS": "arn:aws:iam::999988887777:root"}, "another role in the vendor's account"),
    ("*", "another account's root"),
    ({"AWS": [VENDOR, "arn:aws:iam::444455556666:root"]}, "another account's root"),
    ({"AWS": [VENDOR, "arn:aws:iam::111122223333:root"]}, "another role in the customer's account"),
    ({"Service": "lambda.amazonaws.com"}, "an AWS service"),
], ids=["vendor-root", "star", "other-account", "customer-root", "service"])
def test_other_principals_in_trust_fail(ref_chain: Any, reference_snapshot: Any, principal: Any, who: str) -> None:
    statements = [assume_statement({"StringEquals": {"sts:ExternalId": secret()}}), tag_statement(),
                  assume_statement({"StringEquals": {"sts:ExternalId": secret()}}, principal=principal)]
    statements[2]["Sid"] = "ExtraPrincipal"
    finding = run_check(others_denied, view(ref_chain, with_trust(reference_snapshot, statements)))
    assert finding.status is Status.FAIL
    assert who in finding.message and "'ExtraPrincipal'" in finding.message


def test_extra_session_tag_breaks_the_tag_keys_condition(ref_chain: Any, reference_snapshot: Any) -> None:
    tagged = with_vendor(ref_chain, session_tags={"qualio-user": "qa.lead@example.com", "department": "qa"})
    finding = run_check(session_tags_check, view(tagged, reference_snapshot))
    assert finding.status is Status.FAIL
    assert "aws:TagKeys" in finding.message and "VendorPassesSsoSessionTags" in finding.message


def test_request_tag_condition_the_tags_do_not_meet_fails(ref_chain: Any, reference_snapshot: Any) -> None:
    tag = tag_statement()
    tag["Condition"] = {"StringLike": {"aws:RequestTag/qualio-user": "*@qualio.com"}}
    snapshot = with_trust(reference_snapshot, [reference_trust()[0], tag])
    finding = run_check(session_tags_check, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "aws:RequestTag/qualio-user" in finding.message
    assert run_check(tag_session_check, view(ref_chain, snapshot)).status is Status.FAIL


def test_unavailable_external_id_is_an_error(ref_chain: Any, reference_snapshot: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPORT_EXTERNAL_ID")
    assert run_check(vendor_allowed, view(ref_chain, reference_snapshot)).status is Status.ERROR


def test_unreadable_role_is_an_error(ref_chain: Any, reference_snapshot: Any) -> None:
    from dataclasses import replace

    from .chain_helpers import unreadable

    snapshot = replace(reference_snapshot, role=unreadable("iam:GetRole"))
    for check in TRUST_CHECKS:
        finding = run_check(check, view(ref_chain, snapshot))
        assert finding.status is Status.ERROR, (check.__name__, finding.message)
        assert "iam:GetRole" in finding.message
