"""Helpers for the foundation tests: chain configs as dicts, TOML writing, environment hygiene."""

from __future__ import annotations

import copy
import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import compliance
from compliance.config import default_chain_path
from compliance.targets.deployment import reference_deployment_path

COMPLIANCE_DIR = Path(compliance.__file__).resolve().parent
EXTERNAL_ID = "ext-id-foundation-4f9c2b7e"  # a fixed ExternalId so two provisionings are comparable


def reference_chain() -> dict[str, Any]:
    """The bundled reference chain as a mutable dict."""
    return tomllib.loads(default_chain_path().read_text(encoding="utf-8"))


def aws_only_chain() -> dict[str, Any]:
    """The reference chain without its Azure backup (these tests cover the AWS side only)."""
    chain = reference_chain()
    chain.pop("azure", None)
    return chain


def reference_deployment() -> dict[str, Any]:
    return copy.deepcopy(json.loads(reference_deployment_path().read_text(encoding="utf-8")))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def _is_subtable(key: str, value: Any) -> bool:
    return isinstance(value, dict) and key != "session_tags"


def _emit(prefix: str, table: dict[str, Any], out: list[str]) -> None:
    out.extend(f"{k} = {_toml_value(v)}" for k, v in table.items() if not _is_subtable(k, v))
    for key, sub in table.items():
        if _is_subtable(key, sub):
            name = f"{prefix}.{key}" if prefix else key
            out.append(f"[{name}]")
            _emit(name, sub, out)


def to_toml(data: dict[str, Any]) -> str:
    """Enough TOML for chain configs: tables, [[chains]], strings, numbers, lists, inline session_tags."""
    out: list[str] = []
    chains = data.get("chains")
    _emit("", {k: v for k, v in data.items() if not (k == "chains" and isinstance(chains, list))}, out)
    if isinstance(chains, list):
        for chain in chains:
            out.append("[[chains]]")
            _emit("chains", chain, out)
    return "\n".join(out) + "\n"


def write_chain(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(to_toml(data), encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == data
    return path


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """In-process pytest runs may set generated secrets in os.environ; never let them leak between tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
