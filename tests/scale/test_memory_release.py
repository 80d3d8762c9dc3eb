"""Flat memory: a chain's snapshot is released when its last check ends, serially and in each xdist worker.

A 4-chain, 2-account scale deployment is run as `pytest compliance/` twice, serially and with `-n 2`, with a probe
plugin (PYTEST_PLUGINS, so xdist workers load it too) that holds only a weak reference to each chain's
snapshot. Whenever a process starts the checks of another chain, every snapshot it read before must be gone
(weakref dead after a garbage collection), and none may be left when the session ends. The snapshot must still
have been read once per chain (one GetRole per chain in the evidence): releasing it never means reading it twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .moto_live import COMPLIANCE_DIR, EXTERNAL_ID, clean_env, evidence_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale_fixture

CHAINS = 4
SESSION_FINALIZERS = 4
"""At most this many teardowns on a session fixture when a chain starts (one per check run would be 50 and more)."""
PROBE = '''
import gc, json, os, weakref

import pytest

from compliance.fixtures import chain_id_of

REFS = {}
CURRENT = []


def _write(config, line):
    controller = "controller" if getattr(config.option, "numprocesses", None) else "serial"
    process = getattr(config, "workerinput", {}).get("workerid", controller)
    with open(os.environ["MEMORY_PROBE_FILE"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"process": process, **line}) + "\\n")


def _alive():
    gc.collect()
    return sorted(chain for chain, ref in REFS.items() if ref() is not None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    chain = chain_id_of(item)
    if chain is None or CURRENT[-1:] == [chain]:
        return
    _write(item.config, {"event": "chain starts", "chain": chain, "previous": (CURRENT or [None])[-1],
                         "alive": _alive(), "session_finalizers": _session_finalizers(item.session)})
    CURRENT.append(chain)


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item):
    snapshot = (getattr(item, "funcargs", None) or {}).get("aws_snapshot")
    chain = chain_id_of(item)
    if snapshot is not None and chain not in REFS:
        REFS[chain] = weakref.ref(snapshot)


COLLECTED = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    checks = [i for i in session.items if getattr(i, "callspec", None) is not None]
    COLLECTED.update(items=len(checks), callspecs=len({id(i.callspec) for i in checks}))


def _retained(session):
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(terminal, "stats", {})
    kept = [r for key in ("passed", "skipped") for r in stats.get(key, [])]
    return {"terminal": terminal is not None, "steps": len(stats.get("", [])), "kept": len(kept),
            "distinct_kept": len({id(r) for r in kept}),
            "kept_heavy": sum(bool(getattr(r, "keywords", None)) or hasattr(r, "extras")
                              or bool(getattr(r, "user_properties", None)) for r in kept),
            "pass_records": sum(r.passed and getattr(r, "compliance", None) is not None for r in kept),
            "items_left": sum(type(i).__name__ != "FinishedItem" for i in session.items), **COLLECTED}


def _session_finalizers(session):
    """How many teardowns the session-scoped fixtures hold (pytest adds one per execution of a fixture that names
    them as a parameter, and keeps it to the end of the session)."""
    manager = session._fixturemanager
    return {name: sum(len(d._finalizers) for d in manager.getfixturedefs(name, session) or ())
            for name in ("compliance_run", "aws_target", "azure_emulator", "azure_log_redaction")}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    _write(session.config, {"event": "session ends", "seen": sorted(REFS), "alive": _alive(),
                            "retained": _retained(session)})
'''


@pytest.fixture(scope="module")
def probed_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    work = tmp_path_factory.mktemp("memory-release")
    deployment, toml = scale_fixture.generate(CHAINS, 2)
    (work / "deployment.json").write_text(json.dumps(deployment), encoding="utf-8")
    (work / "chains.toml").write_text(toml, encoding="utf-8")
    (work / "memory_probe.py").write_text(PROBE, encoding="utf-8")
    procs = {}
    for mode, extra in (("serial", []), ("n2", ["-n", "2"])):
        command = [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--deployment", str(work / "deployment.json"),
                   "--chain", str(work / "chains.toml"), "--evidence-dir", str(work / mode), "--fuzz-examples", "1",
                   "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *extra]
        env = clean_env(EXPORT_EXTERNAL_ID=EXTERNAL_ID, COMPLIANCE_EVIDENCE_PDF="off", PYTHONPATH=str(work),
                        PYTEST_PLUGINS="memory_probe", MEMORY_PROBE_FILE=str(work / f"{mode}.jsonl"))
        procs[mode] = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True)
    runs = {}
    for mode, proc in procs.items():
        text, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, mode + text[-3000:]
        lines = (work / f"{mode}.jsonl").read_text(encoding="utf-8").splitlines()
        runs[mode] = {"probe": [json.loads(line) for line in lines], "evidence": evidence_of(work / mode)}
    return runs


def _chain_ids() -> list[str]:
    return [f"chain-{i:03d}" for i in range(CHAINS)]


def test_serial_run_releases_each_chain_before_the_next(probed_runs: dict[str, dict[str, Any]]) -> None:
    probe = probed_runs["serial"]["probe"]
    starts = [line for line in probe if line["event"] == "chain starts"]
    # the checks run chain by chain: each chain starts once, and every earlier chain's snapshot is gone by then
    assert sorted(line["chain"] for line in starts) == _chain_ids()
    assert [line["alive"] for line in starts] == [[]] * CHAINS
    (end,) = [line for line in probe if line["event"] == "session ends"]
    assert end["seen"] == _chain_ids()
    assert end["alive"] == []


def test_each_xdist_worker_releases_its_chains(probed_runs: dict[str, dict[str, Any]]) -> None:
    probe = probed_runs["n2"]["probe"]
    ends = {line["process"]: line for line in probe if line["event"] == "session ends"}
    assert set(ends) == {"controller", "gw0", "gw1"}
    assert ends.pop("controller")["seen"] == []  # the controller reads no snapshot
    seen = [chain for end in ends.values() for chain in end["seen"]]
    assert sorted(seen) == _chain_ids()  # each chain read on exactly one worker
    assert [end["alive"] for end in ends.values()] == [[], []]
    starts = [line for line in probe if line["event"] == "chain starts"]
    assert Counter(line["chain"] for line in starts) == Counter(_chain_ids())
    assert [line["alive"] for line in starts] == [[]] * CHAINS
    assert sum(line["previous"] is not None for line in starts) >= CHAINS - 2  # a worker moved on from a chain


@pytest.mark.parametrize("mode", ["serial", "n2"])
def test_released_snapshots_were_read_once_and_kept_in_the_evidence(
        probed_runs: dict[str, dict[str, Any]], mode: str) -> None:
    evidence = probed_runs[mode]["evidence"]
    assert sorted(evidence["snapshots"]) == _chain_ids()
    for chain, snapshot in evidence["snapshots"].items():
        reads = Counter(call["operation"] for call in snapshot["api_calls"])
        assert reads["GetRole"] == 1, chain
    assert evidence["totals"].get("FAIL", 0) == 0
    assert evidence["totals"].get("ERROR", 0) == 0


def test_serial_run_keeps_no_more_per_check_than_the_summary_reads(probed_runs: dict[str, dict[str, Any]]) -> None:
    (end,) = [line for line in probed_runs["serial"]["probe"] if line["event"] == "session ends"]
    retained = end["retained"]
    assert retained["terminal"] and retained["kept"] > CHAINS
    # no passed set-up/tear-down report kept; the passed and skipped checks are counted by two shared stand-ins
    assert (retained["steps"], retained["kept_heavy"], retained["pass_records"]) == (0, 0, 0)
    assert retained["distinct_kept"] == 2
    # every chain's checks shared one parametrisation; every check left session.items once it had run
    assert retained["items"] > CHAINS and retained["callspecs"] == CHAINS
    assert retained["items_left"] == 0
    # the per-check fixtures leave no teardown with the session fixtures (it would keep each check's request): at
    # each chain's start they hold a few (their own), not one per check run so far
    starts = [line["session_finalizers"] for line in probed_runs["serial"]["probe"] if line["event"] == "chain starts"]
    assert max(count for start in starts for count in start.values()) <= SESSION_FINALIZERS, starts


def test_xdist_processes_keep_no_more_per_check_than_the_summary_reads(
        probed_runs: dict[str, dict[str, Any]]) -> None:
    ends = {line["process"]: line["retained"] for line in probed_runs["n2"]["probe"] if line["event"] == "session ends"}
    controller = ends.pop("controller")
    assert controller["kept"] > CHAINS and controller["items"] == 0
    assert (controller["steps"], controller["kept_heavy"], controller["pass_records"]) == (0, 0, 0)
    assert controller["distinct_kept"] == 2
    for worker in ends.values():  # each worker collects every check, and shares each chain's parametrisation
        assert worker["items"] > CHAINS and worker["callspecs"] == CHAINS
    starts = [line["session_finalizers"] for line in probed_runs["n2"]["probe"] if line["event"] == "chain starts"]
    assert max(count for start in starts for count in start.values()) <= SESSION_FINALIZERS, starts
    # the checks a worker ran left its session.items (the others it never ran stay)
    assert sum(worker["items"] - worker["items_left"] for worker in ends.values()) == controller["kept"]
