"""`--shard K/N`: run only the chains of shard K of N, so a CI job matrix can split one audit.

The split is by chain id, deterministic and balanced: the chain ids are sorted and cut into N contiguous
blocks whose sizes differ by at most one (the first `len % N` shards hold one more). Every job of a matrix
that reads the same chain config therefore computes the same split, whatever order the file lists the
chains in, and each chain is whole in exactly one shard (all its checks and its one snapshot read).

Each shard's run directory holds `shard.json` (the shard, the total, the chain ids it holds and every
chain id of the config); `python -m compliance merge` reads it to refuse a missing or duplicated shard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.errors import ConfigError

SHARD_OPTION = "--shard"
SHARD_FILE = "shard.json"
SHARD_SCHEMA = "export-chain-compliance/shard/v1"
MAX_SHARDS = 256
"""A GitHub Actions matrix makes at most 256 jobs per workflow run."""
_SPEC = re.compile(r"^\s*(\d{1,6})\s*/\s*(\d{1,6})\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` (1-based) of `total`."""

    index: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.total}"

    def chain_ids(self, all_ids: Iterable[str]) -> tuple[str, ...]:
        """This shard's chain ids: block `index` of the sorted ids cut into `total` balanced blocks."""
        ids = sorted(set(all_ids))
        size, extra = divmod(len(ids), self.total)
        start = (self.index - 1) * size + min(self.index - 1, extra)
        end = start + size + (1 if self.index <= extra else 0)
        return tuple(ids[start:end])


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 ≤ K ≤ N ≤ 256; anything else is one `ConfigError` line."""
    match = _SPEC.match(text)
    if match is None:
        raise ConfigError(SHARD_OPTION, repr(text), "not of the form K/N",
                          "pass the shard number and the shard count, e.g. --shard 1/4")
    index, total = int(match.group(1)), int(match.group(2))
    if not 1 <= total <= MAX_SHARDS:
        raise ConfigError(SHARD_OPTION, text, f"the shard count must be between 1 and {MAX_SHARDS}, got {total}",
                          "pass e.g. --shard 1/4")
    if not 1 <= index <= total:
        raise ConfigError(SHARD_OPTION, text, f"the shard number must be between 1 and {total}, got {index}",
                          f"number the shards 1 to {total}, e.g. --shard 1/{total}")
    return Shard(index, total)


def select(shard: Shard, all_ids: Iterable[str], source: str) -> tuple[str, ...]:
    """The shard's chain ids; a shard that would hold no chain is one `ConfigError` line (it would prove nothing)."""
    ids = sorted(set(all_ids))
    chosen = shard.chain_ids(ids)
    if not chosen:
        raise ConfigError(SHARD_OPTION, shard.label, f"shard {shard.index} of {shard.total} holds no chain: "
                          f"{source} has only {len(ids)} chain(s)",
                          f"use at most {len(ids)} shard(s) for this chain config")
    return chosen


def shard_record(shard: Shard, all_ids: Iterable[str]) -> dict[str, Any]:
    ids = sorted(set(all_ids))
    return {"schema": SHARD_SCHEMA, "index": shard.index, "total": shard.total,
            "chains": list(shard.chain_ids(ids)), "all_chains": ids}


def write_shard_file(run_dir: Path, shard: Shard, all_ids: Iterable[str]) -> Path:
    path = run_dir / SHARD_FILE
    path.write_text(json.dumps(shard_record(shard, all_ids), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_shard_file(run_dir: Path) -> Mapping[str, Any] | None:
    """A run directory's shard record, or None when the run was not sharded (no shard.json)."""
    path = run_dir / SHARD_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(str(path), SHARD_FILE, "not readable JSON", "use the run directory the shard wrote") from None
    if not isinstance(data, dict) or data.get("schema") != SHARD_SCHEMA:
        raise ConfigError(str(path), "schema", f"not a {SHARD_SCHEMA} record", "use the run directory the shard wrote")
    for key in ("index", "total"):
        if isinstance(data.get(key), bool) or not isinstance(data.get(key), int):
            raise ConfigError(str(path), key, "not a whole number", "use the run directory the shard wrote")
    for key in ("chains", "all_chains"):
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(str(path), key, "not a list of chain ids", "use the run directory the shard wrote")
    if not 1 <= data["index"] <= data["total"] <= MAX_SHARDS:
        raise ConfigError(str(path), "index", f"shard {data['index']} of {data['total']} is not a valid shard",
                          "use the run directory the shard wrote")
    return data
