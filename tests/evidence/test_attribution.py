"""Attribution: operator, host, CI run, the chain config's git commit and the suite's code hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compliance.evidence.attribution import CiProvider, ci_run, git_commit, operator, suite_code_sha256

from .conftest import SuiteRun


def test_operator_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert operator("Dana Smith", {"COMPLIANCE_OPERATOR": "ci-bot"}) == {"name": "Dana Smith", "source": "--operator"}
    assert operator(None, {"COMPLIANCE_OPERATOR": "ci-bot"}) == {"name": "ci-bot", "source": "COMPLIANCE_OPERATOR"}
    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    assert operator("  ", {}) == {"name": "osuser", "source": "operating-system user"}


def test_github_actions_run() -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REPOSITORY": "o/r",
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_JOB": "nightly", "GITHUB_SHA": "abc"}
    run = ci_run(env)
    assert run is not None and run.provider is CiProvider.GITHUB and run.run_id == "123"
    assert run.url == "https://github.com/o/r/actions/runs/123/attempts/2" and run.commit == "abc"


def test_gitlab_run() -> None:
    env = {"GITLAB_CI": "true", "CI_PIPELINE_ID": "77", "CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/77",
           "CI_JOB_ID": "9", "CI_COMMIT_SHA": "def"}
    run = ci_run(env)
    assert run is not None and run.provider is CiProvider.GITLAB and run.url == env["CI_PIPELINE_URL"]


def test_no_ci() -> None:
    assert ci_run({}) is None
    assert ci_run({"GITHUB_ACTIONS": "false", "GITHUB_RUN_ID": "1"}) is None


def test_git_commit_of_the_chain_config(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    sha = "0123456789abcdef0123456789abcdef01234567"
    (repo / ".git" / "refs" / "heads" / "main").write_text(sha + "\n", encoding="utf-8")
    (repo / "chains").mkdir()
    config = repo / "chains" / "chain.toml"
    config.write_text("", encoding="utf-8")
    assert git_commit(config) == {"commit": sha, "ref": "refs/heads/main", "repository": str(repo)}
    (repo / ".git" / "refs" / "heads" / "main").unlink()
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{sha} refs/heads/main\n", encoding="utf-8")
    assert git_commit(config)["commit"] == sha  # type: ignore[index]
    outside = tmp_path / "plain" / "chain.toml"
    outside.parent.mkdir()
    outside.write_text("", encoding="utf-8")
    assert git_commit(outside) is None or git_commit(outside)["repository"] != str(repo)  # type: ignore[index]


def test_suite_code_hash_follows_the_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n", encoding="utf-8")
    first = suite_code_sha256(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00")
    assert suite_code_sha256(package) == first
    (package / "a.py").write_text("x = 2\n", encoding="utf-8")
    assert suite_code_sha256(package) != first


def test_run_header_attribution(signed_failing_run: SuiteRun) -> None:
    header = signed_failing_run.evidence["header"]
    assert header["operator"] == {"name": "Dana Smith", "source": "--operator"}
    assert header["host"]
    assert re.fullmatch(r"[0-9a-f]{64}", header["suite_code_sha256"])  # (others edit the code meanwhile: no equality)
    assert header["versions"]["export-chain-compliance"]
    assert "ci" in header and "chain_config_git" in header
    assert header["started"].endswith("Z") and header["finished"].endswith("Z")
    for record in signed_failing_run.evidence["findings"]:
        assert record["recorded_at"].endswith("Z")
    html = (signed_failing_run.run_dir / "evidence.html").read_text(encoding="utf-8")
    for text in ("Operator", "Dana Smith (from --operator)", "Host", "CI run", "Suite code", header["run_id"]):
        assert text in html, text
