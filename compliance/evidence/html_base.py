"""Small HTML building blocks shared by the report's sections: escaping, status badges, tables, JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from compliance.model import Status

# How each status reads to someone who is not a cloud expert. None of the non-PASS labels reads as a pass.
LABELS: dict[Status, str] = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR: could not verify",
    Status.NOT_SUPPORTED: "NOT SUPPORTED BY TARGET: not verified",
    Status.NOT_APPLICABLE: "NOT APPLICABLE",
    Status.NOT_RUN: "NOT RUN",
    Status.NOT_COVERED: "NOT COVERED BY THIS SUITE",
}
_CLASSES: dict[Status, str] = {
    Status.PASS: "pass",
    Status.FAIL: "fail",
    Status.ERROR: "error",
    Status.NOT_SUPPORTED: "unsupported",
    Status.NOT_APPLICABLE: "na",
    Status.NOT_RUN: "notrun",
    Status.NOT_COVERED: "uncovered",
}


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def badge(status: Status) -> str:
    return f'<span class="ecc-st ecc-st-{_CLASSES[status]}">{esc(LABELS[status])}</span>'


def kv_table(rows: Iterable[tuple[str, str]], css: str = "ecc-kv") -> str:
    """Two-column key/value table. Values are HTML (escape them before)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{css}">{body}</table>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "ecc-table") -> str:
    """A table with escaped headers; cells are HTML (escape them before)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(table_row(row) for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def table_row(cells: Sequence[str]) -> str:
    """One row of `table` (cells are HTML)."""
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def pre_json(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return f'<pre class="ecc-pre">{esc(text)}</pre>'


def diff_block(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        css = ("ecc-add" if line.startswith("+") and not line.startswith("+++")
               else "ecc-del" if line.startswith("-") and not line.startswith("---")
               else "ecc-hunk" if line.startswith("@@") else "")
        lines.append(f'<span class="{css}">{esc(line)}</span>' if css else esc(line))
    return '<pre class="ecc-pre ecc-diff">' + "\n".join(lines) + "</pre>"
