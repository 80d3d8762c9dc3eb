"""Policy variables: ``${aws:username}``, defaults and the ``${*}``/``${?}``/``${$}`` literals.

From the IAM User Guide, "IAM policy elements: Variables and tags":

* "Variables were introduced in version 2012-10-17 ... If you don't include the Version element
  and set it to an appropriate version date, variables like ${aws:username} are treated as
  literal strings in the policy." (callers only build templates for 2012-10-17 policies)
* "To add a default value to a variable, surround the default value with single quotes (' '),
  and separate the variable text and the default value with a comma and space (, )",
  e.g. ``${aws:userid, 'anonymous'}``.
* ``${*}``, ``${?}`` and ``${$}`` stand for a literal asterisk, question mark and dollar sign.
* "You can use any available single-valued context key as a policy variable. You can't use a
  multivalued context key" — such a key, like a missing key without a default, leaves the
  variable unresolved and the policy value then matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from compliance.iam.matching import Piece

ContextValue = str | tuple[str, ...]

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_BODY = re.compile(r"\s*([^\s,']+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?")
_LITERALS = frozenset({"*", "?", "$"})


@dataclass(frozen=True, slots=True)
class Variable:
    """``${key}`` or ``${key, 'default'}``; ``key`` is lower-case because key names are case-insensitive."""

    key: str
    default: str | None


@dataclass(frozen=True, slots=True)
class Literal:
    """``${*}``, ``${?}`` or ``${$}``: a character that must not act as a wildcard."""

    text: str


Segment = str | Variable | Literal


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string split into policy text (wildcards live) and variable references."""

    segments: tuple[Segment, ...]

    @property
    def has_references(self) -> bool:
        return any(not isinstance(segment, str) for segment in self.segments)

    def resolve(self, context: Mapping[str, ContextValue]) -> tuple[Piece, ...] | None:
        """Substitute from ``context`` (lower-case keys); None when a variable has no value."""
        pieces: list[Piece] = []
        for segment in self.segments:
            if isinstance(segment, str):
                pieces.append((segment, True))
            elif isinstance(segment, Literal):
                pieces.append((segment.text, False))
            else:
                value = context.get(segment.key)
                if isinstance(value, str):
                    pieces.append((value, False))
                elif segment.default is not None:
                    pieces.append((segment.default, False))
                else:
                    return None
        return tuple(pieces)


def parse_template(text: str) -> Template:
    """Split ``text`` at ``${...}`` references; malformed references stay literal text."""
    segments: list[Segment] = []
    position = 0
    for match in _REFERENCE.finditer(text):
        reference = _reference(match.group(1))
        if reference is None:
            continue
        if match.start() > position:
            segments.append(text[position : match.start()])
        segments.append(reference)
        position = match.end()
    if position < len(text):
        segments.append(text[position:])
    return Template(tuple(segments))


def _reference(body: str) -> Variable | Literal | None:
    if body in _LITERALS:
        return Literal(body)
    match = _BODY.fullmatch(body)
    if match is None:
        return None
    default = match.group(2)
    return Variable(match.group(1).lower(), None if default is None else default.replace("''", "'"))


def static_pieces(text: str) -> tuple[Piece, ...]:
    """Pieces for a string in which ``${...}`` has no meaning (Version 2008-10-17 or absent)."""
    return ((text, True),)
