"""Scale benchmark: `pytest compliance/` over 20, 50 and 200 chains (20 accounts), serial and with `-n 2`.

    .venv/bin/python benchmarks/bench_scale.py                       # the full matrix (about half an hour here)
    .venv/bin/python benchmarks/bench_scale.py --sizes 20,50 --modes serial --fuzz-examples 50

Each run is a fresh `pytest compliance/ --deployment D --chain C` on a moto deployment from scale_fixture.py
(realistic SCPs, bucket policies, boundaries; no [azure] section, so no Azurite). The live modes (`--modes
live,live-n2`) run `pytest compliance/ --target live --chain C` instead, as the CI identity against a moto server
that this script hosts with the same deployment, the per-account audit roles and the Organizations read roles
(IAM enforcement off): the suite as it runs against a real estate. Their pytest processes hold no emulated
account; the embedded modes' processes also hold the whole moto deployment and what the canary writes into it.
Reported per run: wall time,
peak RSS of the pytest processes themselves (each records getrusage(RUSAGE_SELF) at its very end through
peak_rss_plugin.py: the controller, and with -n 2 each xdist worker; the largest is the run's figure), AWS API
calls per chain (from evidence.json snapshots' api_calls) and the result totals. Memory is flat when the peak
of the largest size stays within 1.2x the peak of the smallest (issue 15).

The archival PDF is off (COMPLIANCE_EVIDENCE_PDF=off) unless --pdf is given: it is rendered in a child process
after the checks, takes minutes for many chains, and its memory is not the run's (with --pdf the child's peak is
still not counted in the RSS columns). Figures are quoted as ratios too: the machine is noisy, the ratios much
less so.

This is a script, never a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import scale_fixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.scale.moto_live for the live modes

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
FLAT_MEMORY_RATIO = 1.2
"""Issue 15: the largest size's peak RSS is at most this multiple of the smallest size's."""


@dataclass
class Result:
    chains: int
    mode: str
    wall: float
    peak_rss_mb: float
    controller_rss_mb: float
    worker_rss_mb: float | None
    checks_peak_rss_mb: float
    calls_per_chain: float
    calls_min: int
    calls_max: int
    reads_per_resource_max: int
    totals: dict[str, int]
    exit_code: int

    @property
    def per_chain(self) -> float:
        return self.wall / self.chains


def peak_rss(path: Path) -> tuple[float, float | None, float]:
    """In MB, from peak_rss_plugin.py's lines: the controller's peak RSS, the largest xdist worker's (None: serial),
    and the largest any process had reached when its session finished (the checks run, the evidence not yet
    written)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    controller = [line["peak_rss_kb"] for line in lines if line["role"] == "controller"]
    workers = [line["peak_rss_kb"] for line in lines if line["role"] != "controller"]
    if len(controller) != 1:
        raise SystemExit(f"{path}: expected one controller line, found {len(controller)}")
    checks = max(line.get("checks_peak_rss_kb") or 0 for line in lines)
    return controller[0] / 1024, max(workers) / 1024 if workers else None, checks / 1024


LIVE_MODES = ("live", "live-n2")
"""`--target live` against a moto server this script hosts: the suite as it runs against a real AWS estate, its
pytest processes holding no emulated account (the embedded modes' processes also hold the in-process moto
deployment of every chain, and the objects the canary writes)."""
ORG_ROLE = "arn:aws:iam::{management}:role/OrganizationsRead{{i:03d}}"


@contextmanager
def target_for(mode: str, chains: int, accounts: int, case: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Writes the chain config (and deployment); yields the target's pytest arguments and environment."""
    if mode not in LIVE_MODES:
        deployment, toml = scale_fixture.generate(chains, accounts)
        (case / "deployment.json").write_text(json.dumps(deployment), encoding="utf-8")
        (case / "chains.toml").write_text(toml, encoding="utf-8")
        yield ["--deployment", str(case / "deployment.json")], {}
        return
    from compliance.permissions import read_policy
    from tests.scale.moto_live import AUDIT_ROLE, EXTERNAL_ID, MANAGEMENT, live_server

    org_role = ORG_ROLE.format(management=MANAGEMENT)
    deployment, toml = scale_fixture.generate(chains, accounts, audit_role=AUDIT_ROLE, organizations_role=org_role)
    (case / "chains.toml").write_text(toml, encoding="utf-8")
    with live_server() as srv:  # IAM enforcement off: tests/scale/test_live_least_privilege.py covers it
        srv.provision(deployment)
        assumable = sorted({srv.role(scale_fixture.account_id(i % accounts), AUDIT_ROLE, read_policy())
                            for i in range(chains)})
        for i in range(chains):
            arn = org_role.format(i=i)
            srv.role(MANAGEMENT, arn.rsplit("/", 1)[1], read_policy(), trusted=scale_fixture.account_id(i % accounts))
        env = {"AWS_ENDPOINT_URL": srv.url, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": str(case / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(case / "no-creds"),
               "EXPORT_EXTERNAL_ID": EXTERNAL_ID, **srv.ci_identity(assumable)}
        yield ["--target", "live"], env


def run(chains: int, accounts: int, mode: str, fuzz_examples: int, work: Path, *, pdf: bool) -> Result:
    case = work / f"{chains}-{mode}"
    shutil.rmtree(case / "reports", ignore_errors=True)  # an earlier run's evidence in a reused --work
    case.mkdir(parents=True, exist_ok=True)
    with target_for(mode, chains, accounts, case) as (target_args, target_env):
        return _run(case, chains, mode, fuzz_examples, target_args, target_env, pdf=pdf)


def _run(case: Path, chains: int, mode: str, fuzz_examples: int, target_args: list[str],
         target_env: dict[str, str], *, pdf: bool) -> Result:
    command = [sys.executable, "-m", "pytest", str(ROOT / "compliance"), *target_args,
               "--chain", str(case / "chains.toml"), "--evidence-dir", str(case / "reports"),
               "--fuzz-examples", str(fuzz_examples), "-q", "-p", "no:cacheprovider"]
    if mode.endswith("n2"):
        command += ["-n", "2"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "PYTEST_"))}
    env.setdefault("EXPORT_EXTERNAL_ID", "bench-external-id-0000")
    env |= target_env
    rss_file = case / "peak_rss.jsonl"
    rss_file.unlink(missing_ok=True)
    env |= {"PYTEST_PLUGINS": "peak_rss_plugin", "BENCH_PEAK_RSS_FILE": str(rss_file),
            "PYTHONPATH": os.pathsep.join(filter(None, (str(HERE), env.get("PYTHONPATH")))),
            "COMPLIANCE_EVIDENCE_PDF": "on" if pdf else "off"}
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=case, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (run_dir,) = [p for p in (case / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    evidence = json.loads((run_dir / "evidence.json").read_text(encoding="utf-8"))
    per_chain = [len(s["api_calls"]) for s in evidence["snapshots"].values()]
    repeats = 0
    for snapshot in evidence["snapshots"].values():
        counts = Counter(c["operation"] for c in snapshot["api_calls"])
        # one read per resource: these are made once per chain; list/describe of SCP levels once per level
        repeats = max(repeats, *(counts[op] for op in ("GetRole", "GetBucketLocation", "GetBucketEncryption",
                                                       "GetCallerIdentity", "DescribeKey", "GetKeyPolicy")))
    if proc.returncode not in (0, 1):
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
    controller, worker, checks_peak = peak_rss(rss_file)
    return Result(chains, mode, wall, max(controller, worker or 0), controller, worker, checks_peak,
                  statistics.mean(per_chain) if per_chain else 0,
                  min(per_chain, default=0), max(per_chain, default=0), repeats, evidence["totals"], proc.returncode)


def table(results: list[Result]) -> str:
    base = {r.mode: r for r in results if r.chains == min(x.chains for x in results)}
    lines = ["| chains | mode | wall s | s/chain | × wall of smallest | peak RSS MB | × peak RSS of smallest "
             "| controller / largest worker MB | peak before the evidence is written MB | API calls/chain (min–max) "
             "| max reads of one resource | results | exit |",
             "|---:|---|---:|---:|---:|---:|---:|---|---:|---|---:|---|---:|"]
    for r in results:
        ratio = r.wall / base[r.mode].wall if r.mode in base else float("nan")
        rss_ratio = r.peak_rss_mb / base[r.mode].peak_rss_mb if r.mode in base else float("nan")
        split = f"{r.controller_rss_mb:.0f} / {r.worker_rss_mb:.0f}" if r.worker_rss_mb is not None else \
            f"{r.controller_rss_mb:.0f} / –"
        totals = ", ".join(f"{n} {s}" for s, n in sorted(r.totals.items()) if n)
        lines.append(f"| {r.chains} | {_mode_label(r.mode)} | {r.wall:.1f} | {r.per_chain:.2f} | "
                     f"{ratio:.1f} | {r.peak_rss_mb:.0f} | {rss_ratio:.2f} | {split} | {r.checks_peak_rss_mb:.0f} | "
                     f"{r.calls_per_chain:.1f} ({r.calls_min}–{r.calls_max}) | {r.reads_per_resource_max} | {totals} | "
                     f"{r.exit_code} |")
    by = {(r.chains, r.mode): r for r in results}
    speedups = [f"{c} chains: serial/-n 2 = {by[(c, 'serial')].wall / by[(c, 'n2')].wall:.2f}"
                for c in sorted({r.chains for r in results}) if (c, "serial") in by and (c, "n2") in by]
    if speedups:
        lines.append("")
        lines.append("Speed-up of -n 2: " + "; ".join(speedups))
    lines.extend(["", flat_memory(results)])
    return "\n".join(lines)


def _mode_label(mode: str) -> str:
    return {"serial": "serial", "n2": "-n 2", "live": "live, serial", "live-n2": "live, -n 2"}.get(mode, mode)


def flat_memory(results: list[Result]) -> str:
    """The issue 15 figure: the largest size's peak RSS over the smallest's, per mode, against 1.2."""
    parts = []
    for mode in dict.fromkeys(r.mode for r in results):
        runs = sorted((r for r in results if r.mode == mode), key=lambda r: r.chains)
        if len(runs) < 2:
            continue
        small, large = runs[0], runs[-1]
        ratio = large.peak_rss_mb / small.peak_rss_mb
        verdict = "flat" if ratio <= FLAT_MEMORY_RATIO else "NOT flat"
        parts.append(f"{_mode_label(mode)} {large.chains}/{small.chains} chains = "
                     f"{large.peak_rss_mb:.0f}/{small.peak_rss_mb:.0f} MB = {ratio:.2f} ({verdict})")
    return f"Peak RSS, largest/smallest (target <= {FLAT_MEMORY_RATIO}): " + ("; ".join(parts) or "one size only")


def main() -> None:
    parser = argparse.ArgumentParser(description="Scale benchmark (see the module docstring).")
    parser.add_argument("--sizes", default="20,50,200", help="chain counts (default 20,50,200)")
    parser.add_argument("--accounts", type=int, default=20, help="accounts the chains are spread over (default 20)")
    parser.add_argument("--modes", default="serial,n2",
                        help="serial, n2 (the embedded moto target), live, live-n2 (--target live against a moto "
                             "server this script hosts; see LIVE_MODES) (default serial,n2)")
    parser.add_argument("--fuzz-examples", type=int, default=25, help="--fuzz-examples (default: the suite's 25)")
    parser.add_argument("--pdf", action="store_true",
                        help="render the archival PDF too (off by default; its child process is not measured)")
    parser.add_argument("--work", type=Path, default=None, help="keep the runs here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    results = []
    for chains in [int(s) for s in args.sizes.split(",")]:
        for mode in args.modes.split(","):
            result = run(chains, min(args.accounts, chains), mode, args.fuzz_examples, work, pdf=args.pdf)
            print(f"{chains:4d} chains {mode:6s}: {result.wall:7.1f} s, peak RSS {result.peak_rss_mb:.0f} MB, "
                  f"{result.calls_per_chain:.1f} API calls/chain, exit {result.exit_code}", flush=True)
            results.append(result)
    print()
    print(f"fuzz examples per check: {args.fuzz_examples}; accounts: up to {args.accounts}; PDF: "
          f"{'on (its child process not measured)' if args.pdf else 'off'}; load average at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; work dir: {work}")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
