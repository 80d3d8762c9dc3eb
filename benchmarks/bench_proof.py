"""How long a chain's proofs take (a script, not a test).

    .venv/bin/python benchmarks/bench_proof.py [--rounds 3] [--suite]

(a) the reference chain (moto-provisioned): all six proof questions;
(b) the reference chain with 200 statements carrying conditions (bucket policy: Denies on source addresses,
    referers, user agents, dates and TLS; Allows for the export role on sub-prefixes under conditions; trust and
    key policy statements for the vendor and the role), every one of them safe, so each proof explores everything;
(c) with --suite: the embedded default `pytest compliance/` with today's fuzz budget (25, beside the proofs)
    against the previous one (200 examples per fuzzing family, no proofs), one run each.
Targets (issue 11): (a) <= 0.5 s, (b) <= 5 s, (c) faster than before. The machine is shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EXPORT_EXTERNAL_ID", "bench-ext-id-7f3a9c")
os.environ.setdefault("AZURE_BACKUP_SAS", "sv=2024-11-04&sig=bench")

BUCKET = "company-audit-reports"
ROLE = "arn:aws:iam::111122223333:role/QualioExportRole"
VENDOR = "arn:aws:iam::999988887777:role/ExportService"


def _big_bucket_policy() -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    for i in range(60):
        statements.append({"Sid": f"DenyNet{i}", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                           "Resource": f"arn:aws:s3:::{BUCKET}/*",
                           "Condition": {"IpAddress": {"aws:SourceIp": f"10.{i}.0.0/16"},
                                         "StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}})
    for i in range(58):
        statements.append({"Sid": f"DenyAgent{i}", "Effect": "Deny", "Principal": "*", "Action": "s3:Delete*",
                           "Resource": f"arn:aws:s3:::{BUCKET}/*",
                           "Condition": {"StringLike": {"aws:UserAgent": f"*bot{i}*"},
                                         "DateGreaterThan": {"aws:CurrentTime": f"20{30 + i % 60}-01-01T00:00:00Z"}}})
    for i in range(60):
        statements.append({"Sid": f"RoleWrites{i}", "Effect": "Allow", "Principal": {"AWS": ROLE},
                           "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/qualio/{i:02d}/*",
                           "Condition": {"StringEquals": {"aws:Referer": f"export-{i}"},
                                         "Bool": {"aws:SecureTransport": "true"}}})
    statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def _big_trust(external_id: str) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": ["sts:AssumeRole"],
         "Condition": {"StringEquals": {"sts:ExternalId": external_id}}},
        {"Sid": "Tags", "Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "sts:TagSession",
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["qualio-user"]}}}]
    for i in range(19):
        statements.append({"Sid": f"DenyFrom{i}", "Effect": "Deny", "Principal": {"AWS": "*"},
                           "Action": "sts:AssumeRole",
                           "Condition": {"IpAddress": {"aws:SourceIp": f"198.18.{i}.0/24"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def _snapshots() -> tuple[Any, Any, Any]:
    from compliance.config import default_chain_path, load_chain_config
    from compliance.targets.aws_moto import MotoAwsTarget
    from compliance.targets.deployment import load_deployment
    from compliance.targets.snapshot import Read

    chain = load_chain_config(default_chain_path()).chains[0]
    target = MotoAwsTarget(load_deployment())
    target.start()
    try:
        snapshot = target.snapshot(chain)
    finally:
        target.stop()
    bucket = snapshot.bucket.value
    role = snapshot.role.value
    assert bucket is not None and role is not None
    big = replace(snapshot, bucket=Read(snapshot.bucket.api, replace(bucket, policy=Read("s3:GetBucketPolicy",
                                                                                           _big_bucket_policy()))),
                  role=Read(snapshot.role.api, replace(role, trust_policy=_big_trust(chain.external_id() or ""))))
    return chain, snapshot, big


def _time_proofs(chain: Any, snapshot: Any, rounds: int) -> tuple[float, list[str]]:
    from compliance.chain.view import ChainView
    from compliance.checks import test_aws_proof as proofs

    checks = [getattr(proofs, name) for name in dir(proofs) if name.startswith("test_aws_proof_")]
    best = float("inf")
    statuses: list[str] = []
    from compliance.proof.strings import _cached_classes

    for _ in range(rounds):
        _cached_classes.cache_clear()  # each round starts cold, as a run's first chain does
        view = ChainView(chain, snapshot)
        start = time.perf_counter()
        statuses = [f"{fn.__name__.removeprefix('test_')}={fn(view).status.value}" for fn in checks]
        best = min(best, time.perf_counter() - start)
    return best, statuses


def _suite(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "compliance/", "-q", "-p", "no:cacheprovider", *args],
                   cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--suite", action="store_true", help="also time the embedded-default suite, old vs new")
    options = parser.parse_args()
    chain, snapshot, big = _snapshots()
    statements = len(_big_bucket_policy()["Statement"]) + len(_big_trust("x")["Statement"])
    reference, statuses = _time_proofs(chain, snapshot, options.rounds)
    met = "met" if reference <= 0.5 else "NOT met"
    print(f"(a) reference chain, six proofs: {reference:.3f} s (target <= 0.5 s: {met})")
    print("    " + ", ".join(statuses))
    large, statuses = _time_proofs(chain, big, options.rounds)
    print(f"(b) {statements} statements with conditions, six proofs: {large:.3f} s "
          f"(target <= 5 s: {'met' if large <= 5 else 'NOT met'}); ratio to (a): {large / reference:.1f}x")
    print("    " + ", ".join(statuses))
    if options.suite:
        _suite(["-k", "aws_configured_role_arn_matches_role"])  # warm caches (imports, npm, Azurite) for both
        old = new = float("inf")
        for _ in range(2):  # alternate, best of two each: the machine is shared
            old = min(old, _suite(["--fuzz-examples", "200", "-k", "not proof"]))
            new = min(new, _suite([]))
        print(f"(c) embedded default: now (proofs + fuzz 25) {new:.1f} s; before (fuzz 200, no proofs) {old:.1f} s; "
              f"ratio {old / new:.2f}x")


if __name__ == "__main__":
    main()
