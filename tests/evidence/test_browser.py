"""The report works in a real browser, offline: headless Chromium renders it, and it loads nothing remote.

Skipped (with the reason) when Chromium is not installed, except in CI (`CI=true`), where it fails.
The screenshot is kept as test-artifacts/evidence-report.png (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compliance.controls import REQUIREMENTS

from .conftest import ROLE_ARN_CHECK, RunSuite, failing_deployment

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CREDIT_LINK = "https://pypi.python.org/pypi/pytest-html"  # pytest-html's own credit line: a link, not a load
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    if found is None:
        reason = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run the browser test")
        pytest.skip(reason)
    return found


class _References(HTMLParser):
    """Every URL-bearing attribute in the document: (tag, attribute, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action") and value:
                self.found.append((tag, name, value))


def _browser(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def _assert_offline(document: str) -> None:
    parser = _References()
    parser.feed(document)
    remote = [(t, a, v) for t, a, v in parser.found if re.match(r"(?i)\s*(https?:)?//", v)]
    assert [r for r in remote if not (r[0] == "a" and r[2] == CREDIT_LINK)] == [], remote
    assert not re.search(r"(?i)url\(\s*['\"]?(https?:)?//", document), "a stylesheet loads a remote resource"
    assert "@import" not in document


def test_report_renders_offline_in_chromium(run_suite: RunSuite, tmp_path: Path) -> None:
    chromium = _chromium()
    run = run_suite(deployment=failing_deployment())
    report = run.run_dir / "evidence.html"
    _assert_offline(report.read_text(encoding="utf-8"))

    dumped = _browser(chromium, tmp_path / "profile-dom", "--dump-dom", report.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    _assert_offline(dom)
    assert "NOT MET: at least one check failed" in dom
    assert "The export chain checked" in dom and "company-audit-reports" in dom and "111122223333" in dom
    assert dom.count('class="ecc-req"') == len(REQUIREMENTS), "the coverage matrix lists every requirement"
    assert "NOT COVERED BY THIS SUITE" in dom
    # The results table exists only once pytest-html's JavaScript ran: the failing check, relabelled, with evidence.
    rows = dom.split('<tbody class="results-table-row')[1:]
    failing = [r for r in rows if r.startswith(' failed"') and ROLE_ARN_CHECK in r.split(">", 1)[0]]
    assert failing, "the failing check's row was not rendered"
    row = failing[0]
    assert re.search(r'class="col-status"><span class="ecc-st ecc-st-fail">FAIL</span>', row)
    assert "Role ARN comparison" in row and "arn:aws:iam::111122223333:role/exports/QualioExportRole" in row
    assert "Remediation" in row and "API calls that read this check" in row

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "evidence-report.png"
    shot.unlink(missing_ok=True)
    taken = _browser(chromium, tmp_path / "profile-shot", "--window-size=1400,3200", f"--screenshot={shot}",
                     report.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
