"""evidence.pdf: PDF/A-3b, the run files embedded, every check expanded, nothing cut, no screen leftovers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from compliance.evidence.manifest import MANIFEST_NAME
from compliance.evidence.pdf import embedded_files, print_html

from .conftest import ROLE_ARN_CHECK, SuiteRun

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # kept by CI as a test artifact


@pytest.fixture(scope="module")
def reader(signed_failing_run: SuiteRun) -> PdfReader:
    return PdfReader(signed_failing_run.run_dir / "evidence.pdf")


@pytest.fixture(scope="module")
def pages(reader: PdfReader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


def _flat(text: str) -> str:
    """Text without white space, so a value wrapped over two lines is still found."""
    return re.sub(r"\s+", "", text)


def test_pdf_a_3b_identification_in_xmp(reader: PdfReader) -> None:
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(="|>)3', raw), raw
    assert re.search(r'pdfaid:conformance(="|>)B', raw), raw
    root = reader.trailer["/Root"].get_object()
    assert isinstance(root, dict)
    assert "/OutputIntents" in root and "/AF" in root  # PDF/A output intent; associated files


def test_embedded_files_equal_the_run_files(signed_failing_run: SuiteRun) -> None:
    run_dir = signed_failing_run.run_dir
    embedded = embedded_files(run_dir / "evidence.pdf")
    assert set(embedded) == {"evidence.json", MANIFEST_NAME}
    assert embedded["evidence.json"] == (run_dir / "evidence.json").read_bytes()
    inner = embedded[MANIFEST_NAME].decode("utf-8").splitlines()
    outer = (run_dir / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()
    assert set(inner) <= set(outer)
    extra = set(outer) - set(inner)  # the PDF cannot hold its own hash: the run's manifest adds exactly that line
    assert [line.split("  ", 1)[1] for line in extra] == ["evidence.pdf"]


def test_failing_check_evidence_is_in_the_text(pages: list[str], signed_failing_run: SuiteRun) -> None:
    text = _flat("\n".join(pages))
    finding = next(r for r in signed_failing_run.evidence["findings"] if r["check"]["id"] == ROLE_ARN_CHECK)
    assert finding["finding"]["status"] == "FAIL"
    assert _flat(finding["finding"]["message"]) in text
    assert _flat("arn:aws:iam::111122223333:role/exports/QualioExportRole") in text
    for item in finding["finding"]["evidence"]:
        assert _flat(item["label"]) in text


def test_every_check_is_expanded_passes_included(pages: list[str], signed_failing_run: SuiteRun) -> None:
    text = "\n".join(pages)
    findings = signed_failing_run.evidence["findings"]
    assert text.count("Why it matters") == len(findings)
    passing = [r for r in findings if r["finding"]["status"] == "PASS"]
    assert passing
    for record in passing:
        for item in record["finding"]["evidence"]:
            assert _flat(item["label"]) in _flat(text), (record["check"]["id"], item["label"])


def test_page_headers_and_footers(pages: list[str], signed_failing_run: SuiteRun) -> None:
    run_id = signed_failing_run.run_dir.name
    total = len(pages)
    for number, text in enumerate(pages, 1):
        assert f"Run {run_id} · NOT MET · deployed system" in text, number
        assert f"page {number} of {total}" in text, number
        assert "file://" not in text
    everything = "\n".join(pages)
    for screen_only in ("Click a row", "(Un)check", "Show all details", "No log output captured"):
        assert screen_only not in everything


def test_signature_page(pages: list[str], signed_failing_run: SuiteRun) -> None:
    page = next(p for p in pages if "Signatures" in p and "Printed name" in p)
    signature = signed_failing_run.evidence["header"]["signature"]
    flat = _flat(page)
    assert _flat("Dana Smith, QA Lead") in flat and "executed" in page
    assert _flat(signature["key_fingerprint"]) in flat
    assert "reviewed" in page and "approved" in page and "§11.50" in page


def test_attribution_is_printed(pages: list[str], signed_failing_run: SuiteRun) -> None:
    header = signed_failing_run.evidence["header"]
    text = _flat("\n".join(pages[:4]))
    assert _flat("Dana Smith (from --operator)") in text
    assert _flat(header["suite_code_sha256"]) in text and _flat(str(header["host"])) in text


def _overflowing_boxes(document: dict[str, Any]) -> list[tuple[int, str, str]]:
    from weasyprint import HTML

    rendered = HTML(string=print_html(document)).render()
    out: list[tuple[int, str, str]] = []
    for number, page in enumerate(rendered.pages, 1):
        for box in page._page_box.descendants():
            if type(box).__name__ == "PageBox" or getattr(box, "width", None) is None:
                continue
            if box.position_x + box.margin_width() > page.width + 0.5:
                out.append((number, type(box).__name__, str(getattr(box, "text", ""))[:60]))
    return out


def test_no_content_is_cut_on_the_right(signed_failing_run: SuiteRun) -> None:
    assert _overflowing_boxes(signed_failing_run.evidence) == []


def test_first_page_rendered_to_png_as_artifact(signed_failing_run: SuiteRun) -> None:
    tool = shutil.which("pdftoppm")
    if tool is None:
        pytest.skip("pdftoppm is not installed: the PNG artifact is skipped (the PDF itself is tested above)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS / "evidence-page1"
    subprocess.run([tool, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(signed_failing_run.run_dir / "evidence.pdf"), str(stem)], check=True)
    png = stem.with_suffix(".png")
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
