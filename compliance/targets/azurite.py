"""Azurite's blob service as a child process: started on a free loopback port, always stopped.

The embedded default needs an Azure Blob endpoint. Azurite 3.35 is installed from the committed
package.json (`npm ci`) under `node_modules/`. One instance per process and protocol is shared through
`acquire()` / `release()` (reference counted), so a test session can hold one instance that nested
pytester runs reuse. Stopping is guaranteed four ways: the fixture finalizer, an `atexit` hook, a
SIGTERM handler (only installed if SIGTERM still has its default action) and, on Linux, the kernel's
parent-death signal, so even a SIGKILLed pytest leaves no orphan node process behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from compliance.errors import EmulatorError

ACCOUNT_NAME = "devstoreaccount1"
# The well-known development account key, published in Azurite's documentation and built into Azurite
# (node_modules/azurite/dist). It is not a secret: it only opens local emulator instances.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
INSTALL_HINT = "install it with `npm ci` in the project directory (package.json pins azurite 3.35.0)"
STARTUP_TIMEOUT_S = 20.0
_PR_SET_PDEATHSIG = 1


def find_azurite_blob(roots: Iterable[Path] | None = None) -> Path:
    """The `azurite-blob` launcher: node_modules/.bin above the package or the working dir, then PATH."""
    if shutil.which("node") is None:
        raise EmulatorError(f"Node.js is not installed (no `node` on PATH); Azurite needs it: install Node.js, "
                            f"then {INSTALL_HINT}")
    if roots is None:
        here = Path(__file__).resolve()
        roots = (*here.parents, Path.cwd(), *Path.cwd().parents)
    for base in roots:
        candidate = base / "node_modules" / ".bin" / "azurite-blob"
        if candidate.exists():
            return candidate
    found = shutil.which("azurite-blob")
    if found:
        return Path(found)
    raise EmulatorError(f"Azurite is not installed (node_modules/.bin/azurite-blob not found); {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class AzuriteProcess:
    """One `azurite-blob` child process. HTTPS (trustme CA) unless `https=False`."""

    def __init__(self, *, https: bool = True) -> None:
        self.https = https
        self.port = 0
        self.ca_path: Path | None = None
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    @property
    def account_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def verify(self) -> str | bool:
        """What clients pass as `connection_verify`: the throwaway CA bundle, or True for plain HTTP."""
        return str(self.ca_path) if self.ca_path is not None else True

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        launcher = find_azurite_blob()
        self._workdir = Path(tempfile.mkdtemp(prefix="azurite-"))
        tls_args = self._make_certificate(self._workdir) if self.https else []
        last = ""
        for _ in range(3):  # a free port can be taken between probing and binding; try again
            self.port = _free_port()
            location = self._workdir / f"data-{self.port}"
            location.mkdir()
            args = [str(launcher), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                    "--location", str(location), "--silent", "--skipApiVersionCheck", "--disableTelemetry",
                    *tls_args]
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent if os.name == "posix" else None)
            _LIVE.add(self)
            last = self._wait_ready()
            if not last:
                return
            self.stop(keep_workdir=True)
        self.stop()
        raise EmulatorError(f"Azurite did not start: {last}")

    def _make_certificate(self, workdir: Path) -> list[str]:
        try:
            import trustme
        except ImportError:
            raise EmulatorError("the embedded Azurite serves HTTPS with a throwaway CA from `trustme`, which is "
                                "not installed: pip install trustme") from None
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        cert_path, key_path = workdir / "cert.pem", workdir / "key.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))
        return ["--cert", str(cert_path), "--key", str(key_path)]

    def _wait_ready(self) -> str:
        """'' when the port accepts connections; otherwise why it did not."""
        assert self._proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = (self._proc.stderr.read() if self._proc.stderr else b"").decode(errors="replace").strip()
                lines = err.splitlines()
                return f"exit code {self._proc.returncode}: {lines[-1] if lines else 'no output'}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return ""
            except OSError:
                time.sleep(0.05)
        return f"port {self.port} was not accepting connections after {STARTUP_TIMEOUT_S:.0f} s"

    def stop(self, *, keep_workdir: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            if proc.stderr is not None:
                proc.stderr.close()
        _LIVE.discard(self)
        if not keep_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


# ---- process-wide bookkeeping: shared instances and last-resort cleanup ----

_LIVE: set[AzuriteProcess] = set()
_SHARED: dict[bool, tuple[AzuriteProcess, int]] = {}
_LOCK = threading.Lock()
_previous_sigterm: Callable[[int, FrameType | None], Any] | int | None = None


def acquire(*, https: bool = True) -> AzuriteProcess:
    """The process's shared instance for this protocol, started on first use. Pair with `release()`."""
    with _LOCK:
        entry = _SHARED.get(https)
        if entry is not None and entry[0].running:
            _SHARED[https] = (entry[0], entry[1] + 1)
            return entry[0]
        process = AzuriteProcess(https=https)
        process.start()
        _SHARED[https] = (process, 1)
        _install_signal_handler()
        return process


def release(process: AzuriteProcess) -> None:
    with _LOCK:
        entry = _SHARED.get(process.https)
        if entry is None or entry[0] is not process:
            process.stop()
            return
        if entry[1] <= 1:
            del _SHARED[process.https]
            process.stop()
        else:
            _SHARED[process.https] = (process, entry[1] - 1)


def stop_all() -> None:
    for process in list(_LIVE):
        with contextlib.suppress(Exception):
            process.stop()
    _SHARED.clear()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    stop_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_signal_handler() -> None:
    global _previous_sigterm
    if threading.current_thread() is not threading.main_thread() or _previous_sigterm is not None:
        return
    current = signal.getsignal(signal.SIGTERM)
    if current in (signal.SIG_DFL, None):
        _previous_sigterm = current
        signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(stop_all)
