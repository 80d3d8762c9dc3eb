"""Helpers for the evidence tests: real `pytest compliance/` runs through pytester, and report parsing.

Runs select the AWS checks (`-k aws`) so no Azurite is started; each run costs a few seconds.
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import compliance
from compliance.targets.deployment import reference_deployment_path

COMPLIANCE_DIR = Path(compliance.__file__).resolve().parent
EXTERNAL_ID = "ext-id-evidence-7c1e9a4d"
ROLE_ARN_CHECK = "aws_configured_role_arn_matches_role"
FUZZ_EXAMPLES = 10  # the fuzzing checks' Hypothesis budget in these runs: enough to exercise, cheap to run
_BLOB = re.compile(r'data-jsonblob="([^"]*)"')


def reference_deployment() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reference_deployment_path().read_text(encoding="utf-8"))
    return data


def export_role(deployment: dict[str, Any]) -> dict[str, Any]:
    """The customer's export role in a deployment dict (the one the reference chain names)."""
    for account in deployment["aws"]["accounts"].values():
        for role in account.get("roles", []):
            if role["name"] == "QualioExportRole":
                found: dict[str, Any] = role
                return found
    raise AssertionError("the reference deployment has no QualioExportRole")


def failing_deployment() -> dict[str, Any]:
    """The reference deployment with the role moved to another path and no ExternalId condition."""
    deployment = copy.deepcopy(reference_deployment())
    role = export_role(deployment)
    role["path"] = "/exports/"
    role["trust_policy"]["Statement"][0].pop("Condition")
    return deployment


@dataclass
class Run:
    result: pytest.RunResult
    run_dir: Path

    @property
    def html(self) -> str:
        return (self.run_dir / "evidence.html").read_text(encoding="utf-8")

    @property
    def evidence(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "evidence.json").read_text(encoding="utf-8"))
        return data

    @property
    def blob(self) -> dict[str, Any]:
        """pytest-html's data-jsonblob (what its JavaScript renders the results table from)."""
        match = _BLOB.search(self.html)
        assert match is not None, "no data-jsonblob in the report"
        data: dict[str, Any] = json.loads(html.unescape(match.group(1)))
        return data

    def rows(self) -> dict[str, dict[str, Any]]:
        """The blob's test rows by check id (first parametrisation)."""
        out: dict[str, dict[str, Any]] = {}
        for nodeid, entries in self.blob["tests"].items():
            check_id = nodeid.split("::")[-1].split("[")[0].removeprefix("test_")
            out.setdefault(check_id, entries[-1])
        return out


RunSuite = Callable[..., Run]

# Modules whose runs never read evidence.pdf: their tests read the HTML, evidence.json and junit.xml, which are
# written before the PDF and the same without it. The PDF is about three quarters of a run's time; test_pdf,
# test_whatif, test_manifest, test_signatures and test_redaction read it (signed_failing_run and suite_subprocess
# keep it on).
PDF_UNREAD = frozenset({"test_browser", "test_drift", "test_report", "test_statuses"})


@pytest.fixture
def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> RunSuite:
    """Run `pytest compliance/ -k aws` in-process; `deployment=` writes a deployment dict first."""
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    # the whole record (tests/conftest.py turns it off elsewhere), except where the test never reads the PDF
    pdf_read = request.module.__name__.rpartition(".")[2] not in PDF_UNREAD
    monkeypatch.setenv("COMPLIANCE_EVIDENCE_PDF", "on" if pdf_read else "off")
    counter = iter(range(1000))

    def run(*args: str, deployment: dict[str, Any] | None = None, select: str = "aws") -> Run:
        n = next(counter)
        evidence = pytester.path / f"evidence-{n}"
        extra = list(args)
        if deployment is not None:
            path = pytester.path / f"deployment-{n}.json"
            path.write_text(json.dumps(deployment), encoding="utf-8")
            extra += ["--deployment", str(path)]
        result = pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", select,
                                    "--fuzz-examples", str(FUZZ_EXAMPLES), *extra)
        latest = evidence / "LATEST"
        assert latest.is_file(), result.stdout.str() + result.stderr.str()
        return Run(result, evidence / latest.read_text(encoding="utf-8").strip())

    return run


@dataclass(frozen=True)
class SuiteRun:
    """One `pytest compliance/` run in a subprocess, shared by the tests of a module (a PDF takes seconds)."""

    returncode: int
    stdout: str
    stderr: str
    run_dir: Path

    @property
    def evidence(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "evidence.json").read_text(encoding="utf-8"))
        return data


def suite_subprocess(workdir: Path, *args: str, deployment: dict[str, Any] | None = None,
                     select: str = "aws", env: dict[str, str] | None = None) -> SuiteRun:
    """Run `python -m pytest compliance/ -k <select>` in a subprocess, writing evidence under workdir."""
    import subprocess
    import sys

    workdir.mkdir(parents=True, exist_ok=True)
    evidence = workdir / "evidence"
    extra = list(args)
    if deployment is not None:
        path = workdir / "deployment.json"
        path.write_text(json.dumps(deployment), encoding="utf-8")
        extra += ["--deployment", str(path)]
    environ = {**os.environ, "EXPORT_EXTERNAL_ID": EXTERNAL_ID, "COMPLIANCE_EVIDENCE_PDF": "on", **(env or {})}
    environ.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "-p", "no:cacheprovider",
                           "--evidence-dir", str(evidence), "-k", select, "--fuzz-examples", str(FUZZ_EXAMPLES),
                           *extra], cwd=workdir, env=environ, capture_output=True, text=True, check=False)
    latest = evidence / "LATEST"
    run_dir = evidence / latest.read_text(encoding="utf-8").strip() if latest.is_file() else evidence / "none"
    return SuiteRun(done.returncode, done.stdout, done.stderr, run_dir)


@dataclass(frozen=True)
class Keys:
    private: Path
    public: Path


def make_keys(folder: Path, name: str) -> Keys:
    from compliance.evidence.signing import generate_keypair

    folder.mkdir(parents=True, exist_ok=True)
    keys = Keys(folder / f"{name}.pem", folder / f"{name}.pub.pem")
    generate_keypair(keys.private, keys.public)
    return keys


@pytest.fixture(scope="session")
def qa_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"), "qa-lead")


@pytest.fixture(scope="session")
def signed_failing_run(tmp_path_factory: pytest.TempPathFactory, qa_keys: Keys) -> SuiteRun:
    """A failing run (role path changed, no ExternalId condition), signed at execution by the QA lead."""
    run = suite_subprocess(tmp_path_factory.mktemp("signed-failing"), "--sign-key", str(qa_keys.private),
                           "--signer", "Dana Smith, QA Lead", "--operator", "Dana Smith",
                           deployment=failing_deployment())
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    return run
