"""Azurite starts and stops on its own, leaves no orphan, and says how to install it when missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from compliance.errors import EmulatorError
from compliance.targets import azurite

from .azure_helpers import run_azure


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_missing_azurite_names_npm_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if not (Path(p) / "azurite-blob").exists()))
    with pytest.raises(EmulatorError, match=r"Azurite is not installed .*`npm ci`"):
        azurite.find_azurite_blob([tmp_path])


def test_missing_node_names_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("compliance.targets.azurite.shutil.which", lambda name: None)
    with pytest.raises(EmulatorError, match=r"Node.js is not installed.*npm ci"):
        azurite.find_azurite_blob()


def test_emulator_error_reaches_every_azure_check(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*, https: bool = True) -> azurite.AzuriteProcess:
        raise EmulatorError(f"Azurite is not installed (azurite-blob not found); {azurite.INSTALL_HINT}")

    monkeypatch.setattr(azurite, "acquire", missing)
    monkeypatch.delenv("AZURE_BACKUP_SAS", raising=False)
    run = run_azure(pytester, monkeypatch)
    assert run.findings and all(f["status"] == "ERROR" for f in run.findings.values())
    assert all("npm ci" in f["message"] for f in run.findings.values())
    assert "Traceback" not in run.result.stdout.str()


def test_start_and_stop_leave_nothing_behind() -> None:
    process = azurite.AzuriteProcess(https=True)
    process.start()
    assert process.running and process.ca_path is not None and process.ca_path.exists()
    proc = process._proc
    assert proc is not None
    pid, workdir = proc.pid, process.ca_path.parent
    process.stop()
    assert _wait_gone(pid) and not workdir.exists()


_CHILD = textwrap.dedent("""
    import sys, time
    from compliance.targets import azurite
    process = azurite.acquire(https=False)
    print(process._proc.pid, flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_orphan_when_the_parent_dies(sig: signal.Signals) -> None:
    """SIGTERM: the handler stops Azurite; SIGKILL: the kernel's parent-death signal does."""
    parent = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert _alive(child_pid)
        parent.send_signal(sig)
        parent.wait(timeout=15)
        assert _wait_gone(child_pid), f"Azurite {child_pid} outlived its parent after {sig.name}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
