"""Container and account posture of the Azure backup: public access, transport, versioning, WORM, holds.

Sources, best first: the management plane ([azure.management]), container properties readable with
the SAS, anonymous probes. Azurite implements none of the data-protection features: those checks say
NOT SUPPORTED BY TARGET in the embedded default. Anything unreadable is ERROR, never PASS.
"""

from __future__ import annotations

from compliance.azure import management, outside
from compliance.azure.backup import AzureBackup, Unavailable
from compliance.azure.posture import UNVERIFIABLE, Immutability, Posture
from compliance.azure.probes import ProbeOperation
from compliance.azure.verdicts import fact_finding, probe_evidence
from compliance.model import Evidence, EvidenceKind, Finding, Provider, Severity, Status
from compliance.permission_vocabulary import AzureRequirement
from compliance.registry import Subject, check

MGMT = management.PERMISSIONS


def _posture(backup: AzureBackup) -> Posture | Finding:
    posture = backup.posture()
    if isinstance(posture, Unavailable):
        return Finding.error(posture.reason)
    return posture


def _evidence(posture: Posture) -> tuple[Evidence, ...]:
    return (Evidence("Container and account settings", EvidenceKind.API_RESPONSE, posture.to_json(),
                     "azure posture"),)


@check(
    title="The backup container is not publicly readable",
    severity=Severity.CRITICAL, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A container with public access 'container' lets anyone on the Internet list and download every backup;
        'blob' lets anyone who guesses or sees a name download it. Audit records are confidential. Checked from
        the container properties and by trying an anonymous list and an anonymous read of the canary blob.
    """,
    remediation="""
        Set the container's access level to Private (portal: Containers > the container > Change access level;
        `az storage container set-permission --name <c> --public-access off`) and disallow public access on the
        account (`az storage account update --allow-blob-public-access false`).
    """,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1", "EUAnnex11-7.1"),
    permissions=(AzureRequirement.BACKUP_SAS, *MGMT),
)
def test_azure_container_not_public(azure_backup: AzureBackup) -> Finding:
    posture = _posture(azure_backup)
    if isinstance(posture, Finding):
        return posture
    container = azure_backup.config.container
    anon_list = azure_backup.probe(ProbeOperation.ANONYMOUS_LIST)
    anon_read = azure_backup.probe(ProbeOperation.ANONYMOUS_READ)
    probes = [p for p in (anon_list, anon_read) if not isinstance(p, Unavailable)]
    evidence = _evidence(posture) + probe_evidence(azure_backup, *probes)
    if not isinstance(anon_list, Unavailable) and anon_list.succeeded:
        return Finding.failed(f"Anyone can list container {container}: an anonymous List Blobs returned "
                              f"{anon_list.outcome}.", evidence=evidence)
    if not isinstance(anon_read, Unavailable) and anon_read.succeeded:
        return Finding.failed(f"Anyone can read blobs in container {container}: an anonymous read of the canary "
                              f"returned {anon_read.outcome}.", evidence=evidence)
    verdict = _public_verdict(posture, container, evidence)
    refused = [p for p in probes if p.status in (401, 403, 404, 409)]
    if verdict.status is Status.ERROR and len(refused) == 2:
        return Finding.passed(f"Anonymous list ({refused[0].outcome}) and anonymous read of the existing canary blob "
                              f"({refused[1].outcome}) of container {container} were both refused.",
                              evidence=evidence)
    return verdict


def _public_verdict(posture: Posture, container: str, evidence: tuple[Evidence, ...]) -> Finding:
    """Account setting first (it overrides every container), then the container level, then the outside view."""
    account, level, view = posture.account_allows_public, posture.public_access, posture.anonymous_view
    if account.known and account.value is False:
        return Finding.passed(f"The storage account disallows anonymous access ({account.source}), so Azure refuses "
                              f"every anonymous request to container {container}.",
                              evidence=evidence)
    if level.known:
        if level.value is None:
            return Finding.passed(f"Container {container} is private ({level.source}).",
                                  evidence=evidence)
        setting = ("the account allows anonymous access" if account.known
                   else f"the account setting is {account.unreadable or account.unsupported}")
        return Finding.failed(f"Container {container} allows anonymous '{level.value}' access ({level.source}); "
                              f"{setting}.", evidence=evidence)
    if view.known:
        if view.value == "disallowed":
            return Finding.passed(f"The storage account disallows anonymous access ({view.source}).",
                                  evidence=evidence)
        if view.value is None:
            return Finding.passed(f"Container {container} is private ({view.source}).",
                                  evidence=evidence)
        return Finding.failed(f"Anyone can read blobs in container {container} (anonymous '{view.value}' access; "
                              f"{view.source}).", evidence=evidence)
    why = view.unreadable if view.unreadable and view.unreadable != "not probed" else UNVERIFIABLE
    return Finding.error(f"Whether container {container} allows anonymous blob reads is {why}, or run with "
                         f"--azure-write-probe so the canary can be read anonymously.",
                         evidence=evidence)


def _boolean_check(backup: AzureBackup, attr: str, what: str, good: str, bad: str) -> Finding:
    posture = _posture(backup)
    if isinstance(posture, Finding):
        return posture
    fact = getattr(posture, attr)
    gap = fact_finding(fact, backup, what)
    if gap is not None:
        return gap
    if fact.value:
        return Finding.passed(f"{good} ({fact.source}).", evidence=_evidence(posture))
    return Finding.failed(f"{bad} ({fact.source}).", evidence=_evidence(posture))


@check(
    title="The storage account requires secure transfer (HTTPS only)",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        With "secure transfer required" off, the account accepts plain HTTP for every credential, not only this
        SAS. Encryption in transit is the §11.30 control for records crossing an open network.
    """,
    remediation="""
        `az storage account update --name <acct> --resource-group <rg> --https-only true` (portal: Storage account >
        Configuration > Secure transfer required = Enabled).
    """,
    controls=("21CFR11.30", "EUAnnex11-12.1"), permissions=MGMT,
)
def test_azure_account_requires_secure_transfer(azure_backup: AzureBackup) -> Finding:
    return _boolean_check(azure_backup, "https_only", "the account's secure-transfer setting",
                          "The storage account requires secure transfer",
                          "The storage account accepts plain HTTP (secure transfer required is off)")


@check(
    title="The storage account requires TLS 1.2 or later",
    severity=Severity.MEDIUM, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        TLS 1.0 and 1.1 are deprecated and weak; an account that still accepts them lets a client (or an attacker
        downgrading one) protect records with them.
    """,
    remediation="""
        `az storage account update --name <acct> --resource-group <rg> --min-tls-version TLS1_2` (portal: Storage
        account > Configuration > Minimum TLS version = Version 1.2).
    """,
    controls=("21CFR11.30",), permissions=MGMT,
)
def test_azure_account_min_tls_12(azure_backup: AzureBackup) -> Finding:
    posture = _posture(azure_backup)
    if isinstance(posture, Finding):
        return posture
    fact = posture.min_tls
    gap = fact_finding(fact, azure_backup, "the account's minimum TLS version")
    if gap is not None:
        return gap
    if str(fact.value) in ("TLS1_2", "TLS1_3"):
        return Finding.passed(f"The storage account requires {fact.value} or later ({fact.source}).",
                              evidence=_evidence(posture))
    if fact.value == outside.HANDSHAKE_REFUSED:
        return Finding.passed(f"The endpoint refused TLS 1.0 and TLS 1.1 before any HTTP answer ({fact.source}), so "
                              f"records cannot travel over them. This does not show the account's minimumTlsVersion: "
                              f"since 3 February 2026 Azure Storage refuses TLS 1.0/1.1 on every account; "
                              f"{outside.SETTLE_MGMT}.", evidence=_evidence(posture))
    if fact.source.startswith("outside view"):
        return Finding.failed(f"The storage account accepts {fact.value}, older than TLS 1.2 ({fact.source}).",
                              evidence=_evidence(posture))
    return Finding.failed(f"The storage account's minimum TLS version is {fact.value}, older than TLS 1.2 "
                          f"({fact.source}).", evidence=_evidence(posture))


@check(
    title="Blob versioning and blob soft delete are on",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        The SAS's 'w' right can overwrite a backup and any account admin can delete one. Versioning keeps the
        previous content of an overwritten blob; soft delete keeps a deleted blob recoverable for its retention
        days. Without them an overwrite or delete is final.
    """,
    remediation="""
        `az storage account blob-service-properties update --account-name <acct> --resource-group <rg>
        --enable-versioning true --enable-delete-retention true --delete-retention-days 30
        --enable-container-delete-retention true --container-delete-retention-days 30` (portal: Data protection).
    """,
    controls=("21CFR11.10(c)", "EUAnnex11-7.1", "EUAnnex11-7.2"), permissions=MGMT,
)
def test_azure_blob_versioning_and_soft_delete(azure_backup: AzureBackup) -> Finding:
    posture = _posture(azure_backup)
    if isinstance(posture, Finding):
        return posture
    for fact, what in ((posture.versioning, "blob versioning"), (posture.blob_soft_delete_days, "blob soft delete")):
        gap = fact_finding(fact, azure_backup, what)
        if gap is not None:
            return gap
    missing = []
    if not posture.versioning.value:
        missing.append("blob versioning is off")
    if not posture.blob_soft_delete_days.value:
        missing.append("blob soft delete is off")
    container = posture.container_soft_delete_days
    extra = ""
    if container.known:
        extra = f"; container soft delete: {f'{container.value} days' if container.value else 'off'}"
    source = f" ({posture.versioning.source})"
    if missing:
        return Finding.failed(f"{' and '.join(missing).capitalize()}, so an overwritten or deleted backup cannot be "
                              f"recovered{extra}{source}.",
                              evidence=_evidence(posture))
    return Finding.passed(f"Blob versioning is on and deleted blobs are kept {posture.blob_soft_delete_days.value} "
                          f"days{extra}{source}.", evidence=_evidence(posture))


def _worm_verdict(policy: Immutability, kind: str, need: int) -> tuple[bool, str]:
    if policy.state != "Locked":
        return False, (f"the {kind} retention policy is {policy.state or 'in an unknown state'}, not Locked, so an "
                       f"account admin can shorten or delete it")
    if policy.days is None or policy.days < need:
        return False, f"the {kind} retention policy keeps blobs {policy.days} days, less than the {need} required"
    return True, f"a locked {kind} retention policy keeps every blob {policy.days} days (at least {need})"


@check(
    title="The backup container has a locked time-based immutability policy covering the retention period",
    severity=Severity.CRITICAL, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        Nothing else stops a backup from being overwritten (the SAS's 'w' right) or deleted by an account admin.
        A locked time-based retention policy (WORM) makes every blob unchangeable for the records' retention
        period; an unlocked policy can be removed. Version-level immutability is an accepted alternative.
    """,
    remediation="""
        `az storage container immutability-policy create --account-name <acct> --resource-group <rg>
        --container-name <c> --period <days>` then, once tested, `az storage container immutability-policy lock
        --if-match <etag> ...` (portal: the container > Access policy > Add policy > Time-based retention > Lock).
        The period must be at least `azure.min_retention_days`.
    """,
    controls=("21CFR11.10(c)", "EUAnnex11-7.1", "EUAnnex11-17"), permissions=MGMT,
)
def test_azure_container_immutable_retention(azure_backup: AzureBackup) -> Finding:
    posture = _posture(azure_backup)
    if isinstance(posture, Finding):
        return posture
    need = azure_backup.config.min_retention_days or 1
    evidence = _evidence(posture)
    gap = fact_finding(posture.immutability, azure_backup, "the container's immutability policy")
    if gap is not None:
        return gap
    reasons = []
    if isinstance(posture.immutability.value, Immutability):
        ok, why = _worm_verdict(posture.immutability.value, "container", need)
        why = f"{why} ({posture.immutability.source})"
        if ok:
            return Finding.passed(f"{why[0].upper()}{why[1:]}.", evidence=evidence)
        reasons.append(why)
    version = posture.version_level_worm
    if version.known and isinstance(version.value, Immutability):
        ok, why = _worm_verdict(version.value, "version-level", need)
        why = f"{why} ({version.source})"
        if ok:
            return Finding.passed(f"{why[0].upper()}{why[1:]}.", evidence=evidence)
        reasons.append(why)
    if not reasons:
        reasons.append(f"the container has no time-based immutability policy, so a backup can be overwritten with the "
                       f"SAS's 'w' right or deleted by an account admin ({posture.immutability.source})")
    return Finding.failed(f"{'; '.join(reasons)[0].upper()}{'; '.join(reasons)[1:]}.",
                          evidence=evidence)


@check(
    title="The backup container's legal hold status is reported",
    severity=Severity.INFO, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A legal hold freezes blobs regardless of retention, for example during an inspection or litigation. The
        evidence should say whether one is in place and under which tags.
    """,
    remediation="""
        To place a hold: `az storage container legal-hold set --account-name <acct> --container-name <c> --tags
        <case-id>`; to release it: `az storage container legal-hold clear ...`.
    """,
    controls=("21CFR11.10(c)", "EUAnnex11-17"), permissions=MGMT,
)
def test_azure_legal_hold_reported(azure_backup: AzureBackup) -> Finding:
    posture = _posture(azure_backup)
    if isinstance(posture, Finding):
        return posture
    fact = posture.legal_hold
    gap = fact_finding(fact, azure_backup, "the container's legal hold status")
    if gap is not None:
        return gap
    status = f"a legal hold is in place (tags: {', '.join(fact.value)})" if fact.value else "no legal hold is in place"
    return Finding.passed(f"On container {azure_backup.config.container} {status} ({fact.source}).",
                          evidence=_evidence(posture))
