"""Non-destructive probes with the backup SAS: it can write, and cannot read, delete, list or use HTTP.

Against Azurite in the embedded default; against live Azure with --target live (the canary write only
with --azure-write-probe). Rights the SAS must not have are tried on a blob name that does not exist.
"""

from __future__ import annotations

from compliance.azure.backup import AzureBackup, Unavailable
from compliance.azure.probes import PROTOCOL_REFUSED, ProbeOperation, ProbeResult
from compliance.azure.verdicts import effective_or_finding, probe_evidence, rejection_cause
from compliance.model import Finding, Provider, Severity
from compliance.permission_vocabulary import AzureAction, AzureRequirement
from compliance.registry import Subject, check

SAS = (AzureRequirement.BACKUP_SAS,)
"""The probes use the vendor's token, nothing else."""
RESOLVED_SAS = (AzureRequirement.BACKUP_SAS, AzureAction.CONTAINER_GET_ACL)
"""The token, and the stored access policy that may set its protocol (`spr`)."""


def _unreached(backup: AzureBackup, result: ProbeResult) -> Finding:
    return Finding.error(f"The {result.operation} probe to {backup.target_name} at {backup.resource} got no HTTP "
                         f"response ({result.error_code}); the result is unverified.",
                         evidence=probe_evidence(backup, result))


@check(
    title="The backup SAS can write a new blob into the container",
    severity=Severity.CRITICAL, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        The backup exists only if the vendor's writes succeed. A SAS can look right and still be refused: expired,
        not yet valid, signed with a rotated key, bound to a deleted stored access policy, or for another container.
        Writing one small canary blob with a unique name proves the path end to end without touching any backup.
    """,
    remediation="""
        Fix the cause named in the finding: issue a new SAS (`az storage container generate-sas --permissions cw
        --https-only --expiry <date>`), recreate the stored access policy, or create the container; then update
        the vendor's page and `azure.sas_env`. In live mode run with --azure-write-probe to prove the write path.
    """,
    controls=("EUAnnex11-7.2", "EUAnnex11-16", "21CFR11.10(c)"), permissions=SAS,
)
def test_azure_sas_write_path_works(azure_backup: AzureBackup) -> Finding:
    result = azure_backup.probe(ProbeOperation.WRITE)
    if isinstance(result, Unavailable):
        return Finding.error(result.reason)
    evidence = probe_evidence(azure_backup, result)
    if result.succeeded:
        return Finding.passed(f"The SAS wrote canary blob {result.target} ({result.outcome}); it stays in place, since "
                              f"the SAS cannot delete it.", evidence=evidence)
    if result.status is None:
        return _unreached(azure_backup, result)
    if result.token_rejected:
        return Finding.failed(f"The canary write was refused ({result.outcome}): {rejection_cause(azure_backup)}.",
                              evidence=evidence)
    if result.right_absent:
        return Finding.failed(f"The canary write was refused ({result.outcome}): the SAS lacks the create/write "
                              f"right.", evidence=evidence)
    if result.status == 404:
        return Finding.failed(f"The canary write failed ({result.outcome}): container {azure_backup.config.container} "
                              f"does not exist at {azure_backup.account_url}.", evidence=evidence)
    if result.error_code == PROTOCOL_REFUSED:
        return Finding.failed(f"The canary write was refused ({result.outcome}): the SAS does not allow HTTPS.",
                              evidence=evidence)
    return Finding.error(f"The canary write returned {result.outcome}, which does not show whether backups can be "
                         f"written.", evidence=evidence)


def _cannot(backup: AzureBackup, operation: ProbeOperation, consequence: str) -> Finding:
    result = backup.probe(operation)
    if isinstance(result, Unavailable):
        return Finding.error(result.reason)
    evidence = probe_evidence(backup, result)
    what = {ProbeOperation.READ: "Reading", ProbeOperation.DELETE: "Deleting",
            ProbeOperation.LIST: "Listing"}[operation]
    target = f"blob {result.target}" if operation is not ProbeOperation.LIST else f"names under {result.target}"
    if result.right_absent:
        return Finding.passed(f"{what} {target} (which does not exist) was refused with {result.outcome}: the SAS "
                              f"has no {operation} right.", evidence=evidence)
    if result.status is None:
        return _unreached(backup, result)
    if result.token_rejected:
        return Finding.error(f"The SAS was refused as a whole ({result.outcome}: {rejection_cause(backup)}), so "
                             f"whether it carries the {operation} right could not be probed.",
                             evidence=evidence)
    if result.succeeded or result.status == 404:
        return Finding.failed(f"{what} {target} (which does not exist) returned {result.outcome} instead of 403: the "
                              f"SAS carries the {operation} right, so {consequence}.",
                              evidence=evidence)
    return Finding.error(f"{what} {target} returned {result.outcome}, which does not show whether the SAS carries the "
                         f"{operation} right.", evidence=evidence)


_NEGATIVE_REMEDIATION = """
    Re-issue the SAS with permissions `cw` only (`az storage container generate-sas ... --permissions cw
    --https-only`) or tighten its stored access policy (`az storage container policy update --permissions cw`);
    then revoke the old SAS (delete its stored access policy, or rotate the signing key).
"""


@check(
    title="The backup SAS cannot read blobs",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        The vendor's copy of the SAS lives outside the company. With the read right, anyone holding it can download
        every backed-up audit record. The probe reads a blob name that does not exist: 403
        AuthorizationPermissionMismatch proves the right is absent; 404 proves it is present.
    """,
    remediation=_NEGATIVE_REMEDIATION,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_cannot_read(azure_backup: AzureBackup) -> Finding:
    return _cannot(azure_backup, ProbeOperation.READ, "anyone holding the vendor's copy can download every backup")


@check(
    title="The backup SAS cannot delete blobs",
    severity=Severity.CRITICAL, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        With the delete right, anyone holding the vendor's copy can erase the backup, the very records it
        exists to protect. The probe deletes a blob name that does not exist, so nothing can be harmed: 403
        AuthorizationPermissionMismatch proves the right is absent; 404 proves it is present.
    """,
    remediation=_NEGATIVE_REMEDIATION,
    controls=("21CFR11.10(c)", "EUAnnex11-7.1", "EUAnnex11-17"), permissions=SAS,
)
def test_azure_sas_cannot_delete(azure_backup: AzureBackup) -> Finding:
    return _cannot(azure_backup, ProbeOperation.DELETE, "anyone holding the vendor's copy can erase the backup")


@check(
    title="The backup SAS cannot list the container",
    severity=Severity.MEDIUM, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        Listing reveals every backup's name, size and date, the map a reader or eraser needs. The probe lists a
        prefix no blob has: 403 AuthorizationPermissionMismatch proves the right is absent; 200 proves it is
        present.
    """,
    remediation=_NEGATIVE_REMEDIATION,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_cannot_list(azure_backup: AzureBackup) -> Finding:
    return _cannot(azure_backup, ProbeOperation.LIST, "anyone holding the vendor's copy can enumerate every backup")


@check(
    title="The backup SAS is refused over plain HTTP",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        spr=https only helps if the service enforces it. The embedded default proves it: the same SAS is sent to a
        plain-HTTP Azurite with the same container, which must answer 403 AuthorizationProtocolMismatch. In live
        mode the SAS is never sent over HTTP (that would expose it); Azure enforces spr server-side.
    """,
    remediation="""
        Re-issue the SAS with `--https-only`, and enable "Secure transfer required" on the storage account
        (`az storage account update --https-only true`).
    """,
    controls=("21CFR11.30", "EUAnnex11-12.1"), permissions=RESOLVED_SAS,
)
def test_azure_sas_refuses_http(azure_backup: AzureBackup) -> Finding:
    if not azure_backup.emulated:
        effective = effective_or_finding(azure_backup)
        if isinstance(effective, Finding):
            return effective
        if effective.token.https_only:
            return Finding.passed("The SAS is signed with spr=https, which Azure enforces on every request; it was "
                                  "not sent over HTTP, since that would expose it.")
        token = effective.token
        why = (f"spr=https in sv={token.version}, which does not sign spr" if token.protocol == "https"
               else f"spr={token.protocol or '(absent)'}")
        return Finding.failed(f"The SAS is signed with {why}, so Azure accepts it over plain HTTP.")
    result = azure_backup.probe(ProbeOperation.READ_OVER_HTTP)
    if isinstance(result, Unavailable):
        return Finding.error(result.reason)
    evidence = probe_evidence(azure_backup, result)
    if result.error_code == PROTOCOL_REFUSED:
        return Finding.passed(f"Over plain HTTP the SAS was refused with {result.outcome}.",
                              evidence=evidence)
    if result.status is None:
        return _unreached(azure_backup, result)
    if result.token_rejected:
        return Finding.error(f"The SAS was refused as a whole over HTTP ({result.outcome}: "
                             f"{rejection_cause(azure_backup)}), so protocol enforcement could not be shown.",
                             evidence=evidence)
    return Finding.failed(f"Over plain HTTP the SAS was accepted (the request got past authentication: "
                          f"{result.outcome}), so the token and the records can travel unencrypted.",
                          evidence=evidence)
