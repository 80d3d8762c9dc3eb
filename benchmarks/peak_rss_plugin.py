"""Pytest plugin for benchmarks/bench_scale.py: each pytest process records its own peak RSS.

Loaded through PYTEST_PLUGINS (so xdist workers load it too). At the very end of the process's pytest run (after
every other `pytest_unconfigure`, so after the evidence is written) it appends one JSON line to the file named by
$BENCH_PEAK_RSS_FILE: the process's role ("controller" or the xdist worker id), its peak resident set size (its own
VmHWM, see `_peak_kb`), and the peak it had reached when the session finished (the checks had run; the evidence
is written after). A child the process starts (the archival PDF is rendered in one) is not counted, nor is the
memory of the parent that started the process (see `_peak_kb`).
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Generator

import pytest

FILE_ENV = "BENCH_PEAK_RSS_FILE"
_AT_SESSION_FINISH: list[int] = []


def _peak_kb() -> int:
    """The process's own peak RSS in KB: VmHWM, the high-water mark of its current memory image. Not
    getrusage's ru_maxrss: Linux carries into it the image the process had before exec, a copy of the parent
    that forked it, so a pytest started by a large parent (this benchmark after hosting a moto server) would
    report the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:  # not Linux: ru_maxrss (KB on Linux, bytes on macOS: this fallback is for Linux-likes)
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    _AT_SESSION_FINISH.append(_peak_kb())


@pytest.hookimpl(wrapper=True)
def pytest_unconfigure(config: pytest.Config) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        path = os.environ.get(FILE_ENV)
        if path:
            worker = getattr(config, "workerinput", {}).get("workerid")
            line = {"role": worker or "controller", "pid": os.getpid(), "peak_rss_kb": _peak_kb(),
                    "checks_peak_rss_kb": _AT_SESSION_FINISH[0] if _AT_SESSION_FINISH else None}
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
