"""The streamed evidence: placeholders found across chunk boundaries, and the text that replaces them escaped exactly
as pytest-html's own `json.dumps` and template autoescaping would have written it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from jinja2 import Environment, select_autoescape
from pytest_html.selfcontained_report import SelfContainedReport

from compliance.evidence.html_stream import EvidenceSpool, StreamError, as_in_report, json_data_uri, stream_replace

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


@pytest.mark.parametrize("text", AWKWARD)
def test_escaping_matches_pytest_html_byte_for_byte(text: str) -> None:
    assert _as_pytest_html_writes({"content": text}) == _as_pytest_html_writes({"content": "X"}).replace(
        "X", as_in_report(text))


def test_the_finding_link_is_pytest_html_s_data_uri() -> None:
    assert json_data_uri(FINDING) == _pytest_html_data_uri(FINDING)


def _spooled_report(spool: EvidenceSpool, pieces: list[tuple[str, object]]) -> tuple[str, str]:
    """A report with placeholders (as pytest-html would write it with them) and the same report with the pieces."""
    with_placeholders: list[dict[str, str]] = []
    with_pieces: list[dict[str, str]] = []
    for kind, content in pieces:
        if kind == "html":
            assert isinstance(content, str)
            with_placeholders.append({"content": spool.html_placeholder(content), "link": "<a>"})
            with_pieces.append({"content": content, "link": "<a>"})
        else:
            uri = _pytest_html_data_uri(spool.json_placeholder(content))
            with_placeholders.append({"content": uri, "link": f'<a href="{uri}">finding.json</a>'})
            real = _pytest_html_data_uri(content)
            with_pieces.append({"content": real, "link": f'<a href="{real}">finding.json</a>'})
    return _as_pytest_html_writes(with_placeholders), _as_pytest_html_writes(with_pieces)


PIECES: list[tuple[str, object]] = [*(("html", text) for text in AWKWARD), ("json", FINDING),
                                    ("html", "<b>" * 400), ("json", {"n": list(range(300))}), ("json", AWKWARD)]


@pytest.mark.parametrize("chunk_chars", [1, 2, 3, 7, 31, 64, 257, 1 << 16])
def test_placeholders_split_across_chunks_are_replaced(tmp_path: Path, chunk_chars: int) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, PIECES)
    assert len(spool.pattern.findall(placeholders)) == 2 * len(PIECES) - len(AWKWARD) - 1  # a link repeats a URI
    out = io.StringIO()
    count = stream_replace(io.StringIO(placeholders), out, spool.pattern, spool.piece, chunk_chars=chunk_chars)
    assert out.getvalue() == expected
    assert count == len(spool.pattern.findall(placeholders))


def test_every_chunk_offset_of_one_placeholder(tmp_path: Path) -> None:
    """A placeholder starting at each offset of a chunk, and ending at each: found whole, never half."""
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, [("json", FINDING), ("html", "</script>&\"'é")])
    for padding in range(0, 70):
        out = io.StringIO()
        stream_replace(io.StringIO("x" * padding + placeholders), out, spool.pattern, spool.piece, chunk_chars=64)
        assert out.getvalue() == "x" * padding + expected


def test_fill_replaces_the_file_and_keeps_no_placeholder(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    placeholders, expected = _spooled_report(spool, PIECES)
    report = tmp_path / "evidence.html"
    report.write_text(placeholders, encoding="utf-8")
    assert spool.fill(report) > 0
    assert report.read_bytes() == expected.encode("utf-8")
    assert not spool.pattern.search(report.read_text(encoding="utf-8"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence.html", "spool"], "no temporary file left"
    spool.remove()
    assert not (tmp_path / "spool").exists()


def test_other_text_is_left_alone(tmp_path: Path) -> None:
    """Another run's placeholders and look-alikes are not this run's: copied as they are."""
    spool = EvidenceSpool(tmp_path / "spool")
    other = EvidenceSpool(tmp_path / "other")
    text = f"ECC0P1Z {other.html_placeholder('x')} {_pytest_html_data_uri(other.json_placeholder({}))} ECCPZ"
    out = io.StringIO()
    assert stream_replace(io.StringIO(text), out, spool.pattern, spool.piece) == 0
    assert out.getvalue() == text


def test_a_placeholder_never_spooled_is_an_error_and_the_report_is_kept(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "spool")
    token = spool.html_placeholder("<p>one</p>")
    report = tmp_path / "evidence.html"
    report.write_text(f"a {token} b {re.sub(r'P0Z$', 'P7Z', token)} c", encoding="utf-8")
    before = report.read_bytes()
    with pytest.raises(StreamError, match="placeholder 7 was never spooled"):
        spool.fill(report)
    assert report.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["evidence.html", "spool"]
