"""`python -m compliance verify RUN_DIR [--public-key PUB.pem ...]`: is this the record as it was signed?

Checks every file against MANIFEST.sha256 and every signature in `signatures/` with the public keys
given, and prints each signature's signer, meaning, UTC time and key fingerprint.

Exit 0 only when every file matches, every file the record needs is there, nothing is a symbolic link,
and every signature present was checked and is valid (and each given key signed the record);
1 otherwise; 2 on a usage error. A signed run verified without its public key exits 1: an unchecked
signature proves nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compliance.evidence.manifest import (
    MANIFEST_NAME,
    ManifestError,
    SignatureCheck,
    SignatureState,
    Verification,
    verify_run,
)
from compliance.evidence.signing import SIGNATURES_DIR, SigningError, load_public_key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compliance verify",
        description=f"Re-hash a run directory against its {MANIFEST_NAME} and check its signatures.")
    parser.add_argument("run_dir", type=Path, help="the run directory, e.g. reports/20260101T020000Z/")
    parser.add_argument("--public-key", type=Path, action="append", default=[], metavar="PUB.pem",
                        help="a signer's Ed25519 public key (repeat for each signer); every signature present "
                             "must be checked by one of them")
    return parser


def _signature_line(check: SignatureCheck) -> str:
    sig = check.signature
    if sig is None:
        return f"signature {check.name}: {check.state.value}: {check.problem}"
    text = (f"signature {check.name}: {check.state.value}: signer {sig.signer!r}, meaning {sig.meaning.value}, "
            f"signed {sig.signed_at} (UTC), key fingerprint {sig.key_fingerprint}")
    return text + (f" ({check.problem})" if check.problem else "")


def _print(result: Verification) -> None:
    for label, names in (("ALTERED", result.altered), ("MISSING", result.missing), ("ADDED", result.added),
                         ("REFUSED", result.refused)):
        for name in names:
            print(f"{label}: {name}")
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(f"manifest: {MANIFEST_NAME} sha256 {result.manifest_sha256}")
    for check in result.signatures:
        print(_signature_line(check))
    if not result.signatures:
        print(f"signatures: none (the record is not signed; nothing in {SIGNATURES_DIR}/)")
    unchecked = sum(1 for c in result.signatures if not c.state.ok)
    if result.ok:
        verdict = "OK: the evidence is unaltered"
        if result.signatures:
            verdict += f" and all {len(result.signatures)} signature(s) are valid"
    elif all(c.state is SignatureState.NOT_CHECKED for c in result.signatures if not c.state.ok) and not (
            result.altered or result.missing or result.added or result.refused or result.problems):
        verdict = ("NOT VERIFIED: the files match the manifest, but a signature is present and no --public-key was "
                   "given to check it")
    else:
        verdict = "FAILED: the evidence does not match its manifest or its signatures"
    print(f"{verdict} ({len(result.ok_files)} files verified, {len(result.altered)} altered, "
          f"{len(result.missing)} missing, {len(result.added)} added, {len(result.refused)} refused, "
          f"{unchecked} signature(s) not valid or not checked) in {result.run_dir}")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not args.run_dir.is_dir():
        print(f"error: {args.run_dir} is not a directory", file=sys.stderr)
        return 2
    try:
        keys = [load_public_key(path) for path in args.public_key]
    except SigningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = verify_run(args.run_dir, keys)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print(result)
    return 0 if result.ok else 1
