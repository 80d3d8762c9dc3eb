"""Static analysis of the backup SAS: read from the chain's `sas_env`, parsed, never printed."""

from __future__ import annotations

from datetime import UTC, datetime

from compliance.azure import analysis
from compliance.azure.analysis import EffectiveSas, PolicyState
from compliance.azure.backup import AzureBackup, Unavailable
from compliance.azure.sas import PROTOCOL_AND_IP_SINCE
from compliance.azure.verdicts import effective_or_finding, sas_evidence, when
from compliance.model import Finding, Provider, Severity
from compliance.permission_vocabulary import AzureAction, AzureRequirement
from compliance.registry import Subject, check

SAS = (AzureRequirement.BACKUP_SAS, AzureAction.CONTAINER_GET_ACL)
"""The token itself, and the stored access policy a SAS with `si` takes its fields from (management plane)."""


@check(
    title="The backup SAS is a complete, well-formed shared access signature",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A SAS that was truncated when pasted into the vendor's page (a lost `&sig=` tail, a cut signature) is
        refused by Azure on every request, so no backup is written, and nobody notices until the copy is needed.
    """,
    remediation="""
        Generate the SAS again (portal: Storage account > Containers > the container > Shared access tokens;
        or `az storage container generate-sas`), copy the whole token, and set it both in the vendor's page and
        in the environment variable named by `azure.sas_env`.
    """,
    controls=("EUAnnex11-7.2", "EUAnnex11-5"), permissions=SAS,
)
def test_azure_sas_well_formed(azure_backup: AzureBackup) -> Finding:
    token = azure_backup.sas()
    if isinstance(token, Unavailable):
        return Finding.failed(token.reason)
    effective = azure_backup.effective()
    evidence = sas_evidence(effective) if isinstance(effective, EffectiveSas) else ()
    if isinstance(effective, EffectiveSas) and effective.conflicts():
        both = ", ".join(effective.conflicts())
        return Finding.failed(f"The SAS sets {both} both in the token and in its stored access policy "
                              f"{token.policy_id!r}; Azure refuses such a SAS (400), so no backup is written.",
                              evidence=evidence)
    signer = f", signed with the user delegation key of {token.signer}" if token.signer else ""
    return Finding.passed(f"The SAS in {azure_backup.config.sas_env} is a well-formed {token.kind} SAS "
                          f"(sv={token.version}{signer}).", evidence=evidence)


@check(
    title="The backup SAS is scoped to the backup container, not the storage account",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        An account SAS reaches every container (and with ss/srt possibly queues, tables and files) of the storage
        account. A leaked vendor copy then exposes far more than the backup. A blob SAS is too narrow: it only
        lets the vendor write one fixed name.
    """,
    remediation="""
        Issue a service SAS for the container only: `az storage container generate-sas --account-name <acct>
        --name <container> --permissions cw --https-only --expiry <date>` (portal: Containers > the container >
        Shared access tokens), ideally bound to a stored access policy (`--policy-name`).
    """,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_scoped_to_container(azure_backup: AzureBackup) -> Finding:
    effective = effective_or_finding(azure_backup)
    if isinstance(effective, Finding):
        return effective
    token, evidence = effective.token, sas_evidence(effective)
    scope = analysis.describe_scope(token)
    container = azure_backup.config.container
    if token.is_account_sas:
        return Finding.failed(f"The SAS is {scope}, not a container SAS for {container}; anyone holding the "
                              f"vendor's copy can reach the whole account.",
                              evidence=evidence)
    if token.resource != "c":
        return Finding.failed(f"The SAS is scoped to {scope} (sr={token.resource}), not container {container}, so "
                              f"the vendor cannot write new backup names.",
                              evidence=evidence)
    return Finding.passed(f"The SAS is a {token.kind} SAS scoped to container {container} (sr=c).",
                          evidence=evidence)


@check(
    title="The backup SAS grants only create and write (no read, list or delete)",
    severity=Severity.CRITICAL, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        The vendor only needs to put new backups. Read (r) and list (l) let anyone holding the vendor's copy
        download every record; delete (d, x, y) lets them erase the backup; tags, move, immutability and
        permission rights (t, f, m, e, i, p, o) let them tamper with it. 'w' also allows overwriting an
        existing blob, which only an immutability policy prevents.
    """,
    remediation="""
        Re-issue the SAS with permissions `cw` only (add `a` only if appends are needed and `azure.allow_append`
        is set): `az storage container generate-sas ... --permissions cw`; or, for a policy SAS,
        `az storage container policy update --container-name <c> --name <policy> --permissions cw`.
    """,
    controls=("21CFR11.10(c)", "21CFR11.10(d)", "EUAnnex11-7.1", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_grants_only_write(azure_backup: AzureBackup) -> Finding:
    effective = effective_or_finding(azure_backup, needs="permissions")
    if isinstance(effective, Finding):
        return effective
    evidence = sas_evidence(effective)
    perms = effective.permissions or ""
    allow_append = azure_backup.config.allow_append
    excess = analysis.excess_permissions(perms, allow_append)
    allowed = ", ".join(sorted(analysis.allowed_permissions(allow_append)))
    source = effective.source_of("permissions")
    if excess:
        return Finding.failed(f"The SAS ({source}) grants {', '.join(excess)} beyond the write set ({allowed}), so "
                              f"anyone holding the vendor's copy can do more than add backups.",
                              evidence=evidence)
    if not set(perms) & {"c", "w"}:
        return Finding.failed(f"The SAS ({source}) grants sp={perms or '(nothing)'} without c (create) or w (write), "
                              f"so the vendor cannot create a backup blob; Azure refuses the write with 403 "
                              f"AuthorizationPermissionMismatch.", evidence=evidence)
    return Finding.passed(f"The SAS ({source}) grants only sp={perms}, within the write set ({allowed}).",
                          evidence=evidence)


@check(
    title="The backup SAS is valid over HTTPS only (spr=https)",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        Without spr=https the token and the records it carries may travel unencrypted; anyone on the path can
        copy the SAS and replay it until it expires. Part 11 §11.30 asks for controls such as encryption on
        open systems.
    """,
    remediation="""
        Re-issue the SAS with `--https-only` (`az storage container generate-sas ... --https-only`; portal:
        Allowed protocols = HTTPS only), and turn on "Secure transfer required" on the storage account.
    """,
    controls=("21CFR11.30", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_requires_https(azure_backup: AzureBackup) -> Finding:
    effective = effective_or_finding(azure_backup)
    if isinstance(effective, Finding):
        return effective
    evidence = sas_evidence(effective)
    protocol = effective.token.protocol
    if protocol is None:
        return Finding.failed("The SAS has no spr field, so it is accepted over plain HTTP as well as HTTPS.",
                              evidence=evidence)
    if protocol != "https":
        return Finding.failed(f"The SAS allows spr={protocol}, so it is accepted over plain HTTP.",
                              evidence=evidence)
    if not effective.token.https_only:
        return Finding.failed(f"The SAS says spr=https but is signed with sv={effective.token.version}, older than "
                              f"{PROTOCOL_AND_IP_SINCE}, which does not sign spr, so Azure does not enforce it and "
                              f"accepts the SAS over plain HTTP.", evidence=evidence)
    return Finding.passed("The SAS is signed for HTTPS only (spr=https).",
                          evidence=evidence)


@check(
    title="The backup SAS has an expiry time",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A SAS without an end date (possible when a stored access policy omits it) stays valid until the policy
        is deleted or the key rotated: a leaked copy works forever.
    """,
    remediation="""
        Set an expiry on the stored access policy (`az storage container policy update --container-name <c>
        --name <policy> --expiry <date>`) or re-issue the SAS with `--expiry`.
    """,
    controls=("21CFR11.10(d)", "21CFR11.300", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_has_expiry(azure_backup: AzureBackup) -> Finding:
    effective = effective_or_finding(azure_backup, needs="expiry")
    if isinstance(effective, Finding):
        return effective
    evidence = sas_evidence(effective)
    if effective.expiry is None:
        return Finding.failed(f"Neither the SAS nor its stored access policy {effective.token.policy_id!r} sets an "
                              f"expiry, so a leaked copy never stops working.",
                              evidence=evidence)
    return Finding.passed(f"The SAS expires on {when(effective.expiry)} (set by {effective.source_of('expiry')}).",
                          evidence=evidence)


def _expiry_or_finding(backup: AzureBackup) -> EffectiveSas | Finding:
    effective = effective_or_finding(backup, needs="expiry")
    if isinstance(effective, EffectiveSas) and effective.expiry is None:
        return Finding.failed("The SAS has no expiry at all (see azure_sas_has_expiry).",
                              evidence=sas_evidence(effective))
    return effective


@check(
    title="The backup SAS stays valid for at least sas_min_days_left more days",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A SAS that expires quietly stops every backup write; the gap is found when the copy is needed, for
        example the week of an inspection. Renewal has to happen well before the expiry date.
    """,
    remediation="""
        Issue a new SAS (or extend the stored access policy's expiry with `az storage container policy update
        --expiry <date>`), update the vendor's page and the `azure.sas_env` variable, and put the next renewal
        date in the calendar.
    """,
    controls=("EUAnnex11-7.2", "EUAnnex11-16", "21CFR11.10(c)"), permissions=SAS,
)
def test_azure_sas_not_expiring_soon(azure_backup: AzureBackup) -> Finding:
    effective = _expiry_or_finding(azure_backup)
    if isinstance(effective, Finding):
        return effective
    assert effective.expiry is not None
    left = analysis.days(effective.expiry - datetime.now(UTC))
    minimum = azure_backup.config.sas_min_days_left
    evidence = sas_evidence(effective)
    bound = _key_bound(effective)
    if left <= 0:
        return Finding.failed(f"The SAS expired on {when(effective.expiry)}{bound} ({-left:.0f} days ago), so every "
                              f"backup write is refused.", evidence=evidence)
    if left < minimum:
        return Finding.failed(f"The SAS expires on {when(effective.expiry)}{bound}, in {left:.1f} days, less than the "
                              f"{minimum} days required (azure.sas_min_days_left); renew it now.",
                              evidence=evidence)
    return Finding.passed(f"The SAS expires on {when(effective.expiry)}{bound}, {left:.0f} days from now (at least "
                          f"{minimum} required).", evidence=evidence)


def _key_bound(effective: EffectiveSas) -> str:
    """' (set by ...)' when a user delegation key's expiry, not se, ends the SAS."""
    return f" (set by {effective.source_of('expiry')})" if effective.key_bounds_expiry else ""


@check(
    title="The backup SAS lifetime is at most max_sas_lifetime_days",
    severity=Severity.MEDIUM, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A SAS is a bearer credential. The longer it lives, the longer a leaked copy works; Part 11 §11.300 asks
        that identification codes and passwords are periodically checked, recalled or revised.
    """,
    remediation="""
        Issue SASs that live at most `azure.max_sas_lifetime_days` (default 400) and renew them on a schedule;
        set a SAS expiration policy on the account (`az storage account update --sas-expiration-period`).
    """,
    controls=("21CFR11.300", "21CFR11.10(d)", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_lifetime_bounded(azure_backup: AzureBackup) -> Finding:
    effective = _expiry_or_finding(azure_backup)
    if isinstance(effective, Finding):
        return effective
    assert effective.expiry is not None
    now = datetime.now(UTC)
    start = effective.start
    origin = start if start is not None else now
    lifetime = analysis.days(effective.expiry - origin)
    limit = azure_backup.config.max_sas_lifetime_days
    measured = (f"from its start {when(start)}" if start is not None
                else "from now (the SAS has no start time, so its issue date is unknown)")
    evidence = sas_evidence(effective)
    bound = _key_bound(effective)
    if lifetime > limit:
        return Finding.failed(f"The SAS is valid for {lifetime:.0f} days {measured}{bound}, more than the {limit} "
                              f"days allowed (azure.max_sas_lifetime_days).",
                              evidence=evidence)
    return Finding.passed(f"The SAS is valid for {lifetime:.0f} days {measured}{bound}, within {limit} days.",
                          evidence=evidence)


@check(
    title="The backup SAS's IP range (sip) admits every address the vendor writes from",
    severity=Severity.HIGH, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        A SAS with `sip` is accepted only from that address or range; a request from elsewhere gets 403
        AuthorizationSourceIPMismatch ("SAS error codes"), so a range that leaves out any of the vendor's
        published egress addresses silently refuses backups sent from there. An IP range is valid defence in
        depth only when the vendor publishes its addresses (`azure.vendor_ips`, by default `vendor.source_ips`).
    """,
    remediation="""
        Re-issue the SAS with `--ip <low>-<high>` covering every range in `azure.vendor_ips` (or without `--ip`
        when the vendor publishes no egress addresses), and list the vendor's published ranges in the chain config.
    """,
    controls=("EUAnnex11-7.2", "EUAnnex11-16", "21CFR11.10(c)"), permissions=SAS,
)
def test_azure_sas_ip_range_admits_vendor(azure_backup: AzureBackup) -> Finding:
    effective = effective_or_finding(azure_backup)
    if isinstance(effective, Finding):
        return effective
    token, evidence = effective.token, sas_evidence(effective)
    vendor_ips = azure_backup.config.vendor_ips
    if token.ip_range is None:
        return Finding.passed("The SAS has no IP restriction (sip), so the vendor can write from any address.",
                              evidence=evidence)
    if not vendor_ips:
        return Finding.failed(f"The SAS only accepts requests from {token.ip_range}, but the vendor's addresses are "
                              f"not known (azure.vendor_ips and vendor.source_ips are empty), so nothing shows the "
                              f"vendor writes from inside that range.",
                              evidence=evidence)
    outside = analysis.outside_ip_range(token, vendor_ips)
    if outside:
        return Finding.failed(f"The SAS only accepts requests from {token.ip_range}, which leaves out the vendor's "
                              f"published {', '.join(outside)}; backups sent from there are refused (403 "
                              f"AuthorizationSourceIPMismatch).", evidence=evidence)
    return Finding.passed(f"The SAS's IP range {token.ip_range} covers every published vendor network "
                          f"({', '.join(vendor_ips)}).", evidence=evidence)


@check(
    title="The backup SAS can be revoked without rotating the account key, or is short-lived",
    severity=Severity.LOW, provider=Provider.AZURE, resource=Subject.BACKUP_CONTAINER,
    rationale="""
        When the vendor's copy leaks, the SAS must be stopped at once. A policy-bound SAS is revoked by deleting
        its stored access policy; a user delegation SAS by revoking delegation keys; a plain account-key SAS only
        by rotating the account key, which breaks every other client of that key.
    """,
    remediation="""
        Prefer a SAS bound to a stored access policy (`az storage container policy create --container-name <c>
        --name backup-writer --permissions cw --expiry <date>`, then `generate-sas --policy-name backup-writer`)
        or a user delegation SAS (`--as-user --auth-mode login`), and write the revocation steps into the
        backup procedure.
    """,
    controls=("21CFR11.300", "21CFR11.10(d)", "EUAnnex11-12.1"), permissions=SAS,
)
def test_azure_sas_revocable(azure_backup: AzureBackup) -> Finding:
    effective = effective_or_finding(azure_backup)
    if isinstance(effective, Finding):
        return effective
    evidence = sas_evidence(effective)
    method, how = analysis.revocation(effective)
    suffix = ""
    if effective.policy_state is PolicyState.MISSING:
        suffix = " The policy is already absent, so this SAS is revoked now."
    if method is analysis.RevocationMethod.ACCOUNT_KEY_ROTATION:
        if effective.token.is_account_sas:
            return Finding.failed(f"The account SAS can be revoked {how}; a leaked copy reaches every container "
                                  "until then.", evidence=evidence)
        limit = azure_backup.config.max_unrevocable_sas_days
        if effective.expiry is None:
            return Finding.failed(f"The SAS has no expiry and can be revoked {how}.",
                                  evidence=evidence)
        left = analysis.days(effective.expiry - datetime.now(UTC))
        if left > limit:
            return Finding.failed(
                f"The SAS stays valid for {left:.0f} more days and can be revoked {how}; without a stored access "
                f"policy it must expire within {limit} days (azure.max_unrevocable_sas_days).",
                evidence=evidence)
        return Finding.passed(f"The SAS has no stored access policy, but expires within {limit} days; until then "
                              f"it is revocable {how}.",
                              evidence=evidence)
    return Finding.passed(f"The SAS is revocable by {method}: {how}.{suffix}",
                          evidence=evidence)
