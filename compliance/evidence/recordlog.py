"""The run's records on disk as they arrive: `records.jsonl` in the run directory, one record per line.

The controlling process appends each check's record when its report arrives and keeps only a small index
(node id, byte offset, status) in memory, so memory stays flat however many chains a run holds. At the end the
evidence (evidence.json, the HTML summary) is built by reading the file back in node-id order. Once evidence.json
is written the file is removed (evidence.json is the record); a run that dies before that leaves it behind as the
partial record of what had finished.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.evidence.record import Record
from compliance.model import Status

RECORDS_NAME = "records.jsonl"


@dataclass(frozen=True, slots=True)
class _Entry:
    nodeid: str
    offset: int


@dataclass
class RecordLog:
    path: Path
    _index: list[_Entry] = field(default_factory=list)
    _statuses: Counter[Status] = field(default_factory=Counter)

    def append(self, record: Record) -> None:
        line = (json.dumps(record.to_json(), sort_keys=True, default=str) + "\n").encode("utf-8")
        with self.path.open("ab") as out:
            offset = out.tell()
            out.write(line)
        self._index.append(_Entry(record.nodeid, offset))
        self._statuses[record.status] += 1

    def __len__(self) -> int:
        return len(self._index)

    @property
    def statuses(self) -> Counter[Status]:
        """How many records hold each status (for the terminal summary, without reading the file)."""
        return Counter(self._statuses)

    def __iter__(self) -> Iterator[Record]:
        """Every record, in node-id order (serial and `-n N` runs agree), parsed one at a time."""
        if not self._index:
            return
        with self.path.open("rb") as source:
            for entry in sorted(self._index, key=lambda e: e.nodeid):
                source.seek(entry.offset)
                yield Record.from_json(json.loads(source.readline()))

    def ordered(self, key: Callable[[Record], Any]) -> Iterator[Record]:
        """Every record in `key` order, parsed one at a time; only the keys and byte offsets are held while
        sorting (a pass over the file builds them)."""
        if not self._index:
            return
        with self.path.open("rb") as source:
            keyed = []
            for entry in self._index:
                source.seek(entry.offset)
                keyed.append((key(Record.from_json(json.loads(source.readline()))), entry.offset))
            keyed.sort(key=lambda pair: pair[0])
            for _, offset in keyed:
                source.seek(offset)
                yield Record.from_json(json.loads(source.readline()))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
