"""The streamed rows: the tests placeholder found across chunk boundaries, and the tests object that replaces it
escaped exactly as pytest-html's own `json.dumps` and template autoescaping would have written it in the whole
data."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, select_autoescape
from pytest_html.selfcontained_report import SelfContainedReport

from compliance.evidence.html_stream import EvidenceSpool, StreamError, as_in_report, stream_replace

AWKWARD = ['<td class="x">a & b</td>', "it's \"quoted\"", "naïve → ☃ 😀 \u2028", "</script><script>alert(1)</script>",
           "back\\slash\nnew line\ttab", "&amp; already &lt;escaped&gt;", ""]
FINDING = {"check": {"id": "x_check"}, "finding": {"status": "PASS", "message": "Bucket «b» & <key> \"k\" 😀"},
           "chain": "qualio"}


def _as_pytest_html_writes(data: object) -> str:
    """pytest-html's report body: `json.dumps` of its test data into `data-jsonblob="{{ test_data }}"` of a template
    autoescaped like its own (`select_autoescape(enabled_extensions=("jinja2",))` for index.jinja2)."""
    environment = Environment(autoescape=select_autoescape(enabled_extensions=("jinja2",), default_for_string=True))
    template = environment.from_string('<div id="data-container" data-jsonblob="{{ test_data }}"></div>\n')
    return template.render(test_data=json.dumps(data))


def _pytest_html_data_uri(content: object) -> str:
    """What pytest-html's self-contained report makes of a JSON extra (its own code, not ours)."""
    uri: str = SelfContainedReport._data_content(None, json.dumps(content), mime_type="application/json")
    return uri


def _row(content: str, finding: object = FINDING) -> dict[str, Any]:
    """A row as pytest-html makes it: extras (the detail HTML, finding.json's data: URI), cells, sortable columns,
    log."""
    uri = _pytest_html_data_uri(finding)
    link = f'<a target="_blank" href="{uri}" class="col-links__extra json">finding.json</a>'
    return {"extras": [{"name": None, "format_type": "html", "content": content, "mime_type": None,
                        "extension": None},
                       {"name": "finding.json", "format_type": "json", "content": uri,
                        "mime_type": "application/json", "extension": "json"}],
            "status": f"<span>{content}</span>", "duration": 0.25, "flaky": None, "n": [1, -2, 3e-7, True],
            "resultsTableRow": [f"<td>{content}</td>", f'<td class="col-links">{link}</td>'], "log": content}


ROWS = [*(_row(text) for text in AWKWARD), _row("<b>" * 400, {"n": list(range(300))}), _row("x", AWKWARD)]


@pytest.mark.parametrize("row", ROWS[:len(AWKWARD)])
def test_a_row_is_escaped_as_in_pytest_html_s_whole_data(row: dict[str, Any]) -> None:
    """Quotes, <, &, non-ASCII, line separators, an already escaped entity: the spooled text is the row's own bytes
    in pytest-html's report (nested `json.dumps` is the same text as the row's own; autoescaping is per character)."""
    whole = {"environment": {"k": "v"}, "tests": {"t.py::a": [row, row]}, "title": "x"}
    placeholders = {"environment": {"k": "v"}, "tests": {"t.py::a": ["R", "R"]}, "title": "x"}
    assert _as_pytest_html_writes(whole) == _as_pytest_html_writes(placeholders).replace(
        "&#34;R&#34;", as_in_report(row))


def test_a_row_keeps_the_data_uri_pytest_html_made() -> None:
    assert _pytest_html_data_uri(FINDING) in html.unescape(as_in_report(_row("x")))


def _spooled_report(spool: EvidenceSpool, rows: list[dict[str, Any]],
                    leftover: int = 0) -> tuple[str, str]:
    """A report with the placeholder (as pytest-html writes it once the tests are spooled) and the same report as
    pytest-html writes it with the tests. The first `leftover` tests are still in pytest-html's dict when it writes
    (made before any test finished)."""
    tests = {f"t.py::test_{i}": [row] for i, row in enumerate(rows)}
    names = list(tests)
    for name in names[leftover:]:
        spool.add_test(name, tests[name])
    placeholder = spool.close({name: tests[name] for name in names[:leftover]})
    return (_as_pytest_html_writes({"tests": placeholder, "title": "ECC"}),
            _as_pytest_html_writes({"tests": tests, "title": "ECC"}))


@pytest.mark.parametrize("chunk_chars", [1, 2, 3, 7, 31, 64, 257, 1 << 16])
def test_the_placeholder_split_across_chunks_is_replaced(tmp_path: Path, chunk_chars: int) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, ROWS)
    assert len(spool.pattern.findall(placeholders)) == 1
    out = io.StringIO()
    count = stream_replace(io.StringIO(placeholders), out, spool.pattern, spool.pieces, chunk_chars=chunk_chars)
    assert out.getvalue() == expected
    assert count == 1


@pytest.mark.parametrize("leftover", [0, 1, 3, len(ROWS)])
def test_tests_still_held_at_the_end_come_first_as_in_pytest_html_s_dict(tmp_path: Path, leftover: int) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, ROWS, leftover)
    out = io.StringIO()
    stream_replace(io.StringIO(placeholders), out, spool.pattern, spool.pieces)
    assert out.getvalue() == expected


def test_no_tests_is_an_empty_object(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, [])
    out = io.StringIO()
    stream_replace(io.StringIO(placeholders), out, spool.pattern, spool.pieces)
    assert out.getvalue() == expected and "{}" in expected


def test_every_chunk_offset_of_the_placeholder(tmp_path: Path) -> None:
    """The placeholder starting at each offset of a chunk, and ending at each: found whole, never half."""
    for padding in range(0, 70):
        spool = EvidenceSpool(tmp_path / f"spool-{padding}")
        placeholders, expected = _spooled_report(spool, [_row("</script>&\"'é")])
        out = io.StringIO()
        stream_replace(io.StringIO("x" * padding + placeholders), out, spool.pattern, spool.pieces, chunk_chars=64)
        assert out.getvalue() == "x" * padding + expected


def test_fill_replaces_the_file_and_keeps_no_placeholder(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, ROWS)
    report = tmp_path / "evidence.html"
    report.write_text(placeholders, encoding="utf-8")
    assert spool.fill(report) == 1
    assert report.read_bytes() == expected.encode("utf-8")
    assert not spool.pattern.search(report.read_text(encoding="utf-8"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence.html", "spool"], "no temporary file left"
    spool.remove()
    assert not (tmp_path / "spool").exists()


def test_other_text_is_left_alone(tmp_path: Path) -> None:
    """Another run's placeholder and look-alikes are not this run's: copied as they are."""
    spool = EvidenceSpool(tmp_path / "spool")
    other = EvidenceSpool(tmp_path / "other")
    token = other.close({})
    text = f"&#34;{token}&#34; {token} &#34;ECC0T&#34; &#34;ECCT&#34; {_as_pytest_html_writes([token])}"
    out = io.StringIO()
    assert stream_replace(io.StringIO(text), out, spool.pattern, spool.pieces) == 0
    assert out.getvalue() == text


def test_the_placeholder_twice_is_an_error_and_the_report_is_kept(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    spool.add_test("t.py::a", [_row("<p>one</p>")])
    token = spool.close({})
    report = tmp_path / "evidence.html"
    report.write_text(f"a &#34;{token}&#34; b &#34;{token}&#34; c", encoding="utf-8")
    before = report.read_bytes()
    with pytest.raises(StreamError, match="appears twice"):
        spool.fill(report)
    assert report.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["evidence.html", "spool"]


def test_the_results_marker_is_replaced_by_the_table_a_part_at_a_time(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    made: list[str] = []

    def table() -> Iterator[str]:
        for part in ("<table>", "<tr><td>a &amp; b</td></tr>", "</table>"):
            made.append(part)
            yield part

    marker = spool.results_marker(table)
    placeholders, expected = _spooled_report(spool, ROWS[:2])
    text = f"<h2>Results</h2>{marker}<h2>Next</h2>" + placeholders
    out = io.StringIO()
    assert stream_replace(io.StringIO(text), out, spool.pattern, spool.pieces, chunk_chars=7) == 2
    assert out.getvalue() == "<h2>Results</h2><table><tr><td>a &amp; b</td></tr></table><h2>Next</h2>" + expected
    assert len(made) == 3
    with pytest.raises(StreamError, match="Results table's marker appears twice"):
        stream_replace(io.StringIO(marker), io.StringIO(), spool.pattern, spool.pieces)
