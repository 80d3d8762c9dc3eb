"""Per-run state shared by the plugin's hooks and fixtures (kept in `config.stash`, never a global)."""

from __future__ import annotations

import os
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from compliance.chain.proposed import Proposal, load_proposals
from compliance.config import ChainConfig, load_chain_config
from compliance.errors import ConfigError
from compliance.redaction import Redactor

LIVE_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET", "COMPLIANCE_SIGN_KEY_PASSWORD")
"""Environment variables whose values are secrets of a live run, redacted like the chain's own."""
PROPOSED_OPTION = "--proposed"
PROPOSALS_KEY = "chain.proposals"


class Target(StrEnum):
    """What the run reads: the embedded moto deployment or the live account (the value is the option's)."""

    MOTO = "moto"
    LIVE = "live"


@dataclass
class RunState:
    target: Target
    chain_path: Path
    deployment_path: Path | None
    evidence_root: Path
    options: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_dir: Path | None = None
    chain_config: ChainConfig | None = None
    config_error: ConfigError | None = None
    generated_secrets: list[str] = field(default_factory=list)
    snapshots: dict[str, Any] = field(default_factory=dict)
    snapshots_json: MutableMapping[str, Any] = field(default_factory=dict)
    """Per chain: its snapshot as JSON (on disk once the run directory exists: `SnapshotStore`)."""
    emitted_snapshots: set[str] = field(default_factory=set)
    resources: dict[str, Any] = field(default_factory=dict)
    chain_params: list[Any] | None = None
    """The chain parametrisation shared by every check (built at the first check's collection)."""
    _redactor: tuple[tuple[tuple[str, str], ...], Redactor] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.target = Target(self.target)  # the plugin passes the --target option's text

    @property
    def is_emulated(self) -> bool:
        return self.target is Target.MOTO

    def load_config(self) -> ChainConfig | None:
        """Load and validate the chain config once. Errors are kept and raised as a usage error later."""
        if self.chain_config is not None or self.config_error is not None:
            return self.chain_config
        try:
            config = load_chain_config(self.chain_path, require_secrets=not self.is_emulated)
            if self.is_emulated:
                for chain in config.chains:
                    self._ensure_generated(chain.vendor.external_id_env)
            self.chain_config = config
        except ConfigError as exc:
            self.config_error = exc
        return self.chain_config

    def _ensure_generated(self, env_name: str) -> None:
        """Emulated targets get a throwaway secret for each unset variable; it is never printed."""
        if not os.environ.get(env_name):
            os.environ[env_name] = "emu-" + secrets.token_urlsafe(24)
            self.generated_secrets.append(env_name)

    def redactor(self) -> Redactor:
        """The run's redactor, for the secret values the environment holds now (rebuilt only when they change)."""
        names = self.chain_config.secret_env_names() if self.chain_config else ()
        if self.target is Target.LIVE:  # the run's own credentials (emulated targets use well-known fakes)
            names = (*names, *LIVE_SECRET_ENV)
        pairs = tuple((name, os.environ.get(name, "")) for name in names)
        cached = self._redactor
        if cached is None or cached[0] != pairs:
            cached = (pairs, Redactor(pairs))
            self._redactor = cached
        return cached[1]

    def proposals(self) -> tuple[Proposal, ...]:
        """The `--proposed` documents, loaded once (ConfigError: one is malformed; fixtures_chain stops the run)."""
        proposals = self.resources.get(PROPOSALS_KEY)
        if proposals is None:
            proposals = load_proposals(self.options.get(PROPOSED_OPTION) or [])
            self.resources[PROPOSALS_KEY] = proposals
        return tuple(proposals)


STATE_KEY = pytest.StashKey[RunState]()


def run_state(config: pytest.Config) -> RunState:
    return config.stash[STATE_KEY]

