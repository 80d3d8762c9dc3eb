"""Shared pieces of the Azure checks: the not-configured finding, evidence builders, cause sentences."""

from __future__ import annotations

from datetime import UTC, datetime

from compliance.azure.analysis import EffectiveSas, PolicyState
from compliance.azure.backup import AzureBackup, Unavailable
from compliance.azure.management import ACL_PERMISSION
from compliance.azure.posture import Fact
from compliance.azure.probes import ProbeResult
from compliance.model import Evidence, EvidenceKind, Finding

NO_AZURE = "No [azure] backup is configured for this chain."
SAS_SOURCE = "azure:sas"


def not_configured() -> Finding:
    return Finding.not_applicable(NO_AZURE)


def sas_evidence(effective: EffectiveSas) -> tuple[Evidence, ...]:
    return (Evidence("SAS fields (signature not recorded)", EvidenceKind.NOTE, effective.to_json(), SAS_SOURCE),)


def probe_evidence(backup: AzureBackup, *results: ProbeResult) -> tuple[Evidence, ...]:
    data = {"target": backup.target_name, "endpoint": backup.resource,
            "requests": [r.to_json() for r in results]}
    return (Evidence("Probe requests made with the SAS", EvidenceKind.API_CALLS, data, SAS_SOURCE),)


def effective_or_finding(backup: AzureBackup, needs: str | None = None) -> EffectiveSas | Finding:
    """The resolved SAS, or the finding to return: malformed → ERROR; a policy field unknown/missing."""
    effective = backup.effective()
    if isinstance(effective, Unavailable):
        return Finding.error(f"{effective.reason} (see azure_sas_well_formed)", resource=backup.resource)
    if needs is None or getattr(effective.token, needs) is not None:
        return effective
    policy = effective.token.policy_id
    if effective.policy_state is PolicyState.MISSING:
        return Finding.failed(
            f"The SAS takes its {_FIELD_NAMES[needs]} from stored access policy {policy!r}, which does not exist on "
            f"container {backup.config.container} (revoked or never created), so Azure refuses the SAS.",
            resource=backup.resource, evidence=sas_evidence(effective))
    if effective.policy_state is PolicyState.UNREADABLE:
        why = effective.unreadable_reason or ("it cannot be read with a SAS and no [azure.management] credential is "
                                              "configured")
        return Finding.error(
            f"The SAS takes its {_FIELD_NAMES[needs]} from stored access policy {policy!r}, which could not be read: "
            f"{why}. Grant the management identity {ACL_PERMISSION} on the container, or run "
            f"`{policy_command(backup)}` and record the result.", resource=backup.resource,
            evidence=sas_evidence(effective))
    return effective


def policy_command(backup: AzureBackup) -> str:
    """The exact command that shows the container's stored access policies (Get Container ACL)."""
    host = backup.account_url.split("://", 1)[-1].split("/", 1)[0]
    account = host.split(".", 1)[0]
    return (f"az storage container policy list --account-name {account} --container-name "
            f"{backup.config.container} --auth-mode login")


_FIELD_NAMES = {"permissions": "permissions", "expiry": "expiry", "start": "start time"}


def when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def rejection_cause(backup: AzureBackup) -> str:
    """Why the service refused the token as a whole, as far as the SAS and the container tell."""
    effective = backup.effective()
    if isinstance(effective, Unavailable):
        return effective.reason
    now = datetime.now(UTC)
    if effective.expiry is not None and effective.expiry <= now:
        return f"the SAS expired on {when(effective.expiry)}"
    if effective.start is not None and effective.start > now:
        return f"the SAS is not valid until {when(effective.start)}"
    if effective.policy_state is PolicyState.MISSING:
        return (f"its stored access policy {effective.token.policy_id!r} no longer exists on the container, so the "
                f"SAS has been revoked")
    if effective.conflicts():
        return (f"it sets {', '.join(effective.conflicts())} both in the token and in its stored access policy, "
                f"which Azure refuses")
    if effective.token.ip_range:
        return f"the SAS only allows source addresses {effective.token.ip_range}, or its signature does not verify"
    return ("the signature does not verify: the token was altered or truncated, or the account key that signed it "
            "was rotated")


def fact_finding(fact: Fact, backup: AzureBackup, what: str) -> Finding | None:
    """NOT SUPPORTED for an emulator gap, ERROR for an unreadable setting, None when the value is known."""
    if fact.unsupported is not None:
        return Finding.not_supported(f"{fact.unsupported}, so {what} cannot be checked against the embedded "
                                     f"target; run with --target live to check the real account.",
                                     resource=backup.resource)
    if fact.unreadable is not None:
        return Finding.error(f"{what[0].upper()}{what[1:]} is {fact.unreadable}.", resource=backup.resource)
    return None
