"""Each check's evidence goes into evidence.html without pytest-html holding it: streamed, not kept.

pytest-html keeps every extra of every report until the session ends and then renders the whole report in memory
(`json.dumps` of all test data into one HTML attribute), so a check's detail HTML and its finding.json link would
cost memory in proportion to the number of chains. Instead, as each check's report arrives, its detail HTML and
its finding.json `data:` URI are written to a spool file in the run directory, already escaped as they would stand
in the report (JSON string escaping, then the HTML attribute escaping of pytest-html's template); the report gets
a short placeholder in their place. Once pytest-html has written evidence.html, the file is read in chunks and
each placeholder replaced with its text from the spool, into a temporary file that then replaces evidence.html:
the result is byte for byte what pytest-html would have written with the evidence itself, and no check's evidence
is held in memory longer than its own substitution.

The pieces are spooled as they arrive rather than re-rendered from records.jsonl at the end: that file is written
with sorted keys, so a finding.json re-made from it would not be the bytes pytest-html writes. A report that cannot
be completed is removed (`compliance.session.htmlreport`), so `python -m compliance verify` reports it missing; a
run killed between pytest-html's write and the substitution leaves placeholders and the spool, but no manifest.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from markupsafe import escape

SPOOL_NAME = "evidence-html.spool"
"""The escaped evidence pieces waiting for evidence.html (removed once the report is complete)."""
JSON_MIME = "application/json"
_URI_PREFIX = f"data:{JSON_MIME};charset=utf-8;base64,"
CHUNK_CHARS = 1 << 16
LONGEST_PLACEHOLDER = 256
"""More than any placeholder's length: the part of a chunk kept for the next one, so a split placeholder is found."""


class StreamError(RuntimeError):
    """evidence.html holds a placeholder this run's spool cannot fill (names it)."""


def json_data_uri(content: object) -> str:
    """pytest-html's self-contained finding.json link: its `json.dumps`, UTF-8, base64, in a `data:` URI."""
    data = base64.b64encode(json.dumps(content).encode("utf-8")).decode("ascii")
    return _URI_PREFIX + data


def as_in_report(text: str) -> str:
    """`text` as it stands in evidence.html: a JSON string (pytest-html's `json.dumps` of its test data, ASCII
    escapes included) inside the `data-jsonblob` attribute, escaped by its template's autoescaping (markupsafe)."""
    return str(escape(json.dumps(text)[1:-1]))


class EvidenceSpool:
    """The run's escaped evidence pieces on disk, one after the other in arrival order; memory keeps where each one
    ends (8 bytes a piece)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._nonce = secrets.token_hex(8)  # 16 characters: '"ECC' + nonce + 'J' is 21 bytes, see `_json_prefix`
        self._ends = array("q")
        self.pattern = re.compile(
            rf"ECC{self._nonce}P(\d+)Z|{re.escape(_URI_PREFIX + self._json_prefix())}([A-Za-z0-9+/]+=*)")

    def _json_prefix(self) -> str:
        """The base64 of '"ECC<nonce>J' (a whole number of 3-byte groups, so the rest encodes on its own)."""
        head = f'"ECC{self._nonce}J'.encode("ascii")
        assert len(head) % 3 == 0
        return base64.b64encode(head).decode("ascii")

    def _add(self, text: str) -> int:
        piece = as_in_report(text).encode("utf-8")
        with self.path.open("ab") as out:
            out.write(piece)
            self._ends.append(out.tell())
        return len(self._ends) - 1

    def html_placeholder(self, html: str) -> str:
        """Spool the detail HTML; the placeholder to give pytest-html as the HTML extra's content."""
        return f"ECC{self._nonce}P{self._add(html)}Z"

    def json_placeholder(self, content: object) -> str:
        """Spool the finding's `data:` URI; the placeholder to give pytest-html as the JSON extra's content (it
        becomes a `data:` URI of its own, which the substitution finds whole)."""
        return f"ECC{self._nonce}J{self._add(json_data_uri(content))}Z"

    def piece(self, match: re.Match[str]) -> str:
        """The spooled text for one placeholder found in the report."""
        if match.group(1) is not None:
            index = int(match.group(1))
        else:
            tail = _decoded(match.group(2), match.group(0))
            if not (tail.endswith('Z"') and tail[:-2].isdigit()):
                raise StreamError(f"evidence.html: {match.group(0)[:80]} is not a placeholder of this run")
            index = int(tail[:-2])
        if not 0 <= index < len(self._ends):
            raise StreamError(f"evidence.html: placeholder {index} was never spooled ({len(self._ends)} were)")
        start = self._ends[index - 1] if index else 0
        with self.path.open("rb") as spool:
            spool.seek(start)
            return spool.read(self._ends[index] - start).decode("utf-8")

    def fill(self, report: Path) -> int:
        """Replace every placeholder in `report` with its spooled text, atomically; returns how many were replaced."""
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


def _decoded(encoded: str, whole: str) -> str:
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise StreamError(f"evidence.html: {whole[:80]} is not a placeholder of this run") from None


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
