"""The plugin's command-line surface, markers, header, entry point and evidence directory."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, cast

import pytest

import compliance.plugin
from compliance.errors import ReadError
from compliance.model import Finding, Status

from .conftest import COMPLIANCE_DIR, aws_only_chain, reference_deployment, write_chain

ROOT_CONFTEST = COMPLIANCE_DIR.parent / "conftest.py"


def test_pytest11_entry_point_is_named_compliance_plugin() -> None:
    (ep,) = [ep for ep in entry_points(group="pytest11") if ep.value == "compliance.plugin"]
    assert ep.name == "compliance.plugin"
    assert ep.load() is compliance.plugin


def test_conftest_and_entry_point_register_the_plugin_once(pytester: pytest.Pytester) -> None:
    """The project conftest (`pytest_plugins = ["compliance.plugin"]`) and the entry point share one name."""
    assert 'pytest_plugins = ["compliance.plugin"]' in ROOT_CONFTEST.read_text(encoding="utf-8")
    reprec = pytester.inline_run(str(COMPLIANCE_DIR), "--collect-only", "-q",
                                 "--evidence-dir", str(pytester.path / "ev"))
    assert reprec.ret == pytest.ExitCode.OK
    pm = reprec._pluginmanager
    plugins = pm.get_plugins()
    assert any(Path(getattr(p, "__file__", "")) == ROOT_CONFTEST for p in plugins), "root conftest was loaded"
    assert [p for p in plugins if p is compliance.plugin] == [compliance.plugin]
    assert pm.get_name(compliance.plugin) == "compliance.plugin"
    impls = [i for i in pm.hook.pytest_addoption.get_hookimpls() if i.plugin is compliance.plugin]
    assert len(impls) == 1
    assert pm.has_plugin("compliance.fixtures")


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "export chain compliance:",
        "*--target={moto,live}*",
        "*--chain=PATH*chain config TOML*",
        "*--deployment=PATH*moto only*",
        "*--evidence-dir=DIR*",
    ])
    result.stdout.fnmatch_lines(["*(default:", "*reports/)"])


def test_unknown_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--target", "staging")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'staging'" in result.stderr.str()


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([
        "@pytest.mark.compliance_check(check_id): a compliance check*",
        "@pytest.mark.aws: a check of the AWS side of the chain",
        "@pytest.mark.azure: a check of the Azure backup",
    ])
    pytester.makepyfile(test_marks="""
        import pytest

        @pytest.mark.aws
        @pytest.mark.azure
        @pytest.mark.compliance_check("x")
        def test_marked():
            pass
    """)
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists(), "the plugin is inert outside compliance runs"


def test_chain_option_parametrises_checks_per_chain(pytester: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Also: with the moto target, unset secret variables are no error (throwaway values are generated)."""
    monkeypatch.delenv("EXPORT_EXTERNAL_ID", raising=False)
    monkeypatch.delenv("EXPORT_EXTERNAL_ID_EU", raising=False)
    first, second = aws_only_chain(), aws_only_chain()
    second["vendor"]["external_id_env"] = "EXPORT_EXTERNAL_ID_EU"
    chain = write_chain(pytester.path / "two.toml", {"chains": [{"id": "qualio-prod", **first},
                                                                {"id": "qualio-eu", **second}]})
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--chain", str(chain), "--collect-only", "-q",
                                "--evidence-dir", "ev")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "*test_aws_configured_role_arn_matches_role[[]qualio-prod[]]",
        "*test_aws_configured_role_arn_matches_role[[]qualio-eu[]]",
    ])


def test_default_evidence_dir_header_and_deployment_option(pytester: pytest.Pytester) -> None:
    """`pytest compliance/ --deployment X` writes reports/<UTC>/ under the invocation directory, says so in
    the header, and provisions X instead of the reference deployment (here the role is renamed: FAIL)."""
    deployment = reference_deployment()
    deployment["aws"]["accounts"]["111122223333"]["roles"][0]["name"] = "QualioExportRoleV2"
    path = pytester.path / "deployment.json"
    path.write_text(json.dumps(deployment), encoding="utf-8")
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--deployment", str(path), "-k", "configured_role_arn")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines(["*FAIL: No role named QualioExportRole exists in account 111122223333*"])
    header = [line for line in result.outlines if line.startswith("compliance: ")]
    assert len(header) == 1
    match = re.fullmatch(r"compliance: target=moto chain=(\S+) evidence=(\S+)", header[0])
    assert match, header[0]
    assert match.group(1) == str(COMPLIANCE_DIR / "data" / "reference-chain.toml")
    run_dir = Path(match.group(2))
    assert run_dir.parent == pytester.path / "reports"
    assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", run_dir.name)
    evidence = json.loads((run_dir / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["target"] == "moto"
    statuses = {r["check"]["id"]: r["finding"]["status"] for r in evidence["findings"]}
    assert statuses["aws_configured_role_arn_matches_role"] == "FAIL"
    assert set(evidence["snapshots"]) == {"qualio"}
    assert evidence["snapshots"]["qualio"]["role"]["failure"]["code"] == "NoSuchEntity"
    assert (run_dir / "junit.xml").exists() and (run_dir / "evidence.html").exists()


def test_relative_evidence_dir_and_live_header(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", "ext-id-header-test")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")  # the live pre-flight resolves credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    chain = write_chain(pytester.path / "chain.toml", aws_only_chain())
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--target", "live", "--chain", str(chain),
                                "--evidence-dir", "out/evidence", "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    root = pytester.path / "out" / "evidence"
    result.stdout.fnmatch_lines([f"compliance: target=live chain={chain} evidence={root}/*"])
    runs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1 and (runs[0] / "evidence.json").exists()


# --- findings become outcomes: anything unexpected is ERROR, never PASS ----------------------------------------


class _Item:
    def __init__(self, fn: Any) -> None:
        self.obj = fn


@pytest.mark.parametrize(("fn", "status", "message"), [
    (lambda: Finding.passed("ok"), Status.PASS, "ok"),
    (lambda: (_ for _ in ()).throw(ReadError("s3:GetBucketPolicy", "AccessDenied", "no")), Status.ERROR,
     "Could not read s3:GetBucketPolicy (AccessDenied): no"),
    (lambda: dict[str, int]()["missing"], Status.ERROR,
     "The check crashed (KeyError: 'missing'); the result is unverified."),
    (lambda: True, Status.ERROR, "The check returned bool, not a finding; the result is unverified."),
])
def test_run_check_turns_every_failure_into_error(fn: Any, status: Status, message: str) -> None:
    finding = compliance.plugin._run_check(cast(pytest.Function, _Item(fn)), {})
    assert (finding.status, finding.message) == (status, message)
