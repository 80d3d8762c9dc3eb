"""A `-n 2` run writes the same evidence as a serial run of the same multi-chain deployment.

Both runs use the moto target on a 4-chain, 2-account scale deployment. What may differ, and is removed before
comparing: timing (recorded_at, started/finished, durations), ids the emulator invents on every provisioning
(KMS key ids, organization/root/OU/policy ids, object version ids), canary object names and times, object
times, and the time in an evaluated request's context. Under xdist each worker provisions its own moto, so those
ids differ between workers too. Everything
else — findings, their order, messages, evidence, snapshots, the api_calls of each chain, the header (fuzz
seeds included) — must be equal.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .moto_live import COMPLIANCE_DIR, EXTERNAL_ID, clean_env, evidence_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale_fixture

TIMING_KEYS = {"recorded_at", "started", "finished", "duration", "durations", "run_id", "run_dir", "path",
               "evidence_dir", "generated_at",
               "aws:CurrentTime", "aws:EpochTime"}  # the evaluation time in a request's context (evidence)
NOISE = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\bo-[a-z0-9]{10,32}\b"), "<org>"),
    (re.compile(r"\bou-[a-z0-9]{4,32}-[a-z0-9]{8,32}\b"), "<ou>"),
    (re.compile(r"\br-[a-z0-9]{4,32}\b"), "<root>"),
    (re.compile(r"\bp-[a-z0-9]{8,128}\b"), "<policy>"),
    (re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}"), "<canary>"),  # canary object names
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00"), "<time>"),
)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, str):
        for pattern, placeholder in NOISE:
            value = pattern.sub(placeholder, value)
    return value


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    stripped: dict[str, Any] = _strip({k: document[k] for k in ("findings", "snapshots", "header", "totals",
                                                                "coverage", "checks_not_run", "exit_status",
                                                                "chain_config")})
    return stripped


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    work = tmp_path_factory.mktemp("parallel")
    deployment, toml = scale_fixture.generate(4, 2)
    (work / "deployment.json").write_text(json.dumps(deployment), encoding="utf-8")
    (work / "chains.toml").write_text(toml, encoding="utf-8")
    env = clean_env(EXPORT_EXTERNAL_ID=EXTERNAL_ID)
    procs = {}
    for name, extra in (("serial", []), ("parallel", ["-n", "2", "-vv"])):
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--deployment", str(work / "deployment.json"),
             "--chain", str(work / "chains.toml"), "--evidence-dir", str(work / name), "--fuzz-examples", "20",
             "-q", "-p", "no:cacheprovider", *extra],
            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = {}
    for name, proc in procs.items():
        text, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, text[-3000:]
        out[name] = evidence_of(work / name)
        out[name]["_output"] = text
    return out


def test_parallel_and_serial_evidence_are_equal(runs: dict[str, dict[str, Any]]) -> None:
    serial, parallel = comparable(runs["serial"]), comparable(runs["parallel"])
    for key in serial:
        assert serial[key] == parallel[key], key
    assert serial["findings"] and serial["header"]["fuzzing"]["seeds"]
    assert {f["chain"] for f in serial["findings"]} == {"chain-000", "chain-001", "chain-002", "chain-003"}


def test_parallel_run_read_each_chain_once(runs: dict[str, dict[str, Any]]) -> None:
    """Each chain's checks ran on one worker, so its snapshot was read once (one CallLog, one of each read)."""
    workers: dict[str, set[str]] = {}
    for worker, chain in re.findall(r"\[(gw\d+)\] .*\[(chain-\d{3})\]", runs["parallel"]["_output"]):
        workers.setdefault(chain, set()).add(worker)
    assert set(workers) == set(runs["parallel"]["snapshots"])
    assert all(len(w) == 1 for w in workers.values()), workers
    assert len(set().union(*workers.values())) == 2  # and both workers had work
    for chain, snapshot in runs["parallel"]["snapshots"].items():
        calls = Counter(c["operation"] for c in snapshot["api_calls"])
        assert calls["GetCallerIdentity"] == calls["GetRole"] == calls["GetBucketEncryption"] == 1, (chain, calls)
    assert "@chain-" not in json.dumps(runs["parallel"]["findings"])  # group suffixes never reach the evidence
