"""End to end with pytester: `pytest compliance/` on the reference, a mutated deployment, and --proposed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.checks import load_all_checks
from compliance.plugin import PACKAGE_DIR

from .chain_helpers import BUCKET, audit_bucket, reference_bucket_statements

AWS_CHECKS = sorted(c for c, meta in load_all_checks().items() if meta.provider.value == "aws")


def run(pytester: pytest.Pytester, tmp_path: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(str(PACKAGE_DIR), "--evidence-dir", str(tmp_path / "reports"),
                                        "--fuzz-examples", "25", *args)


def test_reference_deployment_passes_every_aws_check(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run(pytester, tmp_path, "-k", "aws")
    result.assert_outcomes(passed=len(AWS_CHECKS))
    assert len(AWS_CHECKS) >= 26


def test_bucket_policy_deny_fails_the_right_checks(pytester: pytest.Pytester, tmp_path: Path,
                                                   reference_deployment: Any) -> None:
    data = json.loads(json.dumps(reference_deployment))
    audit_bucket(data)["policy"] = {"Version": "2012-10-17", "Statement": [*reference_bucket_statements(), {
        "Sid": "OnlyAdminsWrite", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps(data), encoding="utf-8")
    result = run(pytester, tmp_path, "--deployment", str(deployment), "-k",
                 "aws_chain or aws_bucket_policy_denies_no_intended_write or aws_trust_allows_vendor")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*FAIL: The bucket policy denies the role's intended s3:PutObject*OnlyAdminsWrite*",
                                 "*FAIL: The export breaks at step 3 of 5*OnlyAdminsWrite*Verify Configuration*"])


def test_proposed_source_ip_trust_fails_before_it_ships(pytester: pytest.Pytester, tmp_path: Path) -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Sid": "VendorAssumesWithExternalId", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::999988887777:role/ExportService"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "{{env:EXPORT_EXTERNAL_ID}}"},
                       "IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}},
        {"Sid": "VendorPassesSsoSessionTags", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::999988887777:role/ExportService"}, "Action": "sts:TagSession"}]}
    proposed = tmp_path / "trust.json"
    proposed.write_text(json.dumps({"replaces": "trust", "document": trust}), encoding="utf-8")
    result = run(pytester, tmp_path, "--proposed", str(proposed), "-k", "aws_trust or aws_chain")
    result.stdout.fnmatch_lines([
        "*FAIL: The trust policy's aws:SourceIp condition (statement 'VendorAssumesWithExternalId'*"
        "no published source IPs*"])
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 3


def test_malformed_proposed_file_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    proposed = tmp_path / "bad.json"
    proposed.write_text(json.dumps({"replaces": "trusts", "document": {}}), encoding="utf-8")
    result = run(pytester, tmp_path, "--proposed", str(proposed))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--proposed: *bad.json: replaces: unknown target 'trusts'*"])
