"""`python -m compliance keygen` and `python -m compliance sign`: Ed25519 keys and countersignatures.

`keygen PRIVATE.pem PUBLIC.pem` writes a new key pair (the private file readable by its owner only).
`sign RUN_DIR --sign-key KEY.pem --signer "Name, Title" --meaning reviewed|approved` adds a signature
over the run's manifest hash. It first verifies the files against the manifest and refuses to sign a
record that does not match; it never changes a file of the record, it only adds `signatures/NN-<meaning>.json`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compliance.evidence.manifest import MANIFEST_NAME, ManifestError, verify_run
from compliance.evidence.signing import (
    Meaning,
    SigningError,
    add_signature,
    fingerprint,
    generate_keypair,
    load_private_key,
    make_signature,
)

COUNTERSIGN_MEANINGS = (Meaning.REVIEWED.value, Meaning.APPROVED.value)


def keygen_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance keygen",
                                     description="Write a new Ed25519 key pair as PEM files.")
    parser.add_argument("private", type=Path, metavar="PRIVATE.pem", help="where to write the private key")
    parser.add_argument("public", type=Path, metavar="PUBLIC.pem", help="where to write the public key")
    args = parser.parse_args(argv)
    try:
        fp = generate_keypair(args.private, args.public)
    except SigningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"private key: {args.private} (keep it secret; only its owner can read it)")
    print(f"public key:  {args.public} (give it to whoever verifies)")
    print(f"fingerprint: {fp}")
    return 0


def sign_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance sign",
                                     description="Countersign a run: add a signature over its manifest hash.")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run directory")
    parser.add_argument("--sign-key", type=Path, required=True, metavar="KEY.pem", help="your Ed25519 private key")
    parser.add_argument("--signer", required=True, help='your printed name and title, e.g. "Dana Smith, QA Lead"')
    parser.add_argument("--meaning", required=True, choices=COUNTERSIGN_MEANINGS,
                        help="what your signature means")
    args = parser.parse_args(argv)
    if not args.run_dir.is_dir():
        print(f"error: {args.run_dir} is not a directory", file=sys.stderr)
        return 2
    try:
        key = load_private_key(args.sign_key)
        result = verify_run(args.run_dir)
    except (SigningError, ManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    broken = result.altered or result.missing or result.added or result.refused or [
        p for p in result.problems if not p.startswith("public key")]
    if broken:
        print(f"error: {args.run_dir} does not match its {MANIFEST_NAME} ({len(result.altered)} altered, "
              f"{len(result.missing)} missing, {len(result.added)} added, {len(result.refused)} refused, "
              f"{len(result.problems)} other problem(s)); refusing to sign it. "
              "Run `python -m compliance verify` for the details", file=sys.stderr)
        return 1
    try:
        signature = make_signature((args.run_dir / MANIFEST_NAME).read_bytes(), key, args.signer,
                                   Meaning(args.meaning))
        path = add_signature(args.run_dir, signature)
    except (SigningError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"signed: {path} — {signature.signer!r}, meaning {signature.meaning.value}, {signature.signed_at} (UTC), "
          f"key fingerprint {fingerprint(key.public_key())}, manifest sha256 {signature.manifest_sha256}")
    return 0


def main(argv: list[str]) -> int:
    return sign_main(argv)
