"""`python -m compliance verify <run dir> [--key KEYFILE]`: has this run's evidence been altered?

Exit 0 when every file matches MANIFEST.sha256 (and the signature, when a key is given); 1 when
any file is altered, added or missing or the signature does not match; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compliance.evidence.manifest import MANIFEST_NAME, ManifestError, Verification, verify_run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compliance verify",
        description=f"Re-hash a run directory against its {MANIFEST_NAME} and report any change.")
    parser.add_argument("run_dir", type=Path, help="the run directory, e.g. reports/20260101T020000Z/")
    parser.add_argument("--key", type=Path, default=None,
                        help="the key file the run was signed with (--sign-key); checks MANIFEST.sha256.sig")
    return parser


def _print(result: Verification) -> None:
    for label, names in (("ALTERED", result.altered), ("MISSING", result.missing), ("ADDED", result.added)):
        for name in names:
            print(f"{label}: {name}")
    print(f"signature: {result.signature}")
    verdict = "OK: the evidence is unaltered" if result.ok else "FAILED: the evidence does not match its manifest"
    print(f"{verdict} ({len(result.ok_files)} files verified, {len(result.altered)} altered, "
          f"{len(result.missing)} missing, {len(result.added)} added) in {result.run_dir}")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not args.run_dir.is_dir():
        print(f"error: {args.run_dir} is not a directory", file=sys.stderr)
        return 2
    if args.key is not None and not args.key.is_file():
        print(f"error: key file {args.key} not found", file=sys.stderr)
        return 2
    try:
        result = verify_run(args.run_dir, args.key)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print(result)
    return 0 if result.ok else 1
