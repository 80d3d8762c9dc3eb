"""How deep a JSON or TOML text nests, counted on the raw text before any recursive parser sees it.

A leaf module (no imports from the suite), so the policy evaluator's case files, the chain config, the deployment
file and `--proposed` documents share one limit without the evaluator depending on the config layer.
"""

from __future__ import annotations

from enum import StrEnum

MAX_NESTING = 64
"""Deepest nesting of tables and arrays accepted in a config, deployment, proposed or case file (the reference
uses 8)."""


class Syntax(StrEnum):
    JSON = "JSON"
    TOML = "TOML"


def nests_too_deep(text: str, syntax: Syntax) -> bool:
    """True when `text` nests arrays/objects/tables deeper than MAX_NESTING (brackets outside strings and, in
    TOML, outside comments). A file nested 50,000 deep would otherwise end in a RecursionError traceback."""
    depth = 0
    quote = ""
    escaped = False
    comment = False
    toml = syntax is Syntax.TOML
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char == "#" and toml:
            comment = True
        elif (char == "'" and toml) or char == '"':
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif char in "]}":
            depth = max(0, depth - 1)
    return False
