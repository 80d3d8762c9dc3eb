"""Fixtures for the AWS chain check tests: the reference chain and snapshot (built once), a fresh moto target.

Helpers (mutators, `run_check`) live in chain_helpers.py. Most tests call check functions directly on a mutated
copy of the reference snapshot; a few provision a mutated deployment, and a few run the suite with pytester.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from compliance.config import Chain, default_chain_path, load_chain_config
from compliance.targets.aws_moto import MotoAwsTarget
from compliance.targets.deployment import load_deployment
from compliance.targets.snapshot import AwsSnapshot

from .chain_helpers import provision


@pytest.fixture(scope="session")
def ref_chain() -> Chain:
    return load_chain_config(default_chain_path(), require_secrets=False).chains[0]


@pytest.fixture(scope="session")
def reference_deployment() -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(load_deployment().data))
    return copied


@pytest.fixture(scope="session")
def reference_snapshot(ref_chain: Chain) -> AwsSnapshot:
    return provision(load_deployment(), ref_chain)


@pytest.fixture
def moto_target() -> Iterator[MotoAwsTarget]:
    target = MotoAwsTarget(load_deployment())
    target.start()
    try:
        yield target
    finally:
        target.stop()
