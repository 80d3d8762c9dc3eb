"""The `@check` decorator: metadata for a check function, validated once, looked up by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from compliance.controls import requirement
from compliance.model import CheckMeta, Provider, Severity

F = TypeVar("F", bound=Callable[..., Any])

META_ATTR = "__compliance_check__"
MARKER = "compliance_check"

CHECKS: dict[str, CheckMeta] = {}


def check(
    *,
    title: str,
    severity: Severity,
    provider: Provider,
    rationale: str,
    remediation: str,
    controls: tuple[str, ...],
    permissions: tuple[str, ...],
) -> Callable[[F], F]:
    """Declare a check. The check id is the function name without its `test_` prefix.

    The function receives fixtures like any pytest test and returns a `Finding`; the plugin turns the
    finding into the test outcome and the evidence.
    """

    def decorate(fn: F) -> F:
        name = fn.__name__
        if not name.startswith("test_"):
            raise ValueError(f"check function {name!r} must be named test_<check_id>")
        check_id = name.removeprefix("test_")
        if title.lower().startswith("ensure"):
            raise ValueError(f"{check_id}: titles state the expectation; do not start with 'Ensure'")
        if not controls:
            raise ValueError(f"{check_id}: a check must name at least one control reference")
        for ref in controls:
            requirement(ref)
        meta = CheckMeta(check_id, title, severity, provider, rationale.strip(), remediation.strip(),
                         tuple(controls), tuple(permissions))
        existing = CHECKS.get(check_id)
        if existing is not None and existing != meta:
            raise ValueError(f"duplicate check id {check_id!r}")
        CHECKS[check_id] = meta
        setattr(fn, META_ATTR, meta)
        marked: F = pytest.mark.compliance_check(check_id)(getattr(pytest.mark, provider.value)(fn))
        return marked

    return decorate


def meta_of(fn: Any) -> CheckMeta | None:
    meta = getattr(fn, META_ATTR, None)
    return meta if isinstance(meta, CheckMeta) else None

