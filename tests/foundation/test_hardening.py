"""Issue 13's table, row by row: each malformed input is one usage-error line (exit 4) before anything runs.

Every run is a subprocess (`runpytest_subprocess`): a second in-process run of the suite can crash in
WeasyPrint/Pango while writing evidence.pdf, and a usage error must be judged from what a user sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import COMPLIANCE_DIR, reference_chain, reference_deployment, write_chain


def usage_error(result: pytest.RunResult, evidence: Path, *needles: str) -> str:
    """Exit 4, one `ERROR:` line holding every needle, no traceback, nothing collected, no run directory."""
    text = "\n".join(result.outlines + result.errlines)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, text
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    assert " passed" not in text and " failed" not in text and "collected" not in text, text
    assert not evidence.exists() or not any(evidence.iterdir()), "a usage error must not leave a run directory"
    return errors[0]


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, Path]:
    evidence = pytester.path / "evidence"
    return pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), *args), evidence


def chain_file(pytester: pytest.Pytester, text: str) -> Path:
    path = pytester.path / "chain.toml"
    path.write_text(text, encoding="utf-8")
    return path


def reference_toml(pytester: pytest.Pytester, section: str, key: str, value: object) -> Path:
    data = reference_chain()
    data[section][key] = value
    return write_chain(pytester.path / "chain.toml", data)


# --- the table of issue 13 -------------------------------------------------------------------------------------


def test_chains_of_numbers_is_one_line(pytester: pytest.Pytester) -> None:
    path = chain_file(pytester, "chains = [1, 2]\n")
    result, evidence = run(pytester, "--chain", str(path))
    usage_error(result, evidence, str(path), "chains[0]", "expected a [[chains]] table", "Fix:")


def test_deeply_nested_chain_toml_is_one_line(pytester: pytest.Pytester) -> None:
    path = chain_file(pytester, "x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    result, evidence = run(pytester, "--chain", str(path))
    usage_error(result, evidence, str(path), "nested deeper than 64 levels", "Fix:")


def test_deeply_nested_deployment_json_is_one_line(pytester: pytest.Pytester) -> None:
    path = pytester.path / "deployment.json"
    path.write_text('{"description": ' + "[" * 50_000 + "]" * 50_000 + "}", encoding="utf-8")
    result, evidence = run(pytester, "--deployment", str(path))
    usage_error(result, evidence, str(path), "nested deeper than 64 levels", "Fix:")


def test_evidence_dir_that_is_a_file_is_one_line(pytester: pytest.Pytester) -> None:
    blocker = pytester.path / "reports-file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--evidence-dir", str(blocker))
    usage_error(result, pytester.path / "no-such-dir", "--evidence-dir", str(blocker), "is a file", "Fix:")
    result = pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--evidence-dir", str(blocker / "runs"))
    usage_error(result, pytester.path / "no-such-dir", "cannot be created", "is a file")
    assert blocker.read_text(encoding="utf-8") == "not a directory"


def test_empty_sign_key_is_refused_before_any_check(pytester: pytest.Pytester) -> None:
    key = pytester.path / "empty.pem"
    key.write_bytes(b"")
    result, evidence = run(pytester, "--sign-key", str(key))
    usage_error(result, evidence, "--sign-key", str(key), "not a readable PEM private key")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_max_export_age_is_one_line(pytester: pytest.Pytester, value: float) -> None:
    path = chain_file(pytester, reference_toml(pytester, "aws", "max_export_age_hours", 26).read_text(
        encoding="utf-8").replace("max_export_age_hours = 26", f"max_export_age_hours = {value}"))
    result, evidence = run(pytester, "--chain", str(path))
    usage_error(result, evidence, "aws.max_export_age_hours", "Fix: write it as `max_export_age_hours = 26`")


def test_cidr_with_host_bits_is_refused_not_widened(pytester: pytest.Pytester) -> None:
    path = reference_toml(pytester, "vendor", "source_ips", ["203.0.113.7/8"])
    result, evidence = run(pytester, "--chain", str(path))
    line = usage_error(result, evidence, "vendor.source_ips[0]", "host bits set", "203.0.0.0/8",
                       '"203.0.113.7/32"')
    assert line.startswith(f"ERROR: {path}: vendor.source_ips[0]: ")


def test_int64_max_retention_is_one_line(pytester: pytest.Pytester) -> None:
    path = reference_toml(pytester, "aws", "min_retention_days", 2**63 - 1)
    result, evidence = run(pytester, "--chain", str(path))
    usage_error(result, evidence, "aws.min_retention_days", "must be at most 36500", "Fix:")


def test_bucket_policy_over_20_kb_is_refused_with_the_limit(pytester: pytest.Pytester) -> None:
    data = reference_deployment()
    bucket = data["aws"]["accounts"]["111122223333"]["buckets"][0]
    statement = bucket["policy"]["Statement"][0]
    bucket["policy"]["Statement"] = [dict(statement, Sid=f"S{i}") for i in range(10_000)]
    path = pytester.path / "deployment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result, evidence = run(pytester, "--deployment", str(path))
    usage_error(result, evidence, str(path), "aws.accounts.111122223333.buckets[0].policy",
                "S3 bucket policy limit (20 KB)", "20,480")


def test_secure_look_alikes_still_run(pytester: pytest.Pytester) -> None:
    """The limits are not off by one: a config at every bound and a bucket policy just under 20 KB pass."""
    data = reference_chain()
    data["vendor"]["source_ips"] = ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"]
    data["aws"]["min_retention_days"] = 36_500
    data["aws"]["max_export_age_hours"] = 8_760.0
    chain = write_chain(pytester.path / "chain.toml", data)
    deployment = reference_deployment()
    bucket = deployment["aws"]["accounts"]["111122223333"]["buckets"][0]
    statement = bucket["policy"]["Statement"][0]
    size = len(json.dumps(bucket["policy"], separators=(",", ":")).encode())
    bucket["policy"]["Statement"].extend(
        dict(statement, Sid=f"Pad{i}") for i in range((20_000 - size) // (len(json.dumps(statement)) + 10)))
    assert len(json.dumps(bucket["policy"], separators=(",", ":")).encode()) <= 20_480
    path = pytester.path / "deployment.json"
    path.write_text(json.dumps(deployment), encoding="utf-8")
    evidence = pytester.path / "evidence"
    result = pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--chain", str(chain), "--deployment", str(path),
                                           "--evidence-dir", str(evidence), "-k", "aws_bucket_policy")
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), result.stdout.str()
    assert list(evidence.glob("*/evidence.json"))


# --- live mode without credentials -------------------------------------------------------------------------------


@pytest.fixture
def no_aws_credentials(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment in which boto3's default chain finds nothing (and never waits for instance metadata)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    home = pytester.path / "home"
    (home / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", "ext-id-preflight-1")
    monkeypatch.setenv("AZURE_BACKUP_SAS", "sv=2025-11-05&sr=c&sp=cw&se=2027-01-01T00:00:00Z&spr=https&sig=QUJD")
    return home


def test_live_mode_without_credentials_is_one_usage_line(pytester: pytest.Pytester,
                                                         no_aws_credentials: Path) -> None:
    result, evidence = run(pytester, "--target", "live")
    line = usage_error(result, evidence, "no AWS credentials found", "aws sso login --profile", "AWS_PROFILE", "OIDC")
    assert result.stdout.str().count("ERROR") + result.stderr.str().count("ERROR") == 1, line


def test_live_mode_with_expired_sso_is_one_usage_line(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                      no_aws_credentials: Path) -> None:
    (no_aws_credentials / ".aws" / "config").write_text(
        "[profile audit-sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 111122223333\nsso_role_name = ComplianceAudit\nregion = us-east-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_PROFILE", "audit-sso")  # no token in ~/.aws/sso/cache: signed out or expired
    result, evidence = run(pytester, "--target", "live")
    usage_error(result, evidence, "AWS_PROFILE=audit-sso", "SSO sign-in has expired or was never made",
                "aws sso login --profile audit-sso")


def test_live_mode_with_credentials_passes_the_preflight(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                         no_aws_credentials: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    result = pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--target", "live", "--collect-only", "-q",
                                           "--evidence-dir", str(pytester.path / "evidence"))
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert "wJalrXUtnFEMI" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("selection", [("-k", "azure"), ("-m", "azure")])
def test_azure_only_live_run_needs_no_aws_login(pytester: pytest.Pytester, no_aws_credentials: Path,
                                                selection: tuple[str, str]) -> None:
    """Look-alike: the pre-flight applies only when AWS checks are selected."""
    result = pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--target", "live", "--collect-only", "-q",
                                           "--evidence-dir", str(pytester.path / "evidence"), *selection)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert "aws_trust" not in result.stdout.str() and "azure_sas" in result.stdout.str()


def test_fuzz_examples_beyond_any_run_length_is_one_line(pytester: pytest.Pytester) -> None:
    result, evidence = run(pytester, "--fuzz-examples", str(2**63 - 1))
    usage_error(result, evidence, "--fuzz-examples must be at most 100,000")
