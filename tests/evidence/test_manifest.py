"""MANIFEST.sha256 covers every file of the run; `python -m compliance verify` catches any change."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.__main__ import main as cli
from compliance.evidence.manifest import MANIFEST_NAME, REQUIRED_FILES, manifest_body, run_files, write_manifest

from .conftest import COMPLIANCE_DIR, Keys, RunSuite, SuiteRun


def _sample_run(tmp_path: Path) -> Path:
    """A small run directory with every file the record needs; its PDF embeds the JSON and the manifest so far."""
    from weasyprint import HTML, Attachment

    run = tmp_path / "20260101T000000Z"
    (run / "sub").mkdir(parents=True)
    (run / "evidence.html").write_text("<html>report</html>", encoding="utf-8")
    (run / "evidence.json").write_text('{"a": 1}', encoding="utf-8")
    (run / "junit.xml").write_text("<testsuites/>", encoding="utf-8")
    (run / "sub" / "extra.txt").write_bytes(b"\x00\x01binary")
    attachments = [Attachment(string=(run / "evidence.json").read_bytes(), name="evidence.json"),
                   Attachment(string=manifest_body(run), name=MANIFEST_NAME)]
    HTML(string="<p>record</p>").write_pdf(run / "evidence.pdf", pdf_variant="pdf/a-3b", attachments=attachments)
    return run


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_real_run_manifest_covers_every_file(signed_failing_run: SuiteRun) -> None:
    run_dir = signed_failing_run.run_dir
    manifest = (run_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    listed = [line.split("  ", 1)[1] for line in manifest.splitlines()]
    assert listed == run_files(run_dir) == sorted(REQUIRED_FILES)
    for line in manifest.splitlines():  # sha256sum format, recomputable by anyone
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((run_dir / rel).read_bytes()).hexdigest() == digest


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


def test_unsigned_run_verified_with_a_public_key_fails(tmp_path: Path, qa_keys: Keys,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    assert cli(["verify", str(run)]) == 0
    assert "signatures: none" in capsys.readouterr().out
    assert cli(["verify", str(run), "--public-key", str(qa_keys.public)]) == 1
    assert "no valid signature of this record was made with it" in capsys.readouterr().out


def test_verify_rejects_a_private_key_given_as_public(tmp_path: Path, qa_keys: Keys,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = _sample_run(tmp_path)
    write_manifest(run)
    assert cli(["verify", str(run), "--public-key", str(qa_keys.private)]) == 2
    assert "this is a private key" in capsys.readouterr().err


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
    assert len(errors) == 1 and "--sign-key" in errors[0] and "no such private key file" in errors[0]
    assert not evidence.exists()


def test_a_pdf_that_cannot_be_written_leaves_an_incomplete_but_hashed_record(
        run_suite: RunSuite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import compliance.evidence.pdf as pdf

    def broken(*_: object, **__: object) -> None:
        raise pdf.PdfError("OSError: cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(pdf, "render_in_child", broken)
    run = run_suite()
    assert "evidence.pdf could not be written" in "\n".join(run.result.errlines + run.result.outlines)
    assert (run.run_dir / MANIFEST_NAME).is_file() and not (run.run_dir / "evidence.pdf").exists()
    assert not list(run.run_dir.glob("*.tmp"))
    assert cli(["verify", str(run.run_dir)]) == 1
    assert "evidence.pdf: the record needs this file" in capsys.readouterr().out
