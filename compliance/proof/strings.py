"""Every class of strings a set of wildcard patterns can tell apart, with one shortest representative each.

A string's class is its *match vector*: which of the patterns it matches. The patterns are IAM wildcards
(``*`` any run, ``?`` one character; in ARN mode a wildcard in the first five colon-separated segments
never crosses a colon, exactly as :mod:`compliance.iam.matching` compiles them). The classes are found
exactly by a breadth-first walk over the product of the patterns' automata:

* each pattern is a small NFA over its tokens; a product state is the tuple of the patterns' position sets;
* characters that appear in no pattern behave alike, so the alphabet is the patterns' own characters (both
  cases where a pattern ignores case), the colon, and one *fresh* character standing for all the others;
* every reachable product state yields the match vector of the string that reached it, so the set of
  vectors seen is the set of non-empty classes, and the BFS path is a shortest representative.

The walk is bounded (``max_states``); past the bound it raises `ProofLimit`, which a check reports as ERROR.
Each representative is re-checked against the engine's own compiled patterns by the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from compliance.errors import ComplianceError

FRESH_CANDIDATES = "xqzjkvwyb0123456789"
MAX_STATES = 50_000


class ProofLimit(ComplianceError):
    """The request space is too large to decide within the configured bounds."""


@dataclass(frozen=True, slots=True)
class Glob:
    """One pattern. ``literal`` patterns treat ``*``/``?`` as plain characters (StringEquals, exact ARNs)."""

    text: str
    ignore_case: bool = False
    arn: bool = False
    literal: bool = False


# A token: (kind, char, in_prefix). kind: "c" char, "?" one, "*" any run.
Token = tuple[str, str, bool]


def _tokens(glob: Glob) -> tuple[Token, ...]:
    text = glob.text.lower() if glob.ignore_case else glob.text
    arn = glob.arn and text.startswith("arn:") and text.count(":") >= 5
    colons = 0
    out: list[Token] = []
    for char in text:
        in_prefix = arn and colons < 5
        if char == ":" and in_prefix:
            colons += 1
            out.append(("c", ":", False))
        elif not glob.literal and char == "*":
            out.append(("*", "", in_prefix))
        elif not glob.literal and char == "?":
            out.append(("?", "", in_prefix))
        else:
            out.append(("c", char, False))
    return tuple(out)


class _Nfa:
    def __init__(self, glob: Glob) -> None:
        self.tokens = _tokens(glob)
        self.ignore_case = glob.ignore_case
        self._steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def closure(self, positions: frozenset[int]) -> frozenset[int]:
        out = set(positions)
        stack = list(positions)
        while stack:
            position = stack.pop()
            if position < len(self.tokens) and self.tokens[position][0] == "*" and position + 1 not in out:
                out.add(position + 1)
                stack.append(position + 1)
        return frozenset(out)

    def step(self, positions: frozenset[int], char: str) -> frozenset[int]:
        known = self._steps.get((positions, char))
        if known is None:
            known = self._steps[(positions, char)] = self._step(positions, char)
        return known

    def _step(self, positions: frozenset[int], char: str) -> frozenset[int]:
        folded = char.lower() if self.ignore_case else char
        nxt: set[int] = set()
        for position in positions:
            if position >= len(self.tokens):
                continue
            kind, expected, in_prefix = self.tokens[position]
            if kind == "c":
                if expected == folded:
                    nxt.add(position + 1)
            elif kind == "?":
                if not (in_prefix and char == ":"):
                    nxt.add(position + 1)
            elif not (in_prefix and char == ":"):
                nxt.add(position)
        return self.closure(frozenset(nxt))

    def settled(self, positions: frozenset[int]) -> bool:
        """No further character can change whether this pattern matches (dead, or inside a final free ``*``)."""
        if not positions:
            return True
        last = len(self.tokens) - 1
        return last >= 0 and self.tokens[last][0] == "*" and not self.tokens[last][2] and positions == frozenset(
            {last, last + 1})

    def accepts(self, positions: frozenset[int]) -> bool:
        return len(self.tokens) in positions


def alphabet(globs: Sequence[Glob], extra: str = "") -> str:
    chars: set[str] = set(extra) | {":"}
    for glob in globs:
        for char in glob.text:
            if glob.literal or char not in "*?":
                chars.add(char)
                if glob.ignore_case:
                    chars.update({char.lower(), char.upper()})
    fresh = next((c for c in FRESH_CANDIDATES if c not in chars and c.upper() not in chars), "\u00e9")
    return fresh + "".join(sorted(chars))


def classes(globs: Sequence[Glob], *, required: Sequence[tuple[Glob, bool]] = (), prefix: str = "",
            max_states: int = MAX_STATES,
            goal: Callable[[tuple[bool, ...]], bool] | None = None) -> dict[tuple[bool, ...], str]:
    """See `_classes`; results without a goal are cached (the same patterns recur across principals)."""
    if goal is not None:
        return _classes(tuple(globs), tuple(required), prefix, max_states, goal)
    return dict(_cached_classes(tuple(globs), tuple(required), prefix, max_states))


@lru_cache(maxsize=1024)
def _cached_classes(globs: tuple[Glob, ...], required: tuple[tuple[Glob, bool], ...], prefix: str,
                    max_states: int) -> tuple[tuple[tuple[bool, ...], str], ...]:
    return tuple(_classes(globs, required, prefix, max_states, None).items())


def _classes(globs: Sequence[Glob], required: Sequence[tuple[Glob, bool]], prefix: str, max_states: int,
             goal: Callable[[tuple[bool, ...]], bool] | None) -> dict[tuple[bool, ...], str]:
    """Match vector → shortest representative, for every string (starting with ``prefix``) whose match
    vector over ``required`` equals the required truth values. Vectors are over ``globs`` only.

    With ``goal``, the walk stops at the first vector the goal accepts and returns only it (the caller has
    shown that this vector dominates every other); it raises `ProofLimit` when no such vector is found."""
    automata = [_Nfa(g) for g in (*globs, *(g for g, _ in required))]
    wanted = tuple(value for _, value in required)
    chars = alphabet([*globs, *(g for g, _ in required)], prefix)
    start = tuple(a.closure(frozenset({0})) for a in automata)
    for char in prefix:
        start = tuple(a.step(s, char) for a, s in zip(automata, start, strict=True))
    seen: dict[tuple[frozenset[int], ...], str] = {start: prefix}
    queue: deque[tuple[frozenset[int], ...]] = deque([start])
    found: dict[tuple[bool, ...], str] = {}
    count = len(globs)
    while queue:
        state = queue.popleft()
        text = seen[state]
        vector = tuple(a.accepts(s) for a, s in zip(automata, state, strict=True))
        if vector[count:] == wanted and vector[:count] not in found:
            if goal is not None:
                if goal(vector[:count]):
                    return {vector[:count]: text}
            else:
                found[vector[:count]] = text
        if all(a.settled(s) for a, s in zip(automata, state, strict=True)):
            continue
        for char in chars:
            nxt = tuple(a.step(s, char) for a, s in zip(automata, state, strict=True))
            if nxt in seen:
                continue
            seen[nxt] = text + char
            if len(seen) > max_states:
                raise ProofLimit(f"more than {max_states} string states for {len(automata)} patterns; the policies' "
                                 "wildcards are too many to decide exactly")
            queue.append(nxt)
    if goal is not None:
        raise ProofLimit(f"no string satisfies the preferred outcome of {len(globs)} patterns")
    return found
