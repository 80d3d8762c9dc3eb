"""MANIFEST.sha256: the SHA-256 of every file of a run, written last; and its verification.

The format is the one `sha256sum -c` reads: `<64 hex>  <path relative to the run directory>`, one
file per line, sorted. Signatures (`signatures/*.json`, see `signing`) sign the manifest's SHA-256,
so they sit outside it: adding a countersignature never changes the record.

Verification refuses what could hide a change: a symbolic link or special file anywhere in the run
directory, a manifest line that leaves the directory, a file the record needs (evidence.html,
evidence.json, junit.xml, evidence.pdf) missing together with its line, a signature that no given
public key checks, and a run whose evidence.json says it was signed at execution without that signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from compliance.errors import ComplianceError
from compliance.evidence.signing import SIGNATURES_DIR, Meaning, Signature, SigningError, fingerprint, read_signature

MANIFEST_NAME = "MANIFEST.sha256"
REQUIRED_FILES = ("evidence.html", "evidence.json", "junit.xml", "evidence.pdf")
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_CHUNK = 1 << 16


class ManifestError(ComplianceError):
    """The manifest itself is missing, unreadable or malformed; the message says which line."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Tree:
    """What is in a run directory: regular files (relative POSIX paths) and what is refused."""

    files: tuple[str, ...]
    signatures: tuple[str, ...]
    refused: tuple[str, ...]  # "path (symbolic link)" / "path (not a regular file)"


def scan(run_dir: Path) -> Tree:
    """Walk the run directory without following links; every link or special file is refused."""
    files: list[str] = []
    signatures: list[str] = []
    refused: list[str] = []
    for top, dirs, names in os.walk(run_dir, followlinks=False):
        base = Path(top)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                refused.append(f"{(base / name).relative_to(run_dir).as_posix()} (symbolic link)")
        dirs[:] = sorted(d for d in dirs if not (base / d).is_symlink())
        for name in names:
            path = base / name
            rel = path.relative_to(run_dir).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                refused.append(f"{rel} (symbolic link)")
            elif not stat.S_ISREG(mode):
                refused.append(f"{rel} (not a regular file)")
            elif rel == MANIFEST_NAME:
                continue
            elif rel.startswith(SIGNATURES_DIR + "/"):
                signatures.append(rel)
            else:
                files.append(rel)
    return Tree(tuple(sorted(files)), tuple(sorted(signatures)), tuple(sorted(refused)))


def run_files(run_dir: Path) -> list[str]:
    """Every regular file the manifest covers: all but the manifest and the signatures, sorted."""
    return list(scan(run_dir).files)


def manifest_body(run_dir: Path, files: Sequence[str] | None = None) -> bytes:
    names = run_files(run_dir) if files is None else sorted(files)
    return "".join(f"{sha256_file(run_dir / rel)}  {rel}\n" for rel in names).encode("utf-8")


def write_manifest(run_dir: Path) -> Path:
    """Hash every file of the run into MANIFEST.sha256."""
    path = run_dir / MANIFEST_NAME
    _write_atomic(path, manifest_body(run_dir))
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
        if pure.is_absolute() or ".." in pure.parts or "\\" in rel or pure.as_posix() != rel:
            raise ManifestError(f"{MANIFEST_NAME} line {number}: path {rel!r} leaves the run directory "
                                "(or is not a plain relative path); refused")
        if rel == MANIFEST_NAME or pure.parts[0] == SIGNATURES_DIR:
            raise ManifestError(f"{MANIFEST_NAME} line {number}: {rel!r} cannot be listed in the manifest")
        if rel in entries:
            raise ManifestError(f"{MANIFEST_NAME} line {number}: {rel!r} is listed twice")
        entries[rel] = digest
    return entries


class SignatureState(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"  # the signature does not match its statement under the signer's key
    OTHER_MANIFEST = "SIGNS ANOTHER MANIFEST"  # valid or not, it is not over this manifest
    NOT_CHECKED = "NOT CHECKED"  # no --public-key with its fingerprint was given
    UNREADABLE = "UNREADABLE"

    @property
    def ok(self) -> bool:
        return self is SignatureState.VALID


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    name: str
    state: SignatureState
    signature: Signature | None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Verification:
    run_dir: Path
    manifest_sha256: str
    ok_files: tuple[str, ...]
    altered: tuple[str, ...]
    missing: tuple[str, ...]
    added: tuple[str, ...]
    refused: tuple[str, ...]
    signatures: tuple[SignatureCheck, ...]
    problems: tuple[str, ...]  # record-level: a required file not listed, a key that signed nothing, ...

    @property
    def ok(self) -> bool:
        return not (self.altered or self.missing or self.added or self.refused or self.problems) and all(
            s.state.ok for s in self.signatures)


def _check_signature(rel: str, run_dir: Path, manifest_sha: str,
                     keys: dict[str, Ed25519PublicKey]) -> SignatureCheck:
    try:
        signature = read_signature(run_dir / rel)
    except SigningError as exc:
        return SignatureCheck(rel, SignatureState.UNREADABLE, None, str(exc))
    key = keys.get(signature.key_fingerprint)
    if key is None:
        return SignatureCheck(rel, SignatureState.NOT_CHECKED, signature,
                              f"no --public-key with fingerprint {signature.key_fingerprint} was given")
    if not signature.verifies_with(key):
        return SignatureCheck(rel, SignatureState.INVALID, signature,
                              "the signature does not match its signer, meaning, time or manifest hash")
    if not hmac.compare_digest(signature.manifest_sha256, manifest_sha):
        return SignatureCheck(rel, SignatureState.OTHER_MANIFEST, signature,
                              "it signs a different MANIFEST.sha256: the manifest was changed after signing")
    return SignatureCheck(rel, SignatureState.VALID, signature)


def _expected_signature(run_dir: Path, ok_files: Sequence[str]) -> dict[str, str] | None:
    """The execution signature evidence.json says the run made (only when evidence.json is verified)."""
    if "evidence.json" not in ok_files:
        return None
    try:
        header = json.loads((run_dir / "evidence.json").read_text(encoding="utf-8")).get("header") or {}
    except (OSError, ValueError, AttributeError):
        return None
    expected = header.get("signature") if isinstance(header, dict) else None
    return expected if isinstance(expected, dict) else None


def verify_run(run_dir: Path, public_keys: Sequence[Ed25519PublicKey] = ()) -> Verification:
    """Re-hash the run directory against its manifest and check every signature with the given keys."""
    manifest = run_dir / MANIFEST_NAME
    if manifest.is_symlink():
        raise ManifestError(f"{manifest}: is a symbolic link; refused")
    try:
        body = manifest.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{manifest}: no manifest; is this a run directory?") from None
    try:
        entries = parse_manifest(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{manifest}: not UTF-8 text") from None
    manifest_sha = hashlib.sha256(body).hexdigest()
    tree = scan(run_dir)
    present = set(tree.files)
    ok_files: list[str] = []
    altered: list[str] = []
    missing: list[str] = []
    for rel, digest in sorted(entries.items()):
        if rel not in present:
            missing.append(rel)
        elif not hmac.compare_digest(sha256_file(run_dir / rel), digest):
            altered.append(rel)
        else:
            ok_files.append(rel)
    problems = [f"{name}: the record needs this file but the manifest does not list it (deleted with its line?)"
                for name in REQUIRED_FILES if name not in entries]
    keys = {fingerprint(k): k for k in public_keys}
    checks = tuple(_check_signature(rel, run_dir, manifest_sha, keys) for rel in tree.signatures)
    valid = [c.signature for c in checks if c.state.ok and c.signature is not None]
    for fp in keys:
        if not any(s.key_fingerprint == fp for s in valid):
            problems.append(f"public key {fp}: no valid signature of this record was made with it "
                            "(signature removed, or signed with another key)")
    expected = _expected_signature(run_dir, ok_files)
    if expected is not None and not any(s.meaning is Meaning.EXECUTED and s.key_fingerprint ==
                                        expected.get("key_fingerprint") for s in
                                        (c.signature for c in checks) if s is not None):
        problems.append(f"evidence.json says the run was signed at execution by {expected.get('signer')!r} "
                        f"(key {expected.get('key_fingerprint')}), but that signature is not in {SIGNATURES_DIR}/")
    problems.extend(_embedded_copies(run_dir, ok_files, entries))
    return Verification(run_dir, manifest_sha, tuple(ok_files), tuple(altered), tuple(missing),
                        tuple(sorted(present - set(entries))), tree.refused, checks, tuple(problems))


def _embedded_copies(run_dir: Path, ok_files: Sequence[str], entries: dict[str, str]) -> list[str]:
    """evidence.pdf embeds evidence.json and the manifest of the other files: they must equal the run's."""
    if "evidence.pdf" not in ok_files:
        return []
    from compliance.evidence.pdf import EmbeddedError, embedded_files

    try:
        embedded = embedded_files(run_dir / "evidence.pdf")
    except EmbeddedError as exc:
        return [f"evidence.pdf: {exc}"]
    problems: list[str] = []
    copy = embedded.get("evidence.json")
    if copy is None or "evidence.json" not in ok_files or copy != (run_dir / "evidence.json").read_bytes():
        problems.append("evidence.pdf: its embedded evidence.json differs from the run's evidence.json")
    inner = embedded.get(MANIFEST_NAME)
    try:
        inner_entries = parse_manifest(inner.decode("utf-8")) if inner is not None else None
    except (ManifestError, UnicodeDecodeError):
        inner_entries = None
    if inner_entries is None or any(entries.get(rel) != digest for rel, digest in inner_entries.items()) or set(
            entries) - set(inner_entries) != {"evidence.pdf"}:
        problems.append(f"evidence.pdf: its embedded {MANIFEST_NAME} does not match the run's manifest")
    return problems
