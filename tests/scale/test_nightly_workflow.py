"""The nightly workflow example: valid YAML whose steps call the documented commands with options that exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.__main__ import COMMANDS
from compliance.evidence.drift import compare
from compliance.redaction import Redactor

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly-compliance.yml"
DOC = ROOT / "docs" / "NIGHTLY.md"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return list(job["steps"])


def step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in steps(workflow) if name in (s.get("name") or "")]
    return found


def test_triggers_and_permissions(workflow: dict[str, Any]) -> None:
    yaml_on: Any = True  # YAML 1.1 reads a bare `on` as true
    triggers = workflow.get("on", workflow.get(yaml_on))
    assert triggers is not None
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert workflow["permissions"]["id-token"] == "write"  # OIDC
    assert workflow["permissions"]["contents"] == "read"


def test_oidc_into_the_audit_role(workflow: dict[str, Any]) -> None:
    (aws,) = [s for s in steps(workflow) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
    assert aws["with"]["role-to-assume"].startswith("${{ vars.")
    assert "aws-access-key-id" not in aws["with"]  # no stored keys


def _pytest_command(workflow: dict[str, Any]) -> list[str]:
    script = step(workflow, "Run every chain")["run"]
    (line,) = [chunk for chunk in script.replace("\\\n", " ").splitlines() if chunk.strip().startswith("pytest ")]
    return shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "", line))


def test_the_run_step_calls_the_documented_command(workflow: dict[str, Any]) -> None:
    argv = _pytest_command(workflow)
    assert argv[:6] == ["pytest", "compliance/", "--target", "live", "-n", "auto"]
    assert argv[argv.index("--chain") + 1] == '$CHAIN_FILE'
    assert "--evidence-dir" in argv
    baseline = step(workflow, "previous night")["run"]
    assert "gh run download" in baseline and "--baseline baseline/evidence.json" in baseline
    assert "--name \"$ARTIFACT\"" in baseline
    assert "pytest compliance/ --target live -n auto --chain" in DOC.read_text(encoding="utf-8")


def test_the_pytest_options_exist(workflow: dict[str, Any]) -> None:
    """`pytest --help` of this suite knows every option the workflow passes."""
    help_text = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                               capture_output=True, text=True, cwd=ROOT, check=True).stdout
    options = [a for a in _pytest_command(workflow) if a.startswith("-")] + ["--baseline"]
    for option in options:
        assert re.search(rf"(^|\s|,){re.escape(option)}[\s=,]", help_text), option


def test_upload_and_verify_use_the_run_directory(workflow: dict[str, Any]) -> None:
    upload = step(workflow, "Upload")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == "${{ env.ARTIFACT }}"
    assert upload["with"]["path"] == "${{ steps.suite.outputs.run_dir }}"
    assert "always()" in upload["if"]
    verify = step(workflow, "Verify")["run"]
    assert "python -m compliance verify" in verify and "verify" in COMMANDS


def _drift_script(workflow: dict[str, Any]) -> str:
    script = step(workflow, "Status changes")["run"]
    match = re.search(r"<<'PY'\n(.*)\nPY", script, re.S)
    assert match
    return match.group(1)


def _record(check: str, chain: str, status: str, message: str) -> dict[str, Any]:
    return {"check": {"id": check, "title": check, "severity": "medium", "provider": "aws"}, "chain": chain,
            "nodeid": f"x::test_{check}[{chain}]", "finding": {"status": status, "message": message}}


@pytest.mark.parametrize("changed", [True, False])
def test_the_drift_step_reads_the_keys_drift_writes(workflow: dict[str, Any], tmp_path: Path, changed: bool) -> None:
    """Run the workflow's own drift script on an evidence.json whose drift section drift.compare wrote."""
    import json

    before = {"started": "2026-11-27T02:17:00+00:00", "snapshots": {},
              "findings": [_record("aws_bucket_versioning_enabled", "chain-007", "PASS", "on")]}
    after_status = "FAIL" if changed else "PASS"
    current = {"started": "2026-11-28T02:17:00+00:00", "snapshots": {},
               "findings": [_record("aws_bucket_versioning_enabled", "chain-007", after_status, "Versioning is off.")]}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    evidence = {"totals": {"PASS": 0 if changed else 1, "FAIL": 1 if changed else 0},
                "drift": compare(before, current, Redactor(()))}
    (run_dir / "evidence.json").write_text(json.dumps(evidence), encoding="utf-8")
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = dict(os.environ, RUN_DIR=str(run_dir), GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output))
    subprocess.run([sys.executable, "-c", _drift_script(workflow)], cwd=tmp_path, env=env, check=True)
    assert output.read_text(encoding="utf-8").strip() == f"changed={'true' if changed else 'false'}"
    text = summary.read_text(encoding="utf-8")
    if changed:
        assert "chain-007: aws_bucket_versioning_enabled PASS -> FAIL: Versioning is off." in text
        posted = json.loads((tmp_path / "status-changes.json").read_text(encoding="utf-8"))
        assert "PASS -> FAIL" in posted["text"]
    else:
        assert "no status changed" in text


def test_the_job_fails_on_a_change_or_a_failure(workflow: dict[str, Any]) -> None:
    fail = step(workflow, "Fail on")
    assert "steps.drift.outputs.changed == 'true'" in fail["if"] and "exit_code != '0'" in fail["if"]
    assert "exit 1" in fail["run"]
    notify = step(workflow, "Notify")
    assert "curl" in notify["run"] and "COMPLIANCE_WEBHOOK_URL" in notify["if"]
