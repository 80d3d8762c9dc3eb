"""Each check's row goes into evidence.html without pytest-html holding it: streamed, not kept.

pytest-html keeps every test's row (its extras, its cells, its log) until the session ends and then renders the
whole report in memory (`json.dumps` of all test data into one HTML attribute), so a check's detail HTML and its
finding.json link would cost memory in proportion to the number of chains. Instead, once pytest-html has made a
check's row, the row is written to a spool file in the run directory, already escaped as it would stand in the
report (its `json.dumps`, then the HTML attribute escaping of pytest-html's template); pytest-html keeps a short
placeholder string in its place. Once pytest-html has written evidence.html, the file is read in chunks and each
placeholder replaced with its row from the spool, into a temporary file that then replaces evidence.html: the
result is byte for byte what pytest-html would have written with the rows itself, and no row is held in memory
longer than its own substitution.

The rows are spooled as they are made rather than re-rendered from records.jsonl at the end: that file is written
with sorted keys, so a row re-made from it would not be the bytes pytest-html writes. A report that cannot be
completed is removed (`compliance.session.htmlreport`), so `python -m compliance verify` reports it missing; a run
killed between pytest-html's write and the substitution leaves placeholders and the spool, but no manifest.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from array import array
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from markupsafe import escape

SPOOL_NAME = "evidence-html.spool"
"""The escaped rows waiting for evidence.html (removed once the report is complete)."""
CHUNK_CHARS = 1 << 16
LONGEST_PLACEHOLDER = 256
"""More than any placeholder's length: the part of a chunk kept for the next one, so a split placeholder is found."""
QUOTE = "&#34;"
"""A JSON string's quote in the report: the template's autoescaping (markupsafe) writes `"` so."""


class StreamError(RuntimeError):
    """evidence.html holds a placeholder this run's spool cannot fill (names it)."""


def as_in_report(value: object) -> str:
    """`value` as it stands in evidence.html: pytest-html's `json.dumps` of its test data (default separators, ASCII
    escapes: a nested value is the same text as on its own) inside the `data-jsonblob` attribute, escaped by its
    template's autoescaping (markupsafe, character by character)."""
    return str(escape(json.dumps(value)))


class EvidenceSpool:
    """The run's escaped rows on disk, one after the other in arrival order; memory keeps where each one ends
    (8 bytes a row)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._nonce = secrets.token_hex(8)
        self._ends = array("q")
        self.pattern = re.compile(rf"{QUOTE}ECC{self._nonce}R(\d+)Z{QUOTE}")

    def row_placeholder(self, row: Mapping[str, object]) -> str:
        """Spool one of pytest-html's row dicts; the string to keep in its place in pytest-html's data (the row
        replaces it with its quotes: a string there, a JSON object in the report)."""
        piece = as_in_report(row).encode("utf-8")
        with self.path.open("ab") as out:
            out.write(piece)
            self._ends.append(out.tell())
        return f"ECC{self._nonce}R{len(self._ends) - 1}Z"

    def piece(self, match: re.Match[str]) -> str:
        """The spooled row for one placeholder found in the report."""
        index = int(match.group(1))
        if not 0 <= index < len(self._ends):
            raise StreamError(f"evidence.html: placeholder {index} was never spooled ({len(self._ends)} were)")
        start = self._ends[index - 1] if index else 0
        with self.path.open("rb") as spool:
            spool.seek(start)
            return spool.read(self._ends[index] - start).decode("utf-8")

    def fill(self, report: Path) -> int:
        """Replace every placeholder in `report` with its spooled row, atomically; returns how many were replaced."""
        temporary = report.with_name(report.name + ".tmp")
        try:
            with report.open(encoding="utf-8", newline="") as source, \
                    temporary.open("w", encoding="utf-8", newline="") as target:
                count = stream_replace(source, target, self.pattern, self.piece)
            os.replace(temporary, report)
        finally:
            temporary.unlink(missing_ok=True)
        return count

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        del self._ends[:]


def stream_replace(source: TextIO, target: TextIO, pattern: re.Pattern[str],
                   replacement: Callable[[re.Match[str]], str], *, chunk_chars: int = CHUNK_CHARS,
                   longest: int = LONGEST_PLACEHOLDER) -> int:
    """Copy `source` to `target`, each match of `pattern` replaced, reading `chunk_chars` at a time. A match must be
    shorter than `longest` characters (the terminating character included): the last `longest` characters of each
    chunk wait for the next, so a match split between two chunks is found whole. Replacements are written, never
    searched again. Returns the number of matches replaced."""
    tail = ""
    count = 0
    while True:
        chunk = source.read(chunk_chars)
        buffer = tail + chunk
        limit = len(buffer) if not chunk else len(buffer) - longest  # a match starting before it is whole
        written = 0
        for match in pattern.finditer(buffer):
            if match.start() >= limit:
                break
            target.write(buffer[written:match.start()])
            target.write(replacement(match))
            written = match.end()
            count += 1
        if not chunk:
            target.write(buffer[written:])
            return count
        keep = max(written, limit)
        target.write(buffer[written:keep])
        tail = buffer[keep:]
