"""The `@check` decorator: the contract every check signs, validated once at import, looked up by id.

A check is a function `test_<check_id>(chain_view)` (AWS) or `test_<check_id>(azure_backup)` (Azure) that returns
one `Finding`. The decorator validates the metadata (id prefix against the provider, controls, permissions against
`compliance.permission_vocabulary`) and wraps the function so that every finding

* names its resource: the check's `resource` subject unless the finding names another one;
* carries the `--proposed` policies in effect as its last evidence (AWS);
* for a chain without an [azure] section, is NOT APPLICABLE with one message before the check runs (Azure).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar, cast

import pytest

from compliance.azure.backup import AzureBackup
from compliance.azure.verdicts import not_configured
from compliance.chain.evidence import proposal_evidence
from compliance.chain.view import ChainView
from compliance.config import Chain
from compliance.controls import requirement
from compliance.model import CheckMeta, Evidence, Finding, Provider, Severity
from compliance.permission_vocabulary import validate_permissions

F = TypeVar("F", bound=Callable[..., Any])

META_ATTR = "__compliance_check__"
MARKER = "compliance_check"
AWS_READ = "chain_view"
"""The one parameter an AWS check reads through: the snapshot with the --proposed policies applied."""
AZURE_READ = "azure_backup"
"""The one parameter an Azure check reads through: the chain's backup (None without an [azure] section)."""
FORBIDDEN_READS = ("aws_snapshot", "chain")
"""Fixtures a check must not take: the raw snapshot ignores --proposed; the chain is `chain_view.chain`."""

CHECKS: dict[str, CheckMeta] = {}


class Subject(Enum):
    """What a check's findings are about, unless a finding names another resource (a key ARN, say)."""

    ROLE = (Provider.AWS, "the export role's ARN (aws.role_arn)")
    BUCKET = (Provider.AWS, "the audit bucket's name (aws.bucket)")
    ACCOUNT = (Provider.AWS, "the customer account id (aws.account)")
    BACKUP_CONTAINER = (Provider.AZURE, "the backup container's URL")

    @property
    def provider(self) -> Provider:
        return self.value[0]

    def aws_resource(self, chain: Chain) -> str:
        return {Subject.ROLE: chain.aws.role_arn, Subject.BUCKET: chain.aws.bucket,
                Subject.ACCOUNT: chain.aws.account}[self]


def check(
    *,
    title: str,
    severity: Severity,
    provider: Provider,
    resource: Subject,
    rationale: str,
    remediation: str,
    controls: tuple[str, ...],
    permissions: tuple[str, ...],
) -> Callable[[F], F]:
    """Declare a check. The check id is the function name without its `test_` prefix.

    The function receives `chain_view` (AWS) or `azure_backup` (Azure, never None inside the check) and returns a
    `Finding`; the plugin turns the finding into the test outcome and the evidence. Metadata that breaks the
    contract is a ValueError naming the check, raised when its module is imported.
    """

    def decorate(fn: F) -> F:
        check_id = _check_id(fn.__name__, provider)
        signature = inspect.signature(fn)
        _validate_reads(check_id, provider, signature)
        _validate_metadata(check_id, provider, resource, title, controls)
        meta = CheckMeta(check_id, title, severity, provider, rationale.strip(), remediation.strip(),
                         tuple(controls), validate_permissions(check_id, provider, permissions))
        existing = CHECKS.get(check_id)
        if existing is not None and existing != meta:
            raise ValueError(f"duplicate check id {check_id!r}")
        CHECKS[check_id] = meta
        run = _aws_run(fn, signature, resource) if provider is Provider.AWS else _azure_run(fn, signature)
        setattr(run, META_ATTR, meta)
        marked = pytest.mark.compliance_check(check_id)(getattr(pytest.mark, provider.value)(run))
        return cast(F, marked)

    return decorate


def _check_id(name: str, provider: Provider) -> str:
    if not name.startswith("test_"):
        raise ValueError(f"check function {name!r} must be named test_<check_id>")
    check_id = name.removeprefix("test_")
    if not check_id.startswith(f"{provider.value}_"):
        raise ValueError(f"{check_id}: the id of an {provider.value} check starts with {provider.value}_")
    return check_id


def _validate_reads(check_id: str, provider: Provider, signature: inspect.Signature) -> None:
    read = AWS_READ if provider is Provider.AWS else AZURE_READ
    if read not in signature.parameters:
        raise ValueError(f"{check_id}: {provider.value} checks read through a {read!r} parameter")
    forbidden = [name for name in signature.parameters if name in FORBIDDEN_READS]
    if forbidden:
        raise ValueError(f"{check_id}: a check reads only through {read!r}, not {', '.join(forbidden)}")


def _validate_metadata(check_id: str, provider: Provider, resource: Subject, title: str,
                       controls: tuple[str, ...]) -> None:
    if resource.provider is not provider:
        raise ValueError(f"{check_id}: resource {resource.name} belongs to {resource.provider.value} checks, "
                         f"not {provider.value}")
    if title.lower().startswith("ensure"):
        raise ValueError(f"{check_id}: titles state the expectation; do not start with 'Ensure'")
    if not controls:
        raise ValueError(f"{check_id}: a check must name at least one control reference")
    for ref in controls:
        requirement(ref)


def _aws_run(fn: Callable[..., Any], signature: inspect.Signature, resource: Subject) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        view: ChainView = signature.bind(*args, **kwargs).arguments[AWS_READ]
        return _complete(fn(*args, **kwargs), resource.aws_resource(view.chain), proposal_evidence(view))

    return run


def _azure_run(fn: Callable[..., Any], signature: inspect.Signature) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        backup: AzureBackup | None = signature.bind(*args, **kwargs).arguments[AZURE_READ]
        if backup is None:
            return not_configured()
        return _complete(fn(*args, **kwargs), backup.resource, ())

    return run


def _complete(result: Any, resource: str, evidence: tuple[Evidence, ...]) -> Any:
    """The finding with the default resource and the contract's evidence; anything else is left for the plugin to
    report as ERROR."""
    if not isinstance(result, Finding):
        return result
    return dataclasses.replace(result, resource=result.resource or resource, evidence=result.evidence + evidence)


def meta_of(fn: Any) -> CheckMeta | None:
    meta = getattr(fn, META_ATTR, None)
    return meta if isinstance(meta, CheckMeta) else None

