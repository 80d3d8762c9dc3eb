"""Each chain's snapshot (as JSON) on disk as it arrives: `snapshots.jsonl` in the run directory, one per line.

A snapshot is every read the checks of one chain were judged on, with its API calls: tens of kilobytes a chain.
The controlling process keeps only where each line starts, and the last few snapshots it read (the checks of a
chain arrive together, one chain per xdist worker at a time), so memory stays flat however many chains a run
holds. evidence.json streams the snapshots back one at a time (`compliance.evidence.document`). The file is
removed once evidence.json is written; a run that dies before that leaves it beside records.jsonl.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

SNAPSHOTS_NAME = "snapshots.jsonl"
RECENT = 4
"""Snapshots kept in memory: the chains whose checks are arriving (one per xdist worker), and a little more."""


class SnapshotStore(MutableMapping[str, Any]):
    """Chain id → snapshot JSON, on disk; a chain's snapshot is stored once (a later one for the same chain
    replaces it, as a dict entry would)."""

    def __init__(self, path: Path, recent: int = RECENT) -> None:
        self.path = path
        self._offsets: dict[str, int] = {}
        self._recent: OrderedDict[str, Any] = OrderedDict()
        self._keep = recent

    def __setitem__(self, chain: str, snapshot: Any) -> None:
        line = (json.dumps([chain, snapshot], default=str) + "\n").encode("utf-8")
        with self.path.open("ab") as out:
            self._offsets[chain] = out.tell()
            out.write(line)
        self._remember(chain, json.loads(line))

    def _remember(self, chain: str, entry: Any) -> Any:
        self._recent[chain] = entry[1]
        self._recent.move_to_end(chain)
        while len(self._recent) > self._keep:
            self._recent.popitem(last=False)
        return entry

    def __getitem__(self, chain: str) -> Any:
        if chain in self._recent:
            self._recent.move_to_end(chain)
            return self._recent[chain]
        offset = self._offsets[chain]  # KeyError for an unknown chain, as a dict
        with self.path.open("rb") as source:
            source.seek(offset)
            stored, snapshot = json.loads(source.readline())
        if stored != chain:
            raise ValueError(f"{self.path}: the line at byte {offset} holds chain {stored!r}, not {chain!r}")
        return self._remember(chain, [stored, snapshot])[1]

    def __delitem__(self, chain: str) -> None:
        del self._offsets[chain]  # its line stays in the file, unread
        self._recent.pop(chain, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    def __contains__(self, chain: object) -> bool:
        return chain in self._offsets

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        self._offsets.clear()
        self._recent.clear()
