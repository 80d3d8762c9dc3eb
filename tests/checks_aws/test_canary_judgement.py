"""The canary check only judges what the target's `canary_export` reports (compliance.targets.canary)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compliance.chain.proposed import Proposal, ProposalTarget
from compliance.chain.view import ChainView
from compliance.checks.test_aws_liveness import test_aws_canary_export_encrypted_and_locked as canary
from compliance.config import Chain
from compliance.model import Status
from compliance.targets.aws_live import LiveAwsTarget
from compliance.targets.canary import CanaryExport, CanaryMode, CanaryOutcome, LandedObject, LockMode, landed_object
from compliance.targets.snapshot import AwsSnapshot

KEY = "qualio/compliance-canary/20261129T000000Z-0000abcd.txt"


class ReportingTarget:
    """A writing target that reports a fixed export and remembers whether it was asked."""

    canary_mode = CanaryMode.WRITES

    def __init__(self, export: CanaryExport) -> None:
        self.export = export
        self.asked: list[str] = []

    def canary_export(self, chain: Chain, external_id: str) -> CanaryExport:
        self.asked.append(external_id)
        return self.export


@pytest.fixture(autouse=True)
def external_id(monkeypatch: pytest.MonkeyPatch, ref_chain: Chain) -> None:
    monkeypatch.setenv(ref_chain.vendor.external_id_env, "ext-canary-test")


def landed(snapshot: AwsSnapshot, **changes: Any) -> LandedObject:
    bucket = snapshot.bucket.require()
    assert bucket is not None
    key = bucket.kms_key.require()
    assert key is not None
    fields: dict[str, Any] = {"encryption": "aws:kms", "kms_key_id": key.arn, "bucket_key_enabled": True,
                              "lock_mode": LockMode.COMPLIANCE,
                              "retain_until": datetime.now(UTC) + timedelta(days=2600), "version_id": "v1"}
    return LandedObject(**(fields | changes))


def judge(ref_chain: Chain, snapshot: AwsSnapshot, export: CanaryExport) -> tuple[Any, ReportingTarget]:
    target = ReportingTarget(export)
    return canary(ChainView(ref_chain, snapshot, ()), target), target


def test_a_refused_assume_role_fails_naming_the_role(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    finding, target = judge(ref_chain, reference_snapshot,
                            CanaryExport(CanaryOutcome.ROLE_REFUSED, KEY, (), "AccessDenied"))
    assert target.asked == ["ext-canary-test"]
    assert finding.status is Status.FAIL
    assert "AssumeRole" in finding.message and "(AccessDenied)" in finding.message


def test_a_refused_put_fails_with_the_steps_taken(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    steps = ("sts:AssumeRole as the vendor with the ExternalId and session tags: OK",)
    finding, _ = judge(ref_chain, reference_snapshot, CanaryExport(CanaryOutcome.PUT_REFUSED, KEY, steps, "KMS.Denied"))
    assert finding.status is Status.FAIL and "canary put" in finding.message and "(KMS.Denied)" in finding.message
    assert finding.evidence[0].data == list(steps)


@pytest.mark.parametrize(("changes", "problem"), [
    ({"encryption": "AES256"}, "encrypted with AES256, not SSE-KMS"),
    ({"kms_key_id": "arn:aws:kms:us-east-1:111122223333:key/other"}, "not the bucket key"),
    ({"lock_mode": LockMode.GOVERNANCE}, "Object Lock mode is GOVERNANCE, not COMPLIANCE"),
    ({"lock_mode": None}, "Object Lock mode is none"),
    ({"retain_until": datetime.now(UTC) + timedelta(days=3)}, "retained only until"),
])
def test_a_landed_canary_short_of_the_bucket_intent_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot,
                                                          changes: dict[str, Any], problem: str) -> None:
    export = CanaryExport(CanaryOutcome.LANDED, KEY, (), landed=landed(reference_snapshot, **changes))
    finding, _ = judge(ref_chain, reference_snapshot, export)
    assert finding.status is Status.FAIL and problem in finding.message, finding.message


def test_a_landed_canary_as_intended_passes(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    export = CanaryExport(CanaryOutcome.LANDED, KEY, (), landed=landed(reference_snapshot))
    finding, _ = judge(ref_chain, reference_snapshot, export)
    assert finding.status is Status.PASS and KEY in finding.message
    assert finding.evidence[1].data["ObjectLockMode"] == "COMPLIANCE"


def test_nothing_is_exported_under_proposed_policies(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    target = ReportingTarget(CanaryExport(CanaryOutcome.LANDED, KEY, (), landed=landed(reference_snapshot)))
    proposal = Proposal(ProposalTarget.BUCKET, None, {"Version": "2012-10-17", "Statement": []}, "p.json")
    finding = canary(ChainView(ref_chain, reference_snapshot, (proposal,)), target)
    assert finding.status is Status.NOT_APPLICABLE and target.asked == []


def test_a_target_that_never_writes_is_not_supported(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    assert LiveAwsTarget.canary_mode is CanaryMode.NEVER_WRITES
    finding = canary(ChainView(ref_chain, reference_snapshot, ()), LiveAwsTarget())
    assert finding.status is Status.NOT_SUPPORTED


def test_head_object_fields_become_the_typed_landed_object() -> None:
    until = datetime(2033, 11, 27, 15, 19, 58, tzinfo=UTC)
    head = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "arn:k", "BucketKeyEnabled": True,
            "ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until, "VersionId": "v", "ETag": '"e"'}
    parsed = landed_object(head)
    assert parsed.lock_mode is LockMode.COMPLIANCE and parsed.retain_until == until
    assert parsed.to_json() == {**{k: v for k, v in head.items() if k != "ETag"},
                                "ObjectLockRetainUntilDate": until.isoformat()}
    assert landed_object({}).to_json() == {}
