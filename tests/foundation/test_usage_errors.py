"""Bad inputs through real pytest runs: one `ERROR:` line naming file, key and fix; exit 4; nothing ran."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import COMPLIANCE_DIR, reference_chain, reference_deployment, write_chain


def assert_usage_error(result: pytest.RunResult, evidence_dir: Path, *needles: str) -> str:
    """Exit 4, exactly one ERROR line containing every needle, no traceback, no test outcome, no evidence."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    output = result.outlines + result.errlines
    errors = [line for line in output if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    text = "\n".join(output)
    assert "Traceback" not in text and "_pytest.outcomes" not in text
    assert " passed" not in text and " failed" not in text and "collected" not in text
    assert not evidence_dir.exists(), "a usage error must not leave a run directory behind"
    return errors[0]


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, Path]:
    evidence = pytester.path / "evidence"
    return pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), *args), evidence


def _set(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d[section].__setitem__(key, value)


def _rename(section: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d[section].__setitem__(new, d[section].pop(old))


Mutation = Callable[[dict[str, Any]], object]

BAD_CHAINS: dict[str, tuple[Mutation, str, str, str]] = {
    "missing-key": (lambda d: d["aws"].pop("bucket"), "aws.bucket", "missing required key", "add `bucket = "),
    "mistyped-key": (_set("aws", "min_retention_days", "2555"), "aws.min_retention_days", "whole number",
                     "min_retention_days = 2555"),
    "malformed-arn": (_set("aws", "role_arn", "arn:aws:iam::1111:role/QualioExportRole"), "aws.role_arn",
                      "not a valid IAM role ARN", 'use the form "arn:aws:iam::'),
    "malformed-cidr": (_set("vendor", "source_ips", ["203.0.113.0/33"]), "vendor.source_ips[0]",
                       "not a valid IPv4 or IPv6 CIDR", '"203.0.113.0/24"'),
    "unknown-key": (_rename("aws", "region", "regoin"), "aws.regoin", "unknown key", "did you mean `region`?"),
    "unknown-table": (lambda d: d.__setitem__("awz", {"x": 1}), "awz", "unknown key", "did you mean `aws`?"),
}


@pytest.mark.parametrize("case", sorted(BAD_CHAINS))
def test_bad_chain_config_is_one_usage_error_line(pytester: pytest.Pytester, case: str) -> None:
    mutate, key, problem, fix = BAD_CHAINS[case]
    data = copy.deepcopy(reference_chain())
    mutate(data)
    bad = write_chain(pytester.path / "bad-chain.toml", data)
    result, evidence = run(pytester, "--chain", str(bad))
    line = assert_usage_error(result, evidence, str(bad), key, problem, "Fix:", fix)
    assert line.startswith(f"ERROR: {bad}: {key}: ")


def test_invalid_toml(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "broken.toml"
    bad.write_text("[aws\nbucket = 1\n", encoding="utf-8")
    result, evidence = run(pytester, "--chain", str(bad))
    assert_usage_error(result, evidence, str(bad), "(file)", "not valid TOML", "Fix: fix the TOML syntax")


def test_missing_chain_file(pytester: pytest.Pytester) -> None:
    result, evidence = run(pytester, "--chain", str(pytester.path / "absent.toml"))
    assert_usage_error(result, evidence, "absent.toml", "file not found", "Fix: pass an existing file to --chain")


def test_unset_secret_in_live_mode(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPORT_EXTERNAL_ID", raising=False)
    monkeypatch.setenv("AZURE_BACKUP_SAS", "sv=2024-01-01&sig=abc")
    chain = write_chain(pytester.path / "chain.toml", reference_chain())
    result, evidence = run(pytester, "--target", "live", "--chain", str(chain))
    assert_usage_error(result, evidence, str(chain), "vendor.external_id_env",
                       "environment variable EXPORT_EXTERNAL_ID is not set", "Fix: export EXPORT_EXTERNAL_ID=<value>")


def test_usage_error_from_collection_hook_is_one_line(pytester: pytest.Pytester) -> None:
    """Checks collected by module name (not by path) are validated in pytest_collection_modifyitems."""
    data = reference_chain()
    data["aws"]["bucket"] = "Bad_Bucket"
    bad = write_chain(pytester.path / "bad.toml", data)
    result = pytester.runpytest("--pyargs", "compliance.checks.test_aws_identity", "--chain", str(bad),
                                "--evidence-dir", str(pytester.path / "evidence"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert errors == [f"ERROR: {bad}: aws.bucket: 'Bad_Bucket' is not a valid S3 bucket name. "
                      'Fix: use the form "company-audit-reports"']
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and " passed" not in text and " failed" not in text


# --- --deployment -------------------------------------------------------------------------------------------


def test_deployment_with_live_target(pytester: pytest.Pytester) -> None:
    deployment = pytester.path / "deployment.json"
    deployment.write_text(json.dumps(reference_deployment()), encoding="utf-8")
    result, evidence = run(pytester, "--target", "live", "--deployment", str(deployment))
    assert_usage_error(result, evidence, "--deployment", "--target live")


def _unknown_account_key(d: dict[str, Any]) -> None:
    d["aws"]["accounts"]["111122223333"]["bukets"] = []


def _role_without_trust(d: dict[str, Any]) -> None:
    del d["aws"]["accounts"]["111122223333"]["roles"][0]["trust_policy"]


def _unknown_kms_alias(d: dict[str, Any]) -> None:
    d["aws"]["accounts"]["111122223333"]["buckets"][1]["encryption"]["kms_key"] = "{{kms:audit-report}}"


def _unset_env_placeholder(d: dict[str, Any]) -> None:
    d["aws"]["accounts"]["111122223333"]["roles"][0]["tags"]["owner"] = "{{env:FOUNDATION_UNSET_OWNER}}"


BAD_DEPLOYMENTS: dict[str, tuple[Mutation, str, str, str]] = {
    "unknown-top-key": (lambda d: d.__setitem__("aws_accounts", {}), "aws_accounts", "unknown key",
                        "Fix: use one of: aws, azure, description"),
    "unknown-account-key": (_unknown_account_key, "aws.accounts.111122223333.bukets", "unknown key",
                            "buckets"),
    "missing-trust-policy": (_role_without_trust, "aws.accounts.111122223333.roles[0].trust_policy",
                             "missing required key", "Fix: add `trust_policy`"),
    "short-account-id": (lambda d: d["aws"]["accounts"].__setitem__("1234", {}), "aws.accounts.1234",
                         "12 digits", "Fix:"),
    "unknown-kms-alias": (_unknown_kms_alias, "aws.accounts.111122223333.buckets[1].encryption.kms_key",
                          "{{kms:audit-report}} names no kms_keys alias", 'Fix: declare a kms_keys entry'),
    "unset-env-placeholder": (_unset_env_placeholder, "aws.accounts.111122223333.roles[0].tags.owner",
                              "environment variable FOUNDATION_UNSET_OWNER is not set",
                              "Fix: export FOUNDATION_UNSET_OWNER=<value>"),
}


@pytest.mark.parametrize("case", sorted(BAD_DEPLOYMENTS))
def test_bad_deployment_is_one_usage_error_line(pytester: pytest.Pytester, case: str) -> None:
    mutate, key, problem, fix = BAD_DEPLOYMENTS[case]
    data = reference_deployment()
    mutate(data)
    bad = pytester.path / "deployment.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result, evidence = run(pytester, "--deployment", str(bad))
    line = assert_usage_error(result, evidence, str(bad), key, problem, fix)
    assert line.startswith(f"ERROR: {bad}: {key}: ")


def test_deployment_invalid_json(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "deployment.json"
    bad.write_text('{"aws": {"accounts": {}},}', encoding="utf-8")
    result, evidence = run(pytester, "--deployment", str(bad))
    assert_usage_error(result, evidence, str(bad), "(file)", "not valid JSON", "Fix: fix the JSON syntax")


def test_deployment_missing_file(pytester: pytest.Pytester) -> None:
    result, evidence = run(pytester, "--deployment", str(pytester.path / "nope.json"))
    assert_usage_error(result, evidence, "nope.json", "file not found", "Fix: pass an existing file to --deployment")
