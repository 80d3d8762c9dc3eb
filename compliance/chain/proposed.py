"""`--proposed FILE`: policy documents that replace their counterparts before the checks run.

A file holds one envelope, or a list of envelopes::

    {"replaces": "trust", "document": {"Version": "2012-10-17", "Statement": [...]}}

``replaces`` is one of ``trust``, ``role-inline:NAME``, ``role-managed:NAME`` (name or ARN),
``boundary``, ``bucket``, ``key`` or ``scp:NAME``. ``"document": null`` removes the policy (not
allowed for ``trust`` and ``key``). Strings may contain ``{{env:NAME}}``, replaced by that
environment variable when the checks run, so the ExternalId never has to be written into a file.
See docs/PROPOSED.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from compliance.config import nesting_error
from compliance.errors import ConfigError, PolicyError
from compliance.iam import PolicyKind, parse_policy
from compliance.nesting import Syntax
from compliance.targets.deployment import Limit, substitute

FORMS = "trust, role-inline:NAME, role-managed:NAME, boundary, bucket, key or scp:NAME"


class ProposalTarget(StrEnum):
    TRUST = "trust"
    ROLE_INLINE = "role-inline"
    ROLE_MANAGED = "role-managed"
    BOUNDARY = "boundary"
    BUCKET = "bucket"
    KEY = "key"
    SCP = "scp"

    @property
    def kind(self) -> PolicyKind:
        return {
            ProposalTarget.TRUST: PolicyKind.TRUST,
            ProposalTarget.ROLE_INLINE: PolicyKind.IDENTITY,
            ProposalTarget.ROLE_MANAGED: PolicyKind.IDENTITY,
            ProposalTarget.BOUNDARY: PolicyKind.BOUNDARY,
            ProposalTarget.BUCKET: PolicyKind.RESOURCE,
            ProposalTarget.KEY: PolicyKind.KEY,
            ProposalTarget.SCP: PolicyKind.SCP,
        }[self]

    @property
    def named(self) -> bool:
        return self in (ProposalTarget.ROLE_INLINE, ProposalTarget.ROLE_MANAGED, ProposalTarget.SCP)


@dataclass(frozen=True, slots=True)
class Proposal:
    target: ProposalTarget
    name: str | None
    document: Mapping[str, Any] | None
    source: str

    @property
    def replaces(self) -> str:
        return f"{self.target.value}:{self.name}" if self.name else self.target.value

    def resolved(self) -> Mapping[str, Any] | None:
        """The document with `{{env:NAME}}` filled in from the environment (at check time)."""
        if self.document is None:
            return None
        value: Mapping[str, Any] = substitute(self.document, _env_value(self.source))
        return value

    def to_json(self) -> dict[str, Any]:
        return {"replaces": self.replaces, "source": self.source, "removes": self.document is None}


def _env_value(source: str) -> Any:
    def resolve(kind: str, name: str) -> str:
        value = os.environ.get(name) if kind == "env" else None
        if not value:
            what = (f"environment variable {name} is not set" if kind == "env"
                    else f"{{{{{kind}:{name}}}}} is not supported")
            raise ConfigError(source, f"{{{{{kind}:{name}}}}}", what, "use {{env:NAME}} with a set variable")
        return value

    return resolve


def _placeholder(kind: str, name: str) -> str:
    if kind != "env":
        raise ValueError(f"{{{{{kind}:{name}}}}} is not supported in proposed files; only {{{{env:NAME}}}}")
    return "placeholder-value"


def _parse_replaces(source: str, value: Any) -> tuple[ProposalTarget, str | None]:
    if not isinstance(value, str) or not value:
        raise ConfigError(source, "replaces", f"expected a string, got {value!r}", f"use one of {FORMS}")
    head, sep, name = value.partition(":")
    try:
        target = ProposalTarget(head)
    except ValueError:
        raise ConfigError(source, "replaces", f"unknown target {value!r}", f"use one of {FORMS}") from None
    if target.named and not name:
        raise ConfigError(source, "replaces", f"{head} needs a name", f'write "{head}:NAME"')
    if not target.named and sep:
        raise ConfigError(source, "replaces", f"{head} takes no name", f'write "{head}"')
    return target, name or None


def _envelope(source: str, raw: Any) -> Proposal:
    if not isinstance(raw, Mapping):
        raise ConfigError(source, "(envelope)", "expected an object with `replaces` and `document`",
                          'write {"replaces": "trust", "document": {...}}')
    extra = sorted(set(raw) - {"replaces", "document", "description"})
    if extra:
        raise ConfigError(source, extra[0], "unknown key", "use only replaces, document and description")
    if "document" not in raw:
        raise ConfigError(source, "document", "missing", "add the policy document (or null to remove the policy)")
    target, name = _parse_replaces(source, raw.get("replaces"))
    document = raw["document"]
    if document is None:
        if target in (ProposalTarget.TRUST, ProposalTarget.KEY):
            raise ConfigError(source, "document", f"a {target.value} policy cannot be removed", "give a document")
        return Proposal(target, name, None, source)
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise ConfigError(source, "document", f"not valid JSON ({exc})", "fix the embedded JSON") from None
    if not isinstance(document, Mapping):
        raise ConfigError(source, "document", "expected a policy object", 'write {"Version": ..., "Statement": [...]}')
    _SIZE_LIMITS[target].check(source, "document", _SIZE_LIMITS[target].size(document))
    try:
        parse_policy(substitute(document, _placeholder), kind=target.kind, name=f"proposed {target.value}")
    except (PolicyError, ValueError) as exc:
        raise ConfigError(source, "document", f"not a valid {target.kind.value} policy ({exc})",
                          "fix the policy document") from None
    except (TypeError, AttributeError, KeyError, RecursionError) as exc:  # a shape the parser does not name
        raise ConfigError(source, "document", f"not a valid {target.kind.value} policy ({type(exc).__name__})",
                          "fix the policy document") from None
    return Proposal(target, name, document, source)


_SIZE_LIMITS = {
    ProposalTarget.TRUST: Limit.TRUST,
    ProposalTarget.ROLE_INLINE: Limit.INLINE,
    ProposalTarget.ROLE_MANAGED: Limit.MANAGED,
    ProposalTarget.BOUNDARY: Limit.MANAGED,
    ProposalTarget.BUCKET: Limit.BUCKET,
    ProposalTarget.KEY: Limit.KEY,
    ProposalTarget.SCP: Limit.ORGANIZATIONS,
}
"""A proposed document AWS would refuse for its size is refused the same way (see `Limit` for the sources)."""


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def load_proposals(paths: Sequence[Path]) -> tuple[Proposal, ...]:
    """Read and validate every proposed file. Raises `ConfigError` (one line) on the first problem."""
    proposals: list[Proposal] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(str(path), "(file)", "file not found", "pass an existing file to --proposed") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), "(file)", f"cannot be read ({type(exc).__name__})", "check the path") from None
        too_deep = nesting_error(str(path), text, Syntax.JSON)
        if too_deep is not None:
            raise too_deep
        try:
            data = json.loads(text, parse_constant=_not_json)
        except (ValueError, RecursionError) as exc:
            raise ConfigError(str(path), "(file)", f"not valid JSON ({exc})", "fix the JSON syntax") from None
        items = data if isinstance(data, list) else [data]
        if not items:
            raise ConfigError(str(path), "(file)", "an empty list", "add at least one envelope")
        for index, raw in enumerate(items):
            source = f"{path}[{index}]" if isinstance(data, list) else str(path)
            proposal = _envelope(source, raw)
            if proposal.replaces in seen:
                raise ConfigError(source, "replaces", f"{proposal.replaces} is already proposed by "
                                  f"{seen[proposal.replaces]}", "propose each policy once")
            seen[proposal.replaces] = source
            proposals.append(proposal)
    return tuple(proposals)
