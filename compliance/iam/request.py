"""The request being authorised: caller, action, resource and request context."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compliance.iam.principals import Caller, classify_caller
from compliance.iam.variables import ContextValue

_ARN_ACCOUNT = re.compile(r"arn:[^:]*:[^:]*:[^:]*:(\d{12}):")


def normalise_context_value(value: Any) -> ContextValue:
    """Strings stay; lists/tuples become tuples; booleans and numbers are stringified ("true", "3600")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return tuple(str(normalise_context_value(item)) for item in value)
    raise TypeError(f"context values must be strings, numbers, booleans or lists, not {type(value).__name__}")


@dataclass(frozen=True)
class Request:
    """One API call. ``context`` holds exactly the keys present; a missing key means absent."""

    principal: str
    principal_account: str | None
    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    lower_context: dict[str, ContextValue] = field(init=False, compare=False, repr=False)
    caller: Caller = field(init=False, compare=False, repr=False)
    action_lower: str = field(init=False, compare=False, repr=False)
    owner_account: str | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        context = {str(key): normalise_context_value(value) for key, value in self.context.items()}
        object.__setattr__(self, "context", context)
        object.__setattr__(self, "lower_context", {key.lower(): value for key, value in context.items()})
        caller = classify_caller(self.principal, self.principal_account, self.lower_context)
        object.__setattr__(self, "caller", caller)
        object.__setattr__(self, "action_lower", self.action.lower())
        owner = self.resource_account
        if owner is None:
            match = _ARN_ACCOUNT.match(self.resource)
            owner = match.group(1) if match else None
        object.__setattr__(self, "owner_account", owner)

    @property
    def is_cross_account(self) -> bool:
        """True when the caller's account and the resource's account are both known and differ."""
        caller_account = self.caller.account
        return caller_account is not None and self.owner_account is not None and caller_account != self.owner_account

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "principal_account": self.principal_account,
            "action": self.action,
            "resource": self.resource,
            "resource_account": self.resource_account,
            "context": {key: list(value) if isinstance(value, tuple) else value for key, value in self.context.items()},
        }
