"""evidence.pdf: the archival copy of the record, PDF/A-3b, rendered with WeasyPrint from evidence.json.

* Rendered on the server side from the evidence document (no JavaScript): the summary, then every check's
  evidence expanded, then the signature page.
* A print stylesheet: A4, nothing cut (fixed table layout, wrapping), "page X of Y", the run id, verdict and
  what-if state in each page's header, no interactive text and no `file://` footer.
* PDF/A-3 allows embedded files as "associated files" (ISO 19005-3); evidence.json (relationship Source)
  and the manifest of the run's other files (relationship Supplement) are embedded. The run's own
  MANIFEST.sha256 lists those same lines plus evidence.pdf itself, which the PDF cannot contain.

WeasyPrint: https://doc.courtbouillon.org/weasyprint/stable/api_reference.html (pdf_variant "pdf/a-3b",
attachments with a relationship); it needs Pango, which the base machine image provides.

The run renders the PDF in a child process (`python -m compliance.evidence.pdf RUN_DIR`, from the
evidence.json as written): WeasyPrint's native Pango bindings crash the interpreter when they are loaded a
second time in one process, which pytest's in-process test runs do, and a child keeps the renderer's memory
out of the test process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compliance.errors import ComplianceError
from compliance.evidence.html_base import badge, esc
from compliance.evidence.html_check import detail_html
from compliance.evidence.html_summary import summary_html
from compliance.evidence.record import Record
from compliance.evidence.style import CSS
from compliance.evidence.verdict import verdict_of

PDF_NAME = "evidence.pdf"
PDF_VARIANT = "pdf/a-3b"
JSON_NAME = "evidence.json"
MANIFEST_NAME = "MANIFEST.sha256"

PRINT_CSS = """
@page { size: A4; margin: 20mm 13mm 17mm 13mm;
  @top-left { font-size: 8.5pt; color: #334e68; width: 100%; }
  @bottom-left { content: "Export chain compliance evidence"; font-size: 8pt; color: #52606d; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; color: #52606d; } }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
body { max-width: none; padding: 0; margin: 0; font-size: 9pt; }
.ecc, .ecc-detail { font-size: 9pt; }
h1 { font-size: 15pt; margin: 0 0 6px; }
table { table-layout: fixed; width: 100%; }
.ecc-kv { width: 100%; }
.ecc-kv th { width: 28%; white-space: normal; }
th, td, code, .ecc-mono, .ecc-pre, p, li { overflow-wrap: anywhere; word-break: break-word; hyphens: manual; }
.ecc-pre { max-height: none; overflow: visible; white-space: pre-wrap; font-size: 7.5pt; }
.ecc-st { display: inline; white-space: normal; }
.ecc-matrix td.ecc-req { white-space: normal; }
details > summary { list-style: none; }
details > summary::marker, details > summary::-webkit-details-marker { content: ""; display: none; }
.ecc-check { break-before: auto; border-top: 2px solid #9aa5b1; margin-top: 14px; padding-top: 4px; }
.ecc-check h3 { font-size: 11pt; margin: 4px 0; }
.ecc-signature-page { break-before: page; }
.ecc-line { display: inline-block; width: 100%; border-bottom: 1px solid #1f2933; height: 14pt; }
.ecc-whatif { break-inside: avoid; }
"""


class EmbeddedError(ComplianceError):
    """evidence.pdf cannot be read or its embedded files cannot be listed."""


class PdfError(ComplianceError):
    """evidence.pdf could not be rendered; the message is one line."""


def running_header(document: Mapping[str, Any]) -> str:
    """The text in each page's header: run id, verdict, what-if state."""
    header = document.get("header") or {}
    state = "WHAT-IF: proposed changes, not the deployed system" if header.get("what_if") else "deployed system"
    return f"Run {header.get('run_id')} · {verdict_of(document).verdict.value} · {state}"


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_sections(document: Mapping[str, Any], findings: Sequence[Record]) -> str:
    snapshots: Mapping[str, Any] = document.get("snapshots") or {}
    parts: list[str] = []
    for record in findings:
        calls = (snapshots.get(str(record.chain)) or {}).get("api_calls") or []
        parts.append(f'<section class="ecc-check"><h3>{badge(record.status)} '
                     f'<span class="ecc-mono">{esc(record.check.id)}</span> [{esc(record.chain)}]</h3>'
                     f'<p class="ecc-finding">{esc(record.finding.message)}</p>{detail_html(record, calls)}</section>')
    return "".join(parts)


def print_html(document: Mapping[str, Any]) -> str:
    """The whole record as one printable HTML page (every `<details>` open)."""
    header = document.get("header") or {}
    title = f"Export chain compliance evidence, run {header.get('run_id')}"
    operator = (header.get("operator") or {}).get("name") or ""
    findings = [Record.from_json(r) for r in document.get("findings") or []]  # parsed once, used twice
    body = summary_html(document, findings, interactive=False) + _check_sections(document, findings)
    body = re.sub(r"<details(?![^>]*\bopen\b)", "<details open", body)
    page_top = f"@page {{ @top-left {{ content: {_css_string(running_header(document))}; }} }}"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><meta name=\"author\" content=\"{esc(operator)}\">"
            f"<meta name=\"dcterms.created\" content=\"{esc(header.get('finished'))}\">"
            f"<style>{CSS}{PRINT_CSS}{page_top}</style></head>"
            f"<body><h1>{esc(title)}</h1>{body}</body></html>")


def write_pdf(run_dir: Path, document: Mapping[str, Any], evidence_json: bytes, manifest: bytes) -> Path:
    """Render evidence.pdf (PDF/A-3b) with evidence.json and the manifest of the other files embedded."""
    from weasyprint import HTML, Attachment

    attachments = [
        Attachment(string=evidence_json, name=JSON_NAME, relationship="Source",
                   description="The machine-readable record this PDF was rendered from"),
        Attachment(string=manifest, name=MANIFEST_NAME, relationship="Supplement",
                   description="SHA-256 of the run's other files (sha256sum format)"),
    ]
    path = run_dir / PDF_NAME
    tmp = path.with_name(path.name + ".tmp")
    HTML(string=print_html(document), base_url=None).write_pdf(tmp, pdf_variant=PDF_VARIANT, attachments=attachments)
    tmp.replace(path)
    return path


def embedded_files(path: Path) -> dict[str, bytes]:
    """The files embedded in a PDF, by name (pypdf)."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:  # pragma: no cover - a dependency of the suite
        raise EmbeddedError(f"pypdf is not installed ({exc})") from None
    try:
        reader = PdfReader(path)
        found: dict[str, bytes] = {}
        for name, contents in reader.attachments.items():
            if len(contents) != 1:
                raise EmbeddedError(f"{name} is embedded {len(contents)} times")
            found[name] = contents[0]
    except (PyPdfError, OSError, ValueError, KeyError) as exc:
        raise EmbeddedError(f"cannot be read as a PDF ({type(exc).__name__})") from None
    return found


def render_in_child(run_dir: Path, timeout: float = 900) -> Path:
    """Render evidence.pdf in a child process from the run's evidence.json and the files written so far."""
    try:
        done = subprocess.run([sys.executable, "-m", "compliance.evidence.pdf", str(run_dir)], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PdfError(f"the renderer could not run ({type(exc).__name__})") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise PdfError(lines[-1] if lines else f"the renderer exited with status {done.returncode}")
    return run_dir / PDF_NAME


def main(argv: list[str]) -> int:
    """`python -m compliance.evidence.pdf RUN_DIR`: write RUN_DIR/evidence.pdf (used by the run itself)."""
    from compliance.evidence.manifest import manifest_body

    if len(argv) != 1:
        print("usage: python -m compliance.evidence.pdf RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(argv[0])
    evidence = (run_dir / JSON_NAME).read_bytes()
    write_pdf(run_dir, json.loads(evidence), evidence, manifest_body(run_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
