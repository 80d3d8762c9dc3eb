"""MANIFEST.sha256: the SHA-256 of every file of a run, written last; optional HMAC-SHA256 signature.

The format is the one `sha256sum -c` reads: `<64 hex>  <path relative to the run directory>`, one
file per line, sorted. `MANIFEST.sha256.sig` holds the hex HMAC-SHA256 of the manifest's bytes under
the user's key file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MANIFEST_NAME = "MANIFEST.sha256"
SIGNATURE_NAME = "MANIFEST.sha256.sig"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_CHUNK = 1 << 16


class ManifestError(Exception):
    """The manifest itself is missing or unreadable; the message says which line."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def run_files(run_dir: Path) -> list[str]:
    """Every regular file under the run directory except the manifest and its signature, sorted."""
    files: list[str] = []
    for path in run_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(run_dir).as_posix()
            if rel not in (MANIFEST_NAME, SIGNATURE_NAME):
                files.append(rel)
    return sorted(files)


def sign(manifest: bytes, key: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if not key.strip():
        raise ManifestError(f"{path}: the key file is empty")
    return key


def write_manifest(run_dir: Path, key_path: Path | None = None) -> Path:
    """Hash every file of the run into MANIFEST.sha256 (and sign it when a key file is given)."""
    lines = [f"{sha256_file(run_dir / rel)}  {rel}\n" for rel in run_files(run_dir)]
    body = "".join(lines).encode("utf-8")
    path = run_dir / MANIFEST_NAME
    _write_atomic(path, body)
    if key_path is not None:
        _write_atomic(run_dir / SIGNATURE_NAME, (sign(body, read_key(key_path)) + "\n").encode("ascii"))
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def parse_manifest(body: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(body.splitlines(), 1):
        match = _LINE.match(line)
        if match is None:
            raise ManifestError(f"{MANIFEST_NAME} line {number}: not '<sha256>  <path>'")
        digest, rel = match.groups()
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            raise ManifestError(f"{MANIFEST_NAME} line {number}: path {rel!r} leaves the run directory")
        entries[rel] = digest
    return entries


@dataclass
class Verification:
    run_dir: Path
    ok_files: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    signature: str = "not signed"  # "valid", "INVALID", "not checked (no --key)", "MISSING", "not signed"

    @property
    def ok(self) -> bool:
        return not (self.altered or self.missing or self.added) and self.signature not in ("INVALID", "MISSING")


def verify_run(run_dir: Path, key_path: Path | None = None) -> Verification:
    """Re-hash the run directory against its manifest (and check the signature when given a key)."""
    manifest = run_dir / MANIFEST_NAME
    try:
        body = manifest.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{manifest}: no manifest; is this a run directory?") from None
    try:
        entries = parse_manifest(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{manifest}: not UTF-8 text") from None
    result = Verification(run_dir)
    for rel, digest in sorted(entries.items()):
        path = run_dir / rel
        if not path.is_file():
            result.missing.append(rel)
        elif not hmac.compare_digest(sha256_file(path), digest):
            result.altered.append(rel)
        else:
            result.ok_files.append(rel)
    result.added = [rel for rel in run_files(run_dir) if rel not in entries]
    sig_path = run_dir / SIGNATURE_NAME
    if key_path is not None:
        if not sig_path.is_file():
            result.signature = "MISSING"
        else:
            expected = sign(body, read_key(key_path))
            actual = sig_path.read_text(encoding="ascii", errors="replace").strip()
            result.signature = "valid" if hmac.compare_digest(expected, actual) else "INVALID"
    elif sig_path.is_file():
        result.signature = "not checked (no --key)"
    return result
