"""What the evidence code reads of a run, declared here so that evidence never imports the plugin side.

The plugin's `compliance.state.RunState` provides it (structurally: mypy checks the match where the plugin passes
its state in). Evidence sits below the plugin in the layering (tests/foundation/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from compliance.chain.proposed import Proposal
from compliance.config import ChainConfig
from compliance.redaction import Redactor


class RunView(Protocol):
    run_dir: Path | None
    """The run's evidence directory, set once it is made (`compliance.session.rundir.prepare_run_dir`)."""

    @property
    def target(self) -> str: ...

    @property
    def is_emulated(self) -> bool: ...

    @property
    def chain_path(self) -> Path: ...

    @property
    def chain_config(self) -> ChainConfig | None: ...

    @property
    def deployment_path(self) -> Path | None: ...

    @property
    def evidence_root(self) -> Path: ...

    @property
    def started(self) -> datetime: ...

    @property
    def options(self) -> Mapping[str, Any]:
        """The run's option values by option name (`--proposed`, `--sign-key`, ...)."""

    @property
    def snapshots_json(self) -> Mapping[str, Any]:
        """Per chain id: the snapshot as JSON."""

    @property
    def resources(self) -> dict[str, Any]:
        """Per-run values the evidence code keeps between hooks (the signing key, the signature it will make)."""

    def redactor(self) -> Redactor: ...

    def proposals(self) -> tuple[Proposal, ...]:
        """The `--proposed` documents in effect (empty: not a what-if run)."""
