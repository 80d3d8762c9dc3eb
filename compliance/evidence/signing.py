"""Ed25519 signatures over a run's MANIFEST.sha256: who signed, with which meaning, when, with which key.

21 CFR Part 11 §11.50 asks that a signed record show the signer's printed name, the date and time of
signing and its meaning; §11.70 that the signature be linked to its record so it cannot be copied to
another. Each signature here is one JSON file in `signatures/` of the run directory. It signs a
statement holding the SHA-256 of the manifest (which holds the SHA-256 of every file), the signer,
the meaning, the UTC time and the key's fingerprint: none of them can be changed without breaking it.

A countersignature (`python -m compliance sign`, meaning "reviewed" or "approved") adds a file; it
never changes the record. Anyone holding the signer's *public* key can check a signature; the private
key never leaves the signer. Keys are standard PEM files (PKCS#8 private, SubjectPublicKeyInfo public),
so `openssl genpkey -algorithm ed25519 -out private.pem` and `openssl pkey -in private.pem -pubout`
make valid keys too. The fingerprint is the SHA-256 of the public key's DER form, as
`openssl pkey -pubin -in public.pem -outform DER | sha256sum` prints it.

Cryptography: https://cryptography.io/en/latest/hazmat/primitives/asymmetric/ed25519/
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from compliance.errors import ComplianceError

SIGNATURES_DIR = "signatures"
SCHEMA = "export-chain-compliance/signature/v1"
ALGORITHM = "Ed25519"
PASSWORD_ENV = "COMPLIANCE_SIGN_KEY_PASSWORD"  # for an encrypted private key; never written anywhere
_NAME = re.compile(r"^(\d{2,})-([a-z]+)\.json$")
_FIELDS = ("schema", "algorithm", "manifest_sha256", "signer", "meaning", "signed_at", "key_fingerprint")


class Meaning(StrEnum):
    """What a signature means (§11.50(a)(3))."""

    EXECUTED = "executed"  # the person who ran the checks: this is what the run found
    REVIEWED = "reviewed"  # a reviewer read the record
    APPROVED = "approved"  # the record is approved for the audit file

    @property
    def statement(self) -> str:
        return {
            Meaning.EXECUTED: "executed the checks and attests that this record is what the run produced",
            Meaning.REVIEWED: "reviewed this record",
            Meaning.APPROVED: "approved this record",
        }[self]


class SigningError(ComplianceError):
    """A key cannot be read or written, or a signature cannot be made. One line: the file, the problem, the fix."""


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature over one manifest. `value` is the base64 Ed25519 signature of `statement()`."""

    manifest_sha256: str
    signer: str
    meaning: Meaning
    signed_at: str  # ISO 8601 UTC, e.g. 2026-11-29T12:00:00Z
    key_fingerprint: str
    value: str

    def statement(self) -> bytes:
        """The exact bytes signed: canonical JSON of every field but the signature itself."""
        fields = {"schema": SCHEMA, "algorithm": ALGORITHM, "manifest_sha256": self.manifest_sha256,
                  "signer": self.signer, "meaning": self.meaning.value, "signed_at": self.signed_at,
                  "key_fingerprint": self.key_fingerprint}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def to_json(self) -> dict[str, Any]:
        return {**json.loads(self.statement()), "signature": self.value}

    @classmethod
    def from_json(cls, data: Any, source: str) -> Signature:
        if not isinstance(data, Mapping):
            raise SigningError(f"{source}: not a signature record (a JSON object is expected)")
        missing = [key for key in (*_FIELDS, "signature") if not isinstance(data.get(key), str)]
        if missing:
            raise SigningError(f"{source}: not a signature record (missing or not text: {', '.join(missing)})")
        if data["schema"] != SCHEMA or data["algorithm"] != ALGORITHM:
            raise SigningError(f"{source}: unknown signature schema or algorithm "
                               f"({data['schema']}, {data['algorithm']}); expected {SCHEMA}, {ALGORITHM}")
        try:
            meaning = Meaning(data["meaning"])
        except ValueError:
            raise SigningError(f"{source}: unknown meaning {data['meaning']!r} "
                               f"(one of {', '.join(m.value for m in Meaning)})") from None
        return cls(data["manifest_sha256"], data["signer"], meaning, data["signed_at"], data["key_fingerprint"],
                   data["signature"])

    def verifies_with(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(base64.b64decode(self.value, validate=True), self.statement())
        except (InvalidSignature, ValueError):
            return False
        return True


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA256:<hex> of the public key's DER (SubjectPublicKeyInfo) encoding."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 key pair as PEM files (the private one readable by its owner only); return the
    public key's fingerprint. Existing files are never overwritten."""
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path}: already exists. Fix: choose a new file name (keys are never overwritten)")
        if not path.parent.is_dir():
            raise SigningError(f"{path}: directory {path.parent} does not exist. Fix: create it first")
    if private_path.resolve() == public_path.resolve():
        raise SigningError(f"{private_path}: the private and public key need two different files")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    return fingerprint(key.public_key())


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{path}: no such {what} file. Fix: pass the path of the {what} PEM file "
                           "(python -m compliance keygen makes one)") from None
    except OSError as exc:
        raise SigningError(f"{path}: the {what} file cannot be read ({type(exc).__name__})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (PKCS#8; encrypted keys take their password from
    $COMPLIANCE_SIGN_KEY_PASSWORD). Any problem is one `SigningError` line; the key is never shown."""
    data = _read(path, "private key")
    password = os.environ.get(PASSWORD_ENV)
    try:
        key = serialization.load_pem_private_key(data, password.encode("utf-8") if password else None)
    except TypeError:
        raise SigningError(f"{path}: the private key is encrypted. Fix: export {PASSWORD_ENV} with its "
                           "password") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SigningError(f"{path}: not a readable PEM private key (or a wrong password). Fix: pass an Ed25519 "
                           "key made by `python -m compliance keygen` or `openssl genpkey -algorithm ed25519`"
                           ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: a {type(key).__name__.removeprefix('_')} key, not Ed25519. Fix: make an "
                           "Ed25519 key (python -m compliance keygen, or openssl genpkey -algorithm ed25519)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        hint = " (this is a private key; pass the public one)" if b"PRIVATE KEY" in data else ""
        raise SigningError(f"{path}: not a readable PEM public key{hint}. Fix: pass the PUBLIC.pem written by "
                           "`python -m compliance keygen` (or `openssl pkey -in private.pem -pubout`)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: not an Ed25519 public key. Fix: pass the signer's Ed25519 public key")
    return key


def make_signature(manifest: bytes, key: Ed25519PrivateKey, signer: str, meaning: Meaning,
                   signed_at: str | None = None) -> Signature:
    signer = " ".join(signer.split())
    if not signer:
        raise SigningError("--signer: empty. Fix: give the signer's printed name and title, e.g. "
                           '--signer "Dana Smith, QA Lead"')
    unsigned = Signature(hashlib.sha256(manifest).hexdigest(), signer, meaning, signed_at or utc_now(),
                         fingerprint(key.public_key()), "")
    value = base64.b64encode(key.sign(unsigned.statement())).decode("ascii")
    return Signature(unsigned.manifest_sha256, signer, meaning, unsigned.signed_at, unsigned.key_fingerprint,
                     value)


def signature_files(run_dir: Path) -> list[Path]:
    folder = run_dir / SIGNATURES_DIR
    if not folder.is_dir() or folder.is_symlink():
        return []
    return sorted(folder.iterdir())


def add_signature(run_dir: Path, signature: Signature) -> Path:
    """Write the signature as the next `signatures/NN-<meaning>.json` (never replacing one)."""
    folder = run_dir / SIGNATURES_DIR
    if folder.is_symlink():
        raise SigningError(f"{folder}: is a symbolic link; refusing to write a signature through it")
    folder.mkdir(exist_ok=True)
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    number = max(numbers, default=0) + 1
    while True:
        path = folder / f"{number:02d}-{signature.meaning.value}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            number += 1
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(signature.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return path


def read_signature(path: Path) -> Signature:
    source = f"{SIGNATURES_DIR}/{path.name}"
    if not _NAME.match(path.name):
        raise SigningError(f"{source}: not a signature file name (NN-<meaning>.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SigningError(f"{source}: cannot be read as JSON ({type(exc).__name__})") from None
    return Signature.from_json(data, source)
