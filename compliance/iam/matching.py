"""Wildcard matching for actions, resources and ARNs, compiled once and cached.

Action patterns match case-insensitively; resources and ARNs case-sensitively. In ARNs
"each of the six colon-delimited components of the ARN is checked separately" (IAM User
Guide, ARN condition operators): a wildcard in the first five segments never crosses a
colon, while the resource part after the fifth colon is free text that may contain colons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

Piece = tuple[str, bool]
"""A piece of a pattern: its text, and whether ``*`` and ``?`` in it are wildcards."""


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _translate(pieces: Sequence[Piece], *, arn: bool) -> str:
    """Regex source for ``pieces``; with ``arn`` the first five colons are hard separators."""
    out: list[str] = []
    colons = 0
    for text, is_pattern in pieces:
        for char in text:
            in_prefix = arn and colons < 5
            if char == ":" and in_prefix:
                colons += 1
                out.append(":")
            elif is_pattern and char == "*":
                out.append("[^:]*" if in_prefix else ".*")
            elif is_pattern and char == "?":
                out.append("[^:]" if in_prefix else ".")
            else:
                out.append(re.escape(char))
    return "".join(out)


def _is_arn_shaped(pieces: Sequence[Piece]) -> bool:
    text = "".join(text for text, _ in pieces)
    return text.startswith("arn:") and text.count(":") >= 5


@lru_cache(maxsize=8192)
def compile_pieces(pieces: tuple[Piece, ...], *, arn: bool) -> re.Pattern[str]:
    """Compile a (possibly variable-substituted) pattern; ``arn`` enables segment-wise matching."""
    return re.compile(_translate(pieces, arn=arn and _is_arn_shaped(pieces)), re.DOTALL)


@lru_cache(maxsize=8192)
def compile_wildcard(pattern: str, *, arn: bool = False) -> re.Pattern[str]:
    return compile_pieces(((pattern, True),), arn=arn)


def wildcard_match(pattern: str, value: str, *, arn: bool = False, ignore_case: bool = False) -> bool:
    """One-off match of ``value`` against ``pattern`` (``*`` any run, ``?`` one character)."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if pattern == "*":
        return True
    if not has_wildcard(pattern):
        return pattern == value
    return compile_wildcard(pattern, arn=arn).fullmatch(value) is not None


class PatternSet:
    """A compiled OR of wildcard patterns: an exact-value set plus one alternation regex."""

    __slots__ = ("exact", "ignore_case", "matches_everything", "regex")

    def __init__(self, patterns: Iterable[str], *, arn: bool, ignore_case: bool) -> None:
        self.ignore_case = ignore_case
        exact: set[str] = set()
        sources: list[str] = []
        everything = False
        for pattern in patterns:
            folded = pattern.lower() if ignore_case else pattern
            if folded == "*":
                everything = True
            elif has_wildcard(folded):
                sources.append(compile_wildcard(folded, arn=arn).pattern)
            else:
                exact.add(folded)
        self.matches_everything = everything
        self.exact = frozenset(exact)
        self.regex = re.compile("|".join(f"(?:{s})" for s in sources), re.DOTALL) if sources else None

    def matches(self, value: str) -> bool:
        """``value`` must already be lower-cased when the set ignores case."""
        if self.matches_everything or value in self.exact:
            return True
        return self.regex is not None and self.regex.fullmatch(value) is not None


__all__ = [
    "PatternSet",
    "Piece",
    "compile_pieces",
    "compile_wildcard",
    "has_wildcard",
    "wildcard_match",
]
