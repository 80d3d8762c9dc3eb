"""MANIFEST.sha256 covers every file of the run; `python -m compliance verify` catches any change."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.__main__ import main as cli
from compliance.evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, run_files, write_manifest

from .conftest import COMPLIANCE_DIR, RunSuite


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "audit.key"
    path.write_bytes(b"a key only the QA lead holds\n")
    return path


def _sample_run(tmp_path: Path) -> Path:
    run = tmp_path / "20260101T000000Z"
    (run / "sub").mkdir(parents=True)
    (run / "evidence.html").write_text("<html>report</html>", encoding="utf-8")
    (run / "evidence.json").write_text('{"a": 1}', encoding="utf-8")
    (run / "sub" / "extra.txt").write_bytes(b"\x00\x01binary")
    return run


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_real_run_manifest_covers_every_file_and_verifies(run_suite: RunSuite, capsys: pytest.CaptureFixture[str],
                                                           key_file: Path) -> None:
    run = run_suite("--sign-key", str(key_file))
    manifest = (run.run_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    listed = [line.split("  ", 1)[1] for line in manifest.splitlines()]
    assert listed == run_files(run.run_dir)
    assert {"evidence.html", "evidence.json", "junit.xml"} <= set(listed)
    for line in manifest.splitlines():  # sha256sum format, recomputable by anyone
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((run.run_dir / rel).read_bytes()).hexdigest() == digest
    assert (run.run_dir / SIGNATURE_NAME).is_file()
    assert cli(["verify", str(run.run_dir), "--key", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert "OK: the evidence is unaltered" in out and "signature: valid" in out
    assert "signed (HMAC-SHA256" in run.html


def test_sha256sum_accepts_the_manifest(tmp_path: Path) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    tool = subprocess.run(["sha256sum", "-c", MANIFEST_NAME], cwd=run, capture_output=True, text=True, check=False)
    assert tool.returncode == 0, tool.stdout + tool.stderr


@pytest.mark.parametrize("target", ["evidence.html", "evidence.json", "sub/extra.txt", MANIFEST_NAME])
def test_verify_catches_a_one_byte_change(tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    assert cli(["verify", str(run)]) == 0
    _flip_one_byte(run / target)
    code = cli(["verify", str(run)])
    captured = capsys.readouterr()
    assert code != 0
    assert "FAILED" in captured.out or "error:" in captured.err


def test_verify_names_the_altered_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    _flip_one_byte(run / "evidence.json")
    assert cli(["verify", str(run)]) == 1
    assert "ALTERED: evidence.json" in capsys.readouterr().out


def test_verify_reports_added_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    (run / "sub" / "extra.txt").unlink()
    (run / "smuggled.html").write_text("x", encoding="utf-8")
    assert cli(["verify", str(run)]) == 1
    out = capsys.readouterr().out
    assert "MISSING: sub/extra.txt" in out and "ADDED: smuggled.html" in out


def test_signature_is_checked_with_the_key(tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run, key_file)
    assert cli(["verify", str(run), "--key", str(key_file)]) == 0
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(b"another key")
    assert cli(["verify", str(run), "--key", str(wrong)]) == 1
    assert "signature: INVALID" in capsys.readouterr().out
    # Rewriting the manifest to match tampered files does not help without the key.
    (run / "evidence.json").write_text('{"a": 2}', encoding="utf-8")
    write_manifest(run)
    (run / SIGNATURE_NAME).write_text("0" * 64 + "\n", encoding="utf-8")
    assert cli(["verify", str(run), "--key", str(key_file)]) == 1


def test_unsigned_run_with_key_fails(tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    assert cli(["verify", str(run), "--key", str(key_file)]) == 1
    assert "signature: MISSING" in capsys.readouterr().out


def test_verify_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["verify", str(tmp_path / "nope")]) == 2
    assert cli(["verify", str(tmp_path)]) == 1  # a directory without a manifest
    assert "no manifest" in capsys.readouterr().err
    run = _sample_run(tmp_path)
    (run / MANIFEST_NAME).write_text(f"{'0' * 64}  ../../etc/passwd\n", encoding="utf-8")
    assert cli(["verify", str(run)]) == 1
    assert "leaves the run directory" in capsys.readouterr().err


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    ok = subprocess.run([sys.executable, "-m", "compliance", "verify", str(run)], capture_output=True, text=True,
                        check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _flip_one_byte(run / "evidence.html")
    bad = subprocess.run([sys.executable, "-m", "compliance", "verify", str(run)], capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 1 and "ALTERED: evidence.html" in bad.stdout


def test_missing_sign_key_is_a_usage_error(pytester: pytest.Pytester) -> None:
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", "aws",
                                "--sign-key", str(pytester.path / "no.key"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "--sign-key" in errors[0] and "no such key file" in errors[0]
    assert not evidence.exists()
