"""Each check's row goes into evidence.html without pytest-html holding it: streamed, not kept.

pytest-html keeps every test's rows (extras, cells, log) until the session ends and then renders the whole report
in memory (`json.dumps` of all test data into one HTML attribute, escaped by its template: about 25 times the
data's size at the peak), so both the rows and that render would cost memory in proportion to the number of
chains. Instead, once pytest-html has made a test's rows (at its teardown report), the test's entry of the tests
object (`"<node id>": [<rows>]`) is written to a spool file in the run directory, already escaped as it would stand
in the report (its `json.dumps`, then the HTML attribute escaping of pytest-html's template, both character by
character), and pytest-html forgets it. Right before pytest-html writes the report its whole tests object is
replaced by one placeholder string. Once pytest-html has written evidence.html, the file is read in chunks and the
placeholder replaced by the tests object streamed from the spool, into a temporary file that then replaces
evidence.html: the result is byte for byte what pytest-html would have written with the rows itself, and no test's
rows are held in memory longer than their own teardown.

The rows are spooled as they are made rather than re-rendered from records.jsonl at the end: that file is written
with sorted keys, so a row re-made from it would not be the bytes pytest-html writes. A report that cannot be
completed is removed (`compliance.session.htmlreport`), so `python -m compliance verify` reports it missing; a run
killed between pytest-html's write and the substitution leaves the placeholder and the spool, but no manifest.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    """The run's tests (node id and rows) on disk, escaped, in the order pytest-html made them; memory keeps where
    each one ends (8 bytes a test). In the report the whole tests object is one placeholder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._nonce = secrets.token_hex(8)
        self._ends = array("q")
        self._first = 0  # tests from this index on were spooled at the end but come first (see `close`)
        self._filled = False
        self._results: Callable[[], Iterable[str]] | None = None
        self.pattern = re.compile(rf"{QUOTE}ECC{self._nonce}T{QUOTE}|{self.results_marker_text()}")

    def results_marker_text(self) -> str:
        """The marker of the summary's Results table: an HTML comment, in the summary as pytest-html writes it."""
        return f"<!--ECC{self._nonce}S-->"

    def results_marker(self, table: Callable[[], Iterable[str]]) -> str:
        """The text to put in the summary in place of its Results table; `table` makes the table, a part at a time,
        when the report is completed."""
        self._results = table
        return self.results_marker_text()

    def add_test(self, nodeid: str, rows: Sequence[object]) -> None:
        """Spool one test's entry of pytest-html's tests object, `"<node id>": [<rows>]`, as it stands in the
        report."""
        piece = (as_in_report(nodeid) + ": " + as_in_report(rows)).encode("utf-8")
        with self.path.open("ab") as out:
            out.write(piece)
            self._ends.append(out.tell())

    def close(self, leftover: Mapping[str, Sequence[object]]) -> str:
        """Spool the tests pytest-html still holds when it is about to write the report, and return the string to
        put in place of its whole tests object. The ones left were made before any test finished (a collection
        error's row): they come first, as in pytest-html's own dict."""
        self._first = len(self._ends)
        for nodeid, rows in leftover.items():
            self.add_test(nodeid, rows)
        return f"ECC{self._nonce}T"

    def pieces(self, match: re.Match[str]) -> Iterator[str]:
        """What a placeholder found in the report stands for, a part at a time: the Results table, or the tests
        object one test at a time."""
        if match.group(0) == self.results_marker_text():
            table, self._results = self._results, None
            if table is None:
                raise StreamError("evidence.html: the Results table's marker appears twice, or was never given")
            yield from table()
            return
        if self._filled:
            raise StreamError("evidence.html: the tests placeholder appears twice")
        self._filled = True
        count = len(self._ends)
        yield "{"
        if count:  # no test: no spool file
            with self.path.open("rb") as spool:
                for position, index in enumerate([*range(self._first, count), *range(self._first)]):
                    start = self._ends[index - 1] if index else 0
                    spool.seek(start)
                    yield (", " if position else "") + spool.read(self._ends[index] - start).decode("utf-8")
        yield "}"

    def fill(self, report: Path) -> int:
        """Replace the placeholder in `report` with the spooled tests, atomically; returns how many placeholders
        were replaced (1, or 0 for a report without one)."""
        temporary = report.with_name(report.name + ".tmp")
        try:
            with report.open(encoding="utf-8", newline="") as source, \
                    temporary.open("w", encoding="utf-8", newline="") as target:
                count = stream_replace(source, target, self.pattern, self.pieces)
            os.replace(temporary, report)
        finally:
            temporary.unlink(missing_ok=True)
        return count

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        del self._ends[:]


def stream_replace(source: TextIO, target: TextIO, pattern: re.Pattern[str],
                   replacement: Callable[[re.Match[str]], Iterable[str]], *, chunk_chars: int = CHUNK_CHARS,
                   longest: int = LONGEST_PLACEHOLDER) -> int:
    """Copy `source` to `target`, each match of `pattern` replaced, reading `chunk_chars` at a time. A match must be
    shorter than `longest` characters (the terminating character included): the last `longest` characters of each
    chunk wait for the next, so a match split between two chunks is found whole. A replacement is written part by
    part as `replacement` yields it, never searched again. Returns the number of matches replaced."""
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
            for part in replacement(match):
                target.write(part)
            written = match.end()
            count += 1
        if not chunk:
            target.write(buffer[written:])
            return count
        keep = max(written, limit)
        target.write(buffer[written:keep])
        tail = buffer[keep:]
