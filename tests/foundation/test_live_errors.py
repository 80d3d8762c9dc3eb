"""Live-mode environment problems: one line for the reader, never a wall of tracebacks."""

from __future__ import annotations

import pytest

from compliance.targets.aws_live import LiveAwsTarget

from .conftest import COMPLIANCE_DIR
from .test_usage_errors import assert_usage_error

BREAKER = """
import compliance.targets.aws_live as live

def pytest_configure(config):
    def explode(self, chain):
        raise RuntimeError("simulated failure while building the snapshot")
    live.LiveAwsTarget.snapshot = explode
"""


@pytest.fixture
def live_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", "ext-id-live-errors-1")
    monkeypatch.setenv("AZURE_BACKUP_SAS", "sv=2025-11-05&sr=c&sp=cw&se=2027-01-01T00:00:00Z&spr=https&sig=QUJD")


def test_unknown_aws_profile_is_a_usage_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                              live_env: None) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-7e1")
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--target", "live", "--evidence-dir", str(evidence))
    assert_usage_error(result, evidence, "AWS_PROFILE", "no-such-profile-7e1", "aws configure list-profiles")


def test_a_fixture_crash_is_one_error_line_per_check(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                     live_env: None) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")  # the pre-flight needs credentials to resolve
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    pytester.makepyfile(breaker=BREAKER)
    pytester.syspathinsert()
    # the in-process run patches the class; monkeypatch puts the original back afterwards
    monkeypatch.setattr(LiveAwsTarget, "snapshot", LiveAwsTarget.snapshot)
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--target", "live", "-p", "breaker", "-k", "aws_bucket",
                                "--evidence-dir", str(pytester.path / "evidence"))
    text = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "Traceback" not in text and "def aws_snapshot" not in text
    lines = [line for line in result.outlines
             if line.startswith("ERROR (could not verify): The check could not start: RuntimeError")]
    assert len(lines) == 9, text
    assert all("simulated failure while building the snapshot" in line for line in lines)
