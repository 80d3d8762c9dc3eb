"""End to end with pytester: the [vendor] request keys reach the checks through `--chain`, and a bad value is a
usage error of one line (issue 10, item 7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.config import default_chain_path
from compliance.plugin import PACKAGE_DIR

from .chain_helpers import BUCKET, audit_bucket, reference_bucket_statements

SELECTED = "aws_chain_allows_vendor_export or aws_bucket_policy_denies_no_intended_write"


def chain_file(tmp_path: Path, vendor_lines: str) -> Path:
    text = default_chain_path().read_text(encoding="utf-8").replace("source_ips = []\n",
                                                                     f"source_ips = []\n{vendor_lines}\n", 1)
    path = tmp_path / "chain.toml"
    path.write_text(text, encoding="utf-8")
    return path


def kms_required_deployment(tmp_path: Path, reference_deployment: Any) -> Path:
    data = json.loads(json.dumps(reference_deployment))
    audit_bucket(data)["policy"] = {"Version": "2012-10-17", "Statement": [*reference_bucket_statements(), {
        "Sid": "RequireSseKms", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}]}
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run(pytester: pytest.Pytester, tmp_path: Path, *args: str) -> pytest.RunResult:
    """A separate process per run: a second in-process run crashed (SIGSEGV) inside WeasyPrint/Pango while writing
    evidence.pdf in pytest_unconfigure, which has nothing to do with what these tests check."""
    return pytester.runpytest_subprocess(str(PACKAGE_DIR), "--evidence-dir", str(tmp_path / "reports"), *args)


def test_vendor_sending_no_sse_header_fails_where_the_bucket_requires_it(
        pytester: pytest.Pytester, tmp_path: Path, reference_deployment: Any) -> None:
    chain = chain_file(tmp_path, 'sse_header = "none"\nkms_key_id_header = false')
    deployment = kms_required_deployment(tmp_path, reference_deployment)
    result = run(pytester, tmp_path, "--chain", str(chain), "--deployment", str(deployment), "-k", SELECTED)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*FAIL: The bucket policy denies the role's intended s3:PutObject*RequireSseKms*"
        "no x-amz-server-side-encryption header*"])


def test_vendor_sending_the_bucket_default_passes_the_same_deployment(
        pytester: pytest.Pytester, tmp_path: Path, reference_deployment: Any) -> None:
    chain = chain_file(tmp_path, 'sse_header = "bucket-default"')
    deployment = kms_required_deployment(tmp_path, reference_deployment)
    result = run(pytester, tmp_path, "--chain", str(chain), "--deployment", str(deployment), "-k", SELECTED)
    result.assert_outcomes(passed=2)


def test_bad_request_key_is_a_one_line_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    chain = chain_file(tmp_path, 'upload_kinds = ["single", "chunked"]')
    result = run(pytester, tmp_path, "--chain", str(chain))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{chain}: vendor.upload_kinds[[]1]: 'chunked' is not one of \"single\", "
                                 "\"multipart\". Fix: use one of \"single\", \"multipart\"*"])
    assert "Traceback" not in result.stderr.str()
