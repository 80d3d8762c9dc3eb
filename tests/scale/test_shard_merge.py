"""Shard and merge: the matrix workflow's own commands, run locally against moto, give the serial run's evidence.

A 4-chain, 2-account scale deployment is run serially and as 2 shards (`--shard K/2`, signed, the PDF on, as
the workflow's shard jobs run); `python -m compliance merge` then verifies and merges the shards. The merged
evidence.json must equal the serial one apart from timing and the shard fields (see test_parallel_evidence for
what is timing); the merged record must verify, keep each part's signed record, and refuse tampering.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.evidence.merge import MergeError, Part, check_parts, merged_document
from compliance.evidence.record import Record
from compliance.evidence.signing import generate_keypair
from compliance.evidence.verdict import Verdict, verdict_of

from .moto_live import COMPLIANCE_DIR, EXTERNAL_ID, clean_env, evidence_of
from .test_parallel_evidence import comparable

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale_fixture

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly-compliance-matrix.yml"
SHARD_FIELDS = {"merged_from", "merge", "run_id", "signed", "signature"}


def _command(script: str, start: str, env: dict[str, str]) -> list[str]:
    (line,) = [chunk.strip() for chunk in script.splitlines() if chunk.strip().startswith(start)]
    line = re.sub(r"\$\{\{[^}]*\}\}", "", line)
    return [os.path.expandvars(part) if "$" in part else part for part in shlex.split(line)]


def _workflow_steps() -> tuple[dict[str, Any], str, str]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    (shard_step,) = [s for s in jobs["shard"]["steps"] if "pytest " in str(s.get("run", ""))]
    (merge_step,) = [s for s in jobs["merge"]["steps"] if "compliance merge" in str(s.get("run", ""))]
    return workflow, shard_step["run"], merge_step["run"]


def _with_env(command: list[str], env: dict[str, str]) -> list[str]:
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return [os.path.expandvars(part) for part in command]
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("shard-merge")
    deployment, toml = scale_fixture.generate(4, 2)
    (work / "deployment.json").write_text(json.dumps(deployment), encoding="utf-8")
    (work / "chains.toml").write_text(toml, encoding="utf-8")
    generate_keypair(work / "shard-key.pem", work / "shard.pub.pem")  # the workflow's $RUNNER_TEMP path
    generate_keypair(work / "merge.pem", work / "merge.pub.pem")
    workflow, shard_script, merge_script = _workflow_steps()
    moto = ["--deployment", str(work / "deployment.json"), "--fuzz-examples", "20", "-q", "-p", "no:cacheprovider"]
    procs: dict[str, subprocess.Popen[str]] = {}
    serial = [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--chain", str(work / "chains.toml"),
              "--evidence-dir", str(work / "serial"), *moto]
    procs["serial"] = subprocess.Popen(serial, cwd=work, env=clean_env(EXPORT_EXTERNAL_ID=EXTERNAL_ID,
                                       COMPLIANCE_EVIDENCE_PDF="off"), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
    for shard in (1, 2):
        values = {"SHARD": str(shard), "SHARDS": "2", "CHAIN_FILE": str(work / "chains.toml"),
                  "RUNNER_TEMP": str(work)}
        command = _with_env(_command(shard_script, "pytest ", values), values)
        assert command[1] == "compliance/" and "--shard" in command
        command = [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), *command[2:], *moto]
        command[command.index("--target") + 1] = "moto"
        command[command.index("--evidence-dir") + 1] = str(work / f"shard-{shard}")
        procs[f"shard-{shard}"] = subprocess.Popen(
            command, cwd=work, env=clean_env(EXPORT_EXTERNAL_ID=EXTERNAL_ID, COMPLIANCE_EVIDENCE_PDF="on"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, proc in procs.items():
        text, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, name + text[-3000:]
    shards = work / "shards"
    for shard in (1, 2):
        (run,) = [p for p in (work / f"shard-{shard}").iterdir() if p.is_dir() and not p.is_symlink()]
        shutil.copytree(run, shards / f"shard-{shard}")  # as actions/download-artifact lays them out
    values = {"SHARD_PUBLIC_KEY": str(work / "shard.pub.pem"), "RUNNER_TEMP": str(work)}
    merge = _with_env(_command(merge_script, "python -m compliance merge", values), values)
    merge = [sys.executable, *merge[1:4], str(work / "merged"),
             *sorted(str(p) for p in shards.iterdir()), *merge[6:]]
    merge[merge.index("--sign-key") + 1] = str(work / "merge.pem")
    done = subprocess.run(merge, cwd=work, env=clean_env(), capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"work": work, "serial": evidence_of(work / "serial"), "merge_output": done.stdout,
            "merged": json.loads((work / "merged" / "evidence.json").read_text(encoding="utf-8")),
            "workflow": workflow}


def _without_shard_fields(document: dict[str, Any]) -> dict[str, Any]:
    header = {k: v for k, v in document["header"].items() if k not in SHARD_FIELDS}
    return comparable({**document, "header": header})


def test_two_shards_merged_equal_the_serial_run(runs: dict[str, Any]) -> None:
    serial, merged = _without_shard_fields(runs["serial"]), _without_shard_fields(runs["merged"])
    for key in serial:
        assert serial[key] == merged[key], key
    assert {f["chain"] for f in merged["findings"]} == {"chain-000", "chain-001", "chain-002", "chain-003"}
    assert merged["header"]["fuzzing"]["seeds"] and "MET" in runs["merge_output"]


def test_the_merged_record_verifies_and_keeps_each_signed_part(runs: dict[str, Any]) -> None:
    work: Path = runs["work"]
    verify = [sys.executable, "-m", "compliance", "verify"]
    done = subprocess.run([*verify, str(work / "merged"), "--public-key", str(work / "merge.pub.pem")],
                          capture_output=True, text=True, timeout=300, check=False, env=clean_env())
    assert done.returncode == 0 and "OK: the evidence is unaltered and all 1 signature(s) are valid" in done.stdout
    for part in ("1-of-2", "2-of-2"):
        done = subprocess.run([*verify, str(work / "merged" / "parts" / part), "--public-key",
                               str(work / "shard.pub.pem")], capture_output=True, text=True, timeout=300,
                              check=False, env=clean_env())
        assert done.returncode == 0, done.stdout
    merged_from = runs["merged"]["header"]["merged_from"]
    assert [m["shard"] for m in merged_from] == ["1/2", "2/2"]
    assert all(m["signatures"] and m["signatures"][0]["meaning"] == "executed" for m in merged_from)
    assert all(name in {p.name for p in (work / "merged").iterdir()} for name in (
        "evidence.json", "evidence.html", "junit.xml", "evidence.pdf", "MANIFEST.sha256"))
    junit = (work / "merged" / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<testcase") == len(runs["merged"]["findings"])


def _merge(work: Path, out: str, *parts: Path, keys: tuple[Path, ...] = ()) -> subprocess.CompletedProcess[str]:
    flags = [arg for key in keys for arg in ("--public-key", str(key))]
    return subprocess.run([sys.executable, "-m", "compliance", "merge", str(work / out), *map(str, parts), *flags],
                          capture_output=True, text=True, timeout=600, check=False, env=clean_env())


def test_merge_refuses_a_tampered_shard_an_unverified_signature_and_a_missing_or_duplicated_shard(
        runs: dict[str, Any], tmp_path: Path) -> None:
    work: Path = runs["work"]
    one, two = work / "shards" / "shard-1", work / "shards" / "shard-2"
    key = work / "shard.pub.pem"
    tampered = tmp_path / "tampered"
    shutil.copytree(two, tampered)
    text = (tampered / "evidence.json").read_text(encoding="utf-8")
    (tampered / "evidence.json").write_text(text.replace('"FAIL"', '"PASS"', 1).replace('"status": "PASS"',
                                            '"status": "PASS" ', 1), encoding="utf-8")
    cases = {
        "o1": ("does not match its MANIFEST.sha256", _merge(work, "o1", one, tampered, keys=(key,))),
        "o2": ("NOT CHECKED", _merge(work, "o2", one, two)),  # signed shards, no public key
        "o3": ("missing", _merge(work, "o3", one, keys=(key,))),
        "o4": ("duplicates shard 1/2", _merge(work, "o4", one, one, keys=(key,))),
    }
    for out, (expected, done) in cases.items():
        assert done.returncode == 1, (expected, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr, (expected, lines)
        assert not (work / out).exists()  # nothing is written before every part is checked


def test_merge_refuses_a_part_without_the_pdf(runs: dict[str, Any], tmp_path: Path) -> None:
    work: Path = runs["work"]
    (serial,) = [p for p in (work / "serial").iterdir() if p.is_dir() and not p.is_symlink()]
    done = _merge(work, "o5", serial, work / "shards" / "shard-2")
    assert done.returncode == 1 and "has no evidence.pdf" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def _part(index: int, total: int = 2, **changes: Any) -> Part:
    header = {"what_if": False, "suite_code_sha256": "c" * 64, "run_id": f"run{index}"}
    document: dict[str, Any] = {"schema": "s", "suite_version": "1.0", "target": "moto",
                                "chain_config": {"sha256": "a" * 64}, "findings": [], "header": header}
    document.update(changes.pop("document", {}))
    header.update(changes.pop("header", {}))
    shard = {"index": index, "total": total, "chains": [f"c{index}"], "all_chains": ["c1", "c2"]}
    records = tuple(Record.from_json(f) for f in document["findings"])
    return Part(Path(f"/runs/shard-{index}"), document, shard, "0" * 64, (), records)


@pytest.mark.parametrize(("parts", "expected"), [
    ((_part(1), _part(2, header={"what_if": True})), "what-if"),
    ((_part(1), _part(2, document={"chain_config": {"sha256": "b" * 64}})), "chain config sha256"),
    ((_part(1), _part(2, document={"suite_version": "1.1"})), "suite version"),
    ((_part(1), _part(2, header={"suite_code_sha256": "d" * 64})), "suite code sha256"),
    ((_part(1), _part(2, total=3)), "shard count"),
    ((_part(1), _part(1)), "duplicates shard 1/2"),
    ((_part(2),), "shard(s) 1/2 missing"),
])
def test_parts_that_do_not_belong_together_are_refused_in_one_line(parts: tuple[Part, ...], expected: str) -> None:
    with pytest.raises(MergeError) as exc:
        check_parts(parts)
    assert expected in str(exc.value) and "\n" not in str(exc.value) and "Fix:" in str(exc.value)


def test_parts_that_belong_together_pass_in_shard_order() -> None:
    assert [p.index for p in check_parts([_part(2), _part(1)])] == [1, 2]


def _finding(chain: str, status: str) -> dict[str, Any]:
    return {"check": {"id": "aws_role_trust", "severity": "high", "provider": "aws"}, "chain": chain,
            "nodeid": f"t.py::test_role_trust[{chain}]", "finding": {"status": status, "message": status}}


def test_the_merged_verdict_is_the_worst_of_its_parts() -> None:
    passing = _part(1, document={"findings": [_finding("c1", "PASS")], "totals": {"PASS": 1}})
    failing = _part(2, document={"findings": [_finding("c2", "FAIL")], "totals": {"FAIL": 1}, "exit_status": 1})
    merged = merged_document(check_parts([passing, failing]), None)
    assert verdict_of(passing.document).verdict is Verdict.MET
    assert verdict_of(merged).verdict is Verdict.NOT_MET and merged["exit_status"] == 1
    assert merged["totals"] == {"FAIL": 1, "PASS": 1}
    assert [m["verdict"] for m in merged["header"]["merged_from"]] == ["MET", "NOT MET"]
    unverified = _part(2, document={"findings": [_finding("c2", "ERROR")], "totals": {"ERROR": 1}})
    assert verdict_of(merged_document(check_parts([passing, unverified]), None)).verdict is Verdict.NOT_MET


def test_a_change_to_a_kept_part_fails_the_merged_record(runs: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / "merged"
    shutil.copytree(runs["work"] / "merged", copy)
    target = copy / "parts" / "2-of-2" / "evidence.json"
    target.write_text(target.read_text(encoding="utf-8").replace('"PASS"', '"FAIL"', 1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "compliance", "verify", str(copy), "--public-key",
                           str(runs["work"] / "merge.pub.pem")], capture_output=True, text=True, timeout=300,
                          check=False, env=clean_env())
    assert done.returncode == 1 and "ALTERED: parts/2-of-2/evidence.json" in done.stdout
