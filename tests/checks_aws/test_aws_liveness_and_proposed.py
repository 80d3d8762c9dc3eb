"""Liveness checks on moto, and the --proposed overlay (loading, errors, effect on the checks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.chain.proposed import load_proposals
from compliance.checks import test_aws_bucket as bucket_checks
from compliance.checks.test_aws_liveness import test_aws_canary_export_encrypted_and_locked as canary
from compliance.checks.test_aws_liveness import test_aws_exports_arriving as arriving
from compliance.checks.test_aws_trust import test_aws_trust_network_conditions_admit_vendor_ips as network
from compliance.errors import ConfigError
from compliance.model import Status
from compliance.targets.snapshot import ObjectListing, ObjectSummary, Read

from .chain_helpers import (
    BUCKET,
    audit_bucket,
    customer,
    deployment_from,
    provision,
    reference_trust,
    run_check,
    view,
    with_bucket,
)


def test_canary_passes_on_the_reference_and_restores_the_policy(ref_chain: Any, moto_target: Any) -> None:
    snapshot = moto_target.snapshot(ref_chain)
    finding = run_check(canary, view(ref_chain, snapshot), moto_target)
    assert finding.status is Status.PASS, finding.message
    assert "COMPLIANCE" in finding.message
    s3 = moto_target.client("s3", ref_chain.aws.account)
    assert "DenyInsecureTransport" in s3.get_bucket_policy(Bucket=BUCKET)["Policy"]


def test_canary_is_not_supported_live(ref_chain: Any, reference_snapshot: Any) -> None:
    class Live:
        name = "live"

    assert run_check(canary, view(ref_chain, reference_snapshot), Live()).status is Status.NOT_SUPPORTED


def test_old_exports_fail_arriving(ref_chain: Any, reference_snapshot: Any) -> None:
    old = ObjectListing((ObjectSummary("qualio/2020/01/01/audit.pdf", "2020-01-01T00:00:00+00:00", 10),), False)
    snapshot = with_bucket(reference_snapshot, newest_objects=Read("s3:ListObjectsV2", old))
    finding = run_check(arriving, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "stopped arriving" in finding.message
    empty = with_bucket(reference_snapshot, newest_objects=Read("s3:ListObjectsV2", ObjectListing((), False)))
    assert "No export exists" in run_check(arriving, view(ref_chain, empty)).message
    assert run_check(arriving, view(ref_chain, reference_snapshot)).status is Status.PASS


def test_bucket_settings_mutated_in_the_deployment_fail_their_checks(ref_chain: Any,
                                                                     reference_deployment: Any) -> None:
    """One provisioned deployment breaks six independent bucket settings at once."""
    data = json.loads(json.dumps(reference_deployment))
    bucket = audit_bucket(data)
    bucket["ownership"] = "ObjectWriter"
    bucket["encryption"] = {"algorithm": "AES256"}
    bucket.pop("object_lock")
    bucket["versioning"] = "Suspended"
    bucket.pop("logging")
    bucket.pop("public_access_block")
    customer(data).pop("public_access_block")
    chain_view = view(ref_chain, provision(deployment_from(data), ref_chain))
    expected = {
        bucket_checks.test_aws_bucket_ownership_enforced: "ObjectWriter",
        bucket_checks.test_aws_bucket_default_encryption_is_sse_kms: "AES256",
        bucket_checks.test_aws_bucket_object_lock_compliance_retention: "not enabled",
        bucket_checks.test_aws_bucket_versioning_enabled: "Suspended",
        bucket_checks.test_aws_bucket_access_logging_enabled: "logging is off",
        bucket_checks.test_aws_bucket_public_access_blocked: "bucket level",
        bucket_checks.test_aws_account_public_access_blocked: "account level",
    }
    for check, words in expected.items():
        finding = run_check(check, chain_view)
        assert finding.status is Status.FAIL, (check.__name__, finding.message)
        assert words in finding.message, (check.__name__, finding.message)


def envelope(tmp_path: Path, body: Any, name: str = "proposed.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def ip_trust() -> dict[str, Any]:
    trust = reference_trust()
    trust[0]["Condition"] = {"StringEquals": {"sts:ExternalId": "{{env:EXPORT_EXTERNAL_ID}}"},
                             "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    return {"Version": "2012-10-17", "Statement": trust}


def test_proposed_source_ip_trust_is_caught(tmp_path: Path, ref_chain: Any, reference_snapshot: Any) -> None:
    proposals = load_proposals([envelope(tmp_path, {"replaces": "trust", "document": ip_trust()})])
    finding = run_check(network, view(ref_chain, reference_snapshot, proposals))
    assert finding.status is Status.FAIL and "aws:SourceIp" in finding.message
    assert any(e.source == "--proposed" for e in finding.evidence)
    assert run_check(network, view(ref_chain, reference_snapshot)).status is Status.PASS


def test_proposed_bucket_removal_and_inline_addition(tmp_path: Path, ref_chain: Any, reference_snapshot: Any) -> None:
    path = envelope(tmp_path, [
        {"replaces": "bucket", "document": None},
        {"replaces": "role-inline:Extra", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}}])
    chain_view = view(ref_chain, reference_snapshot, load_proposals([path]))
    assert chain_view.bucket_policy() is None
    assert [p.name for p in chain_view.identity_policies()] == ["WriteAuditExports", "Extra"]


def test_proposed_scp_is_laid_over_its_level(tmp_path: Path, ref_chain: Any, reference_snapshot: Any) -> None:
    path = envelope(tmp_path, {"replaces": "scp:ProtectAuditRecords", "document": {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]}})
    from compliance.checks.test_aws_chain import test_aws_chain_allows_vendor_export as chain_check

    finding = run_check(chain_check, view(ref_chain, reference_snapshot, load_proposals([path])))
    assert finding.status is Status.FAIL and "SCP 'ProtectAuditRecords'" in finding.message


@pytest.mark.parametrize(("body", "words"), [
    ("{not json", "not valid JSON"),
    ({"replaces": "trusts", "document": {}}, "unknown target 'trusts'"),
    ({"replaces": "role-inline", "document": {}}, "needs a name"),
    ({"replaces": "trust", "document": None}, "cannot be removed"),
    ({"replaces": "trust", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}},
     "not a valid trust policy"),
    ({"replaces": "bucket"}, "document: missing"),
    ([{"replaces": "bucket", "document": None}, {"replaces": "bucket", "document": None}], "already proposed"),
], ids=["json", "target", "name", "remove-trust", "invalid-policy", "no-document", "twice"])
def test_malformed_proposals_are_one_line_errors(tmp_path: Path, body: Any, words: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_proposals([envelope(tmp_path, body)])
    assert words in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_missing_proposed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_proposals([tmp_path / "nope.json"])

