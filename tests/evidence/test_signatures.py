"""Ed25519 signatures: keygen, the run's execution signature, countersignatures, and every way to tamper.

Each tampering test works on a copy of one real signed run (a failing run signed at execution).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.__main__ import main as cli
from compliance.evidence.manifest import MANIFEST_NAME, REQUIRED_FILES, run_files
from compliance.evidence.signing import SIGNATURES_DIR, fingerprint, load_private_key, load_public_key

from .conftest import Keys, SuiteRun, make_keys


@pytest.fixture(scope="module")
def reviewer(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("reviewer"), "reviewer")


@pytest.fixture
def run_copy(signed_failing_run: SuiteRun, tmp_path: Path) -> Path:
    target = tmp_path / signed_failing_run.run_dir.name
    shutil.copytree(signed_failing_run.run_dir, target, symlinks=True)
    return target


def _verify(run: Path, *keys: Path) -> tuple[int, str]:
    args = ["verify", str(run)]
    for key in keys:
        args += ["--public-key", str(key)]
    done = subprocess.run([sys.executable, "-m", "compliance", *args], capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def _recompute_line(run: Path, rel: str) -> None:
    """What a careful forger does after editing a file: put its new hash into the manifest."""
    lines = (run / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256((run / rel).read_bytes()).hexdigest()
    out = [f"{digest}  {rel}" if line.endswith(f"  {rel}") else line for line in lines]
    (run / MANIFEST_NAME).write_text("\n".join(out) + "\n", encoding="utf-8")


def _drop_line(run: Path, rel: str) -> None:
    lines = (run / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()
    (run / MANIFEST_NAME).write_text("\n".join(x for x in lines if not x.endswith(f"  {rel}")) + "\n",
                                     encoding="utf-8")


# keys ---------------------------------------------------------------------------------------------------------------

def test_keygen_writes_standard_pem_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    assert cli(["keygen", str(private), str(public)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert fingerprint(load_public_key(public)) in out
    assert fingerprint(load_private_key(private).public_key()) == fingerprint(load_public_key(public))
    assert "BEGIN PRIVATE KEY" not in out  # the private key is never printed
    assert cli(["keygen", str(private), str(tmp_path / "other.pem")]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_keys_and_fingerprint_interoperate(tmp_path: Path) -> None:
    private, public = tmp_path / "o.pem", tmp_path / "o.pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(public), "-outform", "DER"], check=True,
                         capture_output=True).stdout
    assert fingerprint(load_private_key(private).public_key()) == "SHA256:" + hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(("content", "needle"), [
    (b"not a key", "not a readable PEM private key"),
    (None, "no such private key file"),
])
def test_bad_sign_key_is_one_line(tmp_path: Path, content: bytes | None, needle: str,
                                  capsys: pytest.CaptureFixture[str], signed_failing_run: SuiteRun) -> None:
    key = tmp_path / "bad.pem"
    if content is not None:
        key.write_bytes(content)
    code = cli(["sign", str(signed_failing_run.run_dir), "--sign-key", str(key), "--signer", "A B",
                "--meaning", "reviewed"])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_an_rsa_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from compliance.evidence.signing import SigningError

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with pytest.raises(SigningError, match="not Ed25519"):
        load_private_key(path)


# the signed run -----------------------------------------------------------------------------------------------------

def test_signed_run_verifies_only_with_the_public_key(signed_failing_run: SuiteRun, qa_keys: Keys) -> None:
    run = signed_failing_run.run_dir
    assert run_files(run) == sorted(REQUIRED_FILES)
    assert [p.name for p in (run / SIGNATURES_DIR).iterdir()] == ["01-executed.json"]
    header = signed_failing_run.evidence["header"]
    assert header["signature"]["signer"] == "Dana Smith, QA Lead"
    assert header["signature"]["key_fingerprint"] == fingerprint(load_public_key(qa_keys.public))
    code, out = _verify(run)
    assert code == 1, out
    assert "NOT CHECKED" in out and "NOT VERIFIED" in out and "OK:" not in out
    code, out = _verify(run, qa_keys.public)
    assert code == 0, out
    line = next(x for x in out.splitlines() if "01-executed.json" in x)
    assert "VALID" in line and "'Dana Smith, QA Lead'" in line and "meaning executed" in line
    assert fingerprint(load_public_key(qa_keys.public)) in line and "Z (UTC)" in line


def test_countersignatures_are_added_never_changing_the_record(run_copy: Path, qa_keys: Keys,
                                                               reviewer: Keys) -> None:
    before = {rel: (run_copy / rel).read_bytes() for rel in [*run_files(run_copy), MANIFEST_NAME]}
    for meaning in ("reviewed", "approved"):
        assert cli(["sign", str(run_copy), "--sign-key", str(reviewer.private), "--signer",
                    "Lee Wong, Head of Quality", "--meaning", meaning]) == 0
    assert before == {rel: (run_copy / rel).read_bytes() for rel in before}
    names = sorted(p.name for p in (run_copy / SIGNATURES_DIR).iterdir())
    assert names == ["01-executed.json", "02-reviewed.json", "03-approved.json"]
    code, out = _verify(run_copy, qa_keys.public, reviewer.public)
    assert code == 0, out
    assert "meaning reviewed" in out and "meaning approved" in out and "'Lee Wong, Head of Quality'" in out
    code, out = _verify(run_copy, qa_keys.public)  # the reviewer's signatures cannot be checked without their key
    assert code == 1 and "NOT CHECKED" in out


def test_sign_refuses_an_altered_record(run_copy: Path, reviewer: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    (run_copy / "junit.xml").write_text("<testsuites/>", encoding="utf-8")
    assert cli(["sign", str(run_copy), "--sign-key", str(reviewer.private), "--signer", "Lee Wong",
                "--meaning", "approved"]) == 1
    assert "refusing to sign" in capsys.readouterr().err
    assert not (run_copy / SIGNATURES_DIR / "02-approved.json").exists()


def test_sign_meaning_is_reviewed_or_approved(run_copy: Path, reviewer: Keys) -> None:
    with pytest.raises(SystemExit):
        cli(["sign", str(run_copy), "--sign-key", str(reviewer.private), "--signer", "X", "--meaning", "executed"])


# tampering ----------------------------------------------------------------------------------------------------------

def test_edited_file_with_recomputed_manifest_line_fails(run_copy: Path, qa_keys: Keys) -> None:
    data = json.loads((run_copy / "evidence.json").read_text(encoding="utf-8"))
    data["totals"] = {"PASS": 99}
    (run_copy / "evidence.json").write_text(json.dumps(data), encoding="utf-8")
    _recompute_line(run_copy, "evidence.json")
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1
    assert "SIGNS ANOTHER MANIFEST" in out
    assert "embedded evidence.json differs" in out
    code, out = _verify(run_copy)  # without the key it is not "unaltered" either
    assert code == 1 and "OK:" not in out


def test_deleted_file_and_its_line_fails(run_copy: Path, qa_keys: Keys) -> None:
    (run_copy / "evidence.pdf").unlink()
    _drop_line(run_copy, "evidence.pdf")
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1
    assert "evidence.pdf: the record needs this file" in out
    assert "SIGNS ANOTHER MANIFEST" in out


@pytest.mark.parametrize("required", REQUIRED_FILES)
def test_each_required_file_is_needed_even_unsigned(run_copy: Path, required: str) -> None:
    shutil.rmtree(run_copy / SIGNATURES_DIR)
    (run_copy / required).unlink()
    _drop_line(run_copy, required)
    code, out = _verify(run_copy)
    assert code == 1 and f"{required}: the record needs this file" in out


@pytest.mark.parametrize("where", ["evidence-link.json", "signatures/99-approved.json", "linkdir"])
def test_added_symlink_is_refused(run_copy: Path, qa_keys: Keys, where: str) -> None:
    target = run_copy / where
    if where == "linkdir":
        target.symlink_to(run_copy.parent, target_is_directory=True)
    else:
        target.symlink_to(run_copy / SIGNATURES_DIR / "01-executed.json" if "signatures" in where
                          else run_copy / "evidence.json")
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1 and f"REFUSED: {where} (symbolic link)" in out


def test_symlinked_file_listed_in_the_manifest_is_refused(run_copy: Path, tmp_path: Path, qa_keys: Keys) -> None:
    outside = tmp_path / "outside.xml"
    shutil.copy(run_copy / "junit.xml", outside)
    (run_copy / "junit.xml").unlink()
    (run_copy / "junit.xml").symlink_to(outside)
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1 and "REFUSED: junit.xml (symbolic link)" in out


def test_removed_execution_signature_fails(run_copy: Path, qa_keys: Keys) -> None:
    (run_copy / SIGNATURES_DIR / "01-executed.json").unlink()
    code, out = _verify(run_copy)
    assert code == 1 and "says the run was signed at execution by 'Dana Smith, QA Lead'" in out
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1 and "no valid signature of this record was made with it" in out


def test_removed_countersignature_fails_with_its_key(run_copy: Path, qa_keys: Keys, reviewer: Keys) -> None:
    assert cli(["sign", str(run_copy), "--sign-key", str(reviewer.private), "--signer", "Lee Wong",
                "--meaning", "approved"]) == 0
    (run_copy / SIGNATURES_DIR / "02-approved.json").unlink()
    code, out = _verify(run_copy, qa_keys.public, reviewer.public)
    assert code == 1 and "no valid signature of this record was made with it" in out


def test_edited_signer_name_invalidates_the_signature(run_copy: Path, qa_keys: Keys) -> None:
    path = run_copy / SIGNATURES_DIR / "01-executed.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["signer"] = "Someone Else, CEO"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1 and "INVALID" in out


def test_signature_by_another_key_is_not_accepted(run_copy: Path, reviewer: Keys) -> None:
    code, out = _verify(run_copy, reviewer.public)
    assert code == 1 and "NOT CHECKED" in out and "no valid signature" in out


def test_manifest_line_outside_the_directory_is_refused(run_copy: Path, qa_keys: Keys) -> None:
    with (run_copy / MANIFEST_NAME).open("a", encoding="utf-8") as handle:
        handle.write(f"{'0' * 64}  ../outside.txt\n")
    code, out = _verify(run_copy, qa_keys.public)
    assert code == 1 and "leaves the run directory" in out


def test_secrets_stay_out_of_signatures(signed_failing_run: SuiteRun, qa_keys: Keys) -> None:
    private = qa_keys.private.read_text(encoding="utf-8")
    body = "".join(line for line in private.splitlines() if "-----" not in line)
    for path in (signed_failing_run.run_dir / SIGNATURES_DIR).iterdir():
        assert body not in path.read_text(encoding="utf-8")
    assert body not in signed_failing_run.stdout + signed_failing_run.stderr
