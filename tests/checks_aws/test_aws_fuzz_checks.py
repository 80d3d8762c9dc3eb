"""Fuzzing checks: the reference is clean, and planted holes are found with a reproducible seed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compliance.checks.test_aws_fuzz import test_aws_fuzz_intended_requests_allowed as intended
from compliance.checks.test_aws_fuzz import test_aws_fuzz_unintended_requests_denied as unintended
from compliance.model import EvidenceKind, Status

from .chain_helpers import (
    BUCKET,
    VENDOR,
    reference_bucket_statements,
    reference_trust,
    run_check,
    secret,
    view,
    with_bucket_policy,
    with_inline,
    with_trust,
)

EXAMPLES = 100


@pytest.fixture(autouse=True)
def fixed_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic CI runs; the product draws a fresh seed per run unless COMPLIANCE_FUZZ_SEED is set."""
    monkeypatch.setenv("COMPLIANCE_FUZZ_SEED", "20261128")


def counterexample(finding: Any) -> dict[str, Any]:
    data: dict[str, Any] = next(e.data for e in finding.evidence if e.kind is EvidenceKind.COUNTEREXAMPLE)
    return data


def test_reference_is_clean(ref_chain: Any, reference_snapshot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPLIANCE_FUZZ_SEED")
    for check in (unintended, intended):
        finding = run_check(check, view(ref_chain, reference_snapshot), EXAMPLES)
        assert finding.status is Status.PASS, finding.message
        assert "seed" in finding.message


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:Referer": "https://partner.example.com/upload"}},
    {"StringLike": {"aws:UserAgent": "PartnerSync/*"}},
    {"Bool": {"aws:SecureTransport": "true"}},
], ids=["referer", "user-agent", "tls-only"])
def test_planted_public_allow_under_attacker_condition_is_found(ref_chain: Any, reference_snapshot: Any,
                                                                condition: dict[str, Any]) -> None:
    """A bucket-policy Allow for "AWS": "*" under a condition the caller controls lets other accounts write (with
    Block Public Access's RestrictPublicBuckets off: on, it would keep other accounts out of a public policy)."""
    from .chain_helpers import without_restrict_public_buckets

    snapshot = without_restrict_public_buckets(with_bucket_policy(reference_snapshot, [
        *reference_bucket_statements(), {
            "Sid": "PartnerUpload", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*", "Condition": condition}]))
    finding = run_check(unintended, view(ref_chain, snapshot), EXAMPLES)
    assert finding.status is Status.FAIL
    assert "'PartnerUpload'" in finding.message and "s3:PutObject" in finding.message
    record = counterexample(finding)
    assert isinstance(record["seed"], int) and "COMPLIANCE_FUZZ_SEED=" in record["reproduce"]
    assert record["request"]["action"] == "s3:PutObject"


def test_planted_cross_account_read_is_found(ref_chain: Any, reference_snapshot: Any) -> None:
    snapshot = with_bucket_policy(reference_snapshot, [*reference_bucket_statements(), {
        "Sid": "AuditorRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::777788889999:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}])
    finding = run_check(unintended, view(ref_chain, snapshot), EXAMPLES)
    assert finding.status is Status.FAIL and "'AuditorRead'" in finding.message
    assert "777788889999" in finding.message


def test_wildcard_external_id_is_found_without_leaking_it(ref_chain: Any, reference_snapshot: Any) -> None:
    trust = reference_trust()
    trust[0]["Condition"] = {"StringEqualsIgnoreCase": {"sts:ExternalId": secret()}}
    finding = run_check(unintended, view(ref_chain, with_trust(reference_snapshot, trust)), EXAMPLES)
    assert finding.status is Status.FAIL and "wrong or missing ExternalId" in finding.message
    text = json.dumps(finding.to_json()).lower()
    assert secret().lower() not in text


def test_vendor_root_trust_is_found(ref_chain: Any, reference_snapshot: Any) -> None:
    trust = reference_trust()
    trust[0]["Principal"] = {"AWS": [VENDOR, "arn:aws:iam::999988887777:root"]}
    finding = run_check(unintended, view(ref_chain, with_trust(reference_snapshot, trust)), EXAMPLES)
    assert finding.status is Status.FAIL and "another principal assumes the role" in finding.message


def test_extra_action_is_found(ref_chain: Any, reference_snapshot: Any) -> None:
    current = reference_snapshot.role.value.inline_policies.value[0].document["Statement"]
    snapshot = with_inline(reference_snapshot, {"WriteAuditExports": current, "Cleanup": [
        {"Sid": "Tidy", "Effect": "Allow", "Action": "s3:Delete*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})
    finding = run_check(unintended, view(ref_chain, snapshot), EXAMPLES)
    assert finding.status is Status.FAIL and "'Tidy'" in finding.message


def test_narrow_grant_fails_intended_fuzzing(ref_chain: Any, reference_snapshot: Any) -> None:
    statements = [dict(s) for s in reference_snapshot.role.value.inline_policies.value[0].document["Statement"]]
    statements[0]["Resource"] = f"arn:aws:s3:::{BUCKET}/qualio/2026/*"
    finding = run_check(intended, view(ref_chain, with_inline(reference_snapshot, {"Narrow": statements})), EXAMPLES)
    assert finding.status is Status.FAIL and "s3:PutObject" in finding.message
    assert counterexample(finding)["object_key"].startswith("qualio/")


def test_seed_reproduces_the_counterexample(ref_chain: Any, reference_snapshot: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = with_bucket_policy(reference_snapshot, [*reference_bucket_statements(), {
        "Sid": "PartnerUpload", "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*", "Condition": {"StringEquals": {"aws:Referer": "x-partner"}}}])
    monkeypatch.setenv("COMPLIANCE_FUZZ_SEED", "12345")
    first = counterexample(run_check(unintended, view(ref_chain, snapshot), EXAMPLES))
    second = counterexample(run_check(unintended, view(ref_chain, snapshot), EXAMPLES))
    assert first["seed"] == 12345
    assert first["request"] == second["request"]
