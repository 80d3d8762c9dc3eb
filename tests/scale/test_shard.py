"""`--shard K/N`: a deterministic, balanced split by chain id; a bad spec is one usage-error line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.errors import ConfigError
from compliance.shard import SHARD_FILE, Shard, parse_shard, read_shard_file, select, write_shard_file

from .moto_live import COMPLIANCE_DIR, clean_env


def test_every_chain_is_in_exactly_one_shard_and_sizes_differ_by_at_most_one() -> None:
    ids = [f"chain-{i:03d}" for i in range(23)]
    for total in range(1, 24):
        parts = [Shard(k, total).chain_ids(ids) for k in range(1, total + 1)]
        flat = [cid for part in parts for cid in part]
        assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat))
        sizes = [len(p) for p in parts]
        assert max(sizes) - min(sizes) <= 1


def test_the_split_does_not_depend_on_the_order_of_the_config() -> None:
    ids = ["b", "a", "d", "c", "e"]
    assert Shard(1, 2).chain_ids(ids) == Shard(1, 2).chain_ids(sorted(ids, reverse=True)) == ("a", "b", "c")
    assert Shard(2, 2).chain_ids(ids) == ("d", "e")


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "1/0", "a/b", "1/2/3", "-1/2", "1/257", "1.0/2"])
def test_an_invalid_spec_is_one_config_error_line(text: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_shard(text)
    assert "\n" not in str(exc.value) and "--shard" in str(exc.value) and "Fix:" in str(exc.value)


def test_valid_specs() -> None:
    assert parse_shard("2/4") == Shard(2, 4)
    assert parse_shard(" 1 / 1 ") == Shard(1, 1)


def test_a_shard_without_a_chain_is_refused() -> None:
    with pytest.raises(ConfigError, match="holds no chain"):
        select(Shard(3, 3), ["a", "b"], "chains.toml")


def test_the_shard_file_records_the_shard_the_total_and_its_chains(tmp_path: Path) -> None:
    write_shard_file(tmp_path, Shard(2, 3), ["c", "a", "b", "d"])
    record = read_shard_file(tmp_path)
    assert record is not None
    assert (record["index"], record["total"], record["chains"], record["all_chains"]) == (
        2, 3, ["c"], ["a", "b", "c", "d"])
    (tmp_path / SHARD_FILE).write_text(json.dumps({"index": 1}), encoding="utf-8")
    with pytest.raises(ConfigError):
        read_shard_file(tmp_path)
    assert read_shard_file(tmp_path / "nowhere") is None
    good = json.loads(json.dumps(record))
    for key, bad in (("index", "1"), ("total", True), ("chains", "c"), ("all_chains", [1]), ("index", 4)):
        (tmp_path / SHARD_FILE).write_text(json.dumps(good | {key: bad}), encoding="utf-8")
        with pytest.raises(ConfigError):
            read_shard_file(tmp_path)


@pytest.mark.parametrize(("spec", "expected"), [("5/4", "between 1 and 4"), ("x", "not of the form K/N"),
                                                ("3/3", "holds no chain")])
def test_the_plugin_reports_a_bad_shard_as_a_usage_error(tmp_path: Path, spec: str, expected: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--shard", spec, "-q",
                           "--evidence-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert expected in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
