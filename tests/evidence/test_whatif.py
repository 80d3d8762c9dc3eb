"""A what-if run (--proposed) is marked as such everywhere, and cannot silently become a baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from compliance.evidence.header import WHAT_IF_BANNER

from .conftest import SuiteRun, export_role, reference_deployment, suite_subprocess


@pytest.fixture(scope="module")
def what_if(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    folder = tmp_path_factory.mktemp("what-if")
    proposal = folder / "new-trust.json"
    trust = export_role(reference_deployment())["trust_policy"]  # {{env:EXPORT_EXTERNAL_ID}} stays a placeholder
    proposal.write_text(json.dumps({"replaces": "trust", "document": trust}), encoding="utf-8")
    run = suite_subprocess(folder, "--proposed", str(proposal))
    assert run.run_dir.is_dir(), run.stdout[-3000:] + run.stderr[-3000:]
    return run


def test_what_if_is_in_the_header_and_the_directory_name(what_if: SuiteRun) -> None:
    header = what_if.evidence["header"]
    assert header["what_if"] is True and header["what_if_banner"] == WHAT_IF_BANNER
    assert [p["replaces"] for p in header["proposals"]] == ["trust"]
    assert header["proposals"][0]["source"].endswith("new-trust.json")
    assert what_if.run_dir.name.endswith("-whatif") and header["run_id"] == what_if.run_dir.name


def test_what_if_banner_in_html_pdf_and_terminal(what_if: SuiteRun) -> None:
    page = (what_if.run_dir / "evidence.html").read_text(encoding="utf-8")
    assert page.index(WHAT_IF_BANNER) < page.index('class="ecc-verdict ')  # at the top, before the verdict
    assert "<title" in page and "WHAT-IF: Export chain compliance evidence" in page
    pdf = PdfReader(what_if.run_dir / "evidence.pdf")
    first = pdf.pages[0].extract_text() or ""
    assert WHAT_IF_BANNER in " ".join(first.split())
    for page_obj in pdf.pages:
        assert "WHAT-IF: proposed changes, not the deployed system" in (page_obj.extract_text() or "")
    assert WHAT_IF_BANNER in what_if.stdout
    assert "Verdict: WHAT-IF " in what_if.stdout


def test_deployed_run_is_not_marked(signed_failing_run: SuiteRun) -> None:
    header = signed_failing_run.evidence["header"]
    assert header["what_if"] is False and header["proposals"] == [] and header["what_if_banner"] is None
    assert not signed_failing_run.run_dir.name.endswith("-whatif")
    assert "WHAT-IF" not in signed_failing_run.stdout


def test_what_if_run_as_baseline_is_refused(what_if: SuiteRun, tmp_path: Path) -> None:
    refused = suite_subprocess(tmp_path / "refused", "--baseline", str(what_if.run_dir / "evidence.json"))
    assert refused.returncode == 4
    errors = [line for line in (refused.stdout + refused.stderr).splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "a what-if run" in errors[0] and "--force-baseline" in errors[0], errors
    assert not (tmp_path / "refused" / "evidence").exists()


def test_what_if_baseline_forced(what_if: SuiteRun, tmp_path: Path) -> None:
    forced = suite_subprocess(tmp_path / "forced", "--baseline", str(what_if.run_dir / "evidence.json"),
                              "--force-baseline")
    assert forced.run_dir.is_dir(), forced.stdout[-2000:]
    drift = forced.evidence["drift"]
    assert drift["baseline_what_if"] is True
    changed = len(drift["status_changes"])
    assert "check status(es) changed" in forced.stdout and f": {changed} check status(es) changed" in forced.stdout
