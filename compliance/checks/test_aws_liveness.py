"""Liveness: a real canary export through the chain (moto), and exports are arriving (moto and live)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from compliance.chain import permissions as perms
from compliance.chain.evidence import EvidenceKit
from compliance.chain.intended import KMS_ALGORITHMS
from compliance.chain.requests import external_id_unavailable
from compliance.chain.view import ChainView
from compliance.model import Finding, Provider, Severity
from compliance.registry import Subject, check
from compliance.targets.canary import CANARY_DIR, CanaryExport, CanaryMode, CanaryOutcome, LandedObject, LockMode
from compliance.targets.snapshot import Encryption, KmsKey, ObjectLock

MOTO_NOTE = (
    "moto does not evaluate trust policies, conditions or bucket-policy Allows, and applies any bucket-policy Deny to "
    "every put regardless of its conditions. The policy decisions are therefore proven by the engine-based checks; "
    "this canary proves the plumbing: the role can be assumed, the object lands under the prefix, and the bucket "
    "applies its default SSE-KMS key and Object Lock retention. The bucket policy of this throwaway moto deployment "
    "was lifted for the canary put and restored right after."
)


@check(
    title="A canary export through the assumed role lands encrypted with the bucket key and locked",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        Static evaluation can be wrong about what the service really does. In the emulated target the suite performs
        the vendor's real calls: AssumeRole with the ExternalId and session tags, PutObject of a canary under the
        prefix with the session's credentials, then HeadObject to confirm SSE-KMS with the bucket's key and the
        Object Lock retention. Live mode has no vendor credentials and never writes, so this check is not supported
        there; aws_exports_arriving covers live liveness.
    """,
    remediation="""
        Follow the failing step: AssumeRole (trust policy), PutObject (role, bucket policy, KMS), or the bucket's
        default encryption and Object Lock configuration.
    """,
    controls=("21CFR11.10(a)", "21CFR11.10(c)", "EUAnnex11-4", "EUAnnex11-5"),
    permissions=perms.union(perms.KEY, perms.OBJECT_LOCK),
)
def test_aws_canary_export_encrypted_and_locked(chain_view: ChainView, aws_target: Any) -> Finding:
    chain = chain_view.chain
    if getattr(aws_target, "canary_mode", CanaryMode.NEVER_WRITES) is not CanaryMode.WRITES:
        return Finding.not_supported("Live mode has no vendor credentials and never writes; aws_exports_arriving "
                                     "checks that real exports arrive.", resource=chain.aws.bucket)
    if chain_view.proposals:
        return Finding.not_applicable("--proposed is in effect: the canary would exercise the deployed policies, "
                                      "not the proposed ones.", resource=chain.aws.bucket)
    external_id = chain.external_id()
    if external_id is None:
        return external_id_unavailable(chain)
    bucket = chain_view.bucket()  # the intent is read before anything is written: unreadable is ERROR
    intent = _Intent(bucket.encryption.require(), bucket.object_lock.require(), chain_view.kms_key())
    return _judge_canary(chain_view, intent, aws_target.canary_export(chain, external_id))


@dataclass(frozen=True, slots=True)
class _Intent:
    """What the bucket promises every export: its default encryption, Object Lock and KMS key."""

    encryption: Encryption | None
    lock: ObjectLock | None
    key: KmsKey | None


def _judge_canary(chain_view: ChainView, intent: _Intent, export: CanaryExport) -> Finding:
    chain, kit = chain_view.chain, EvidenceKit(chain_view)
    if export.outcome is CanaryOutcome.ROLE_REFUSED:
        return Finding.failed(f"The vendor's AssumeRole on {chain.vendor.configured_role_arn} failed "
                              f"({export.error_code}).", resource=chain.aws.role_arn)
    steps, moto = kit.note("Steps", list(export.steps)), kit.note("moto", MOTO_NOTE)
    if export.landed is None:
        return Finding.failed(f"The canary put of {export.object_key} with the role session failed "
                              f"({export.error_code}).", resource=chain.aws.bucket, evidence=(steps, moto))
    observed = export.landed.to_json()
    evidence = (steps, kit.note("HeadObject of the canary", observed, "s3:HeadObject"), moto)
    problems = _encryption_problems(intent, export.landed) + _lock_problems(intent, chain.aws.min_retention_days,
                                                                            export.landed)
    if problems:
        return Finding.failed(f"The canary export {export.object_key} landed, but {'; '.join(problems)}.",
                              resource=chain.aws.bucket, evidence=evidence)
    return Finding.passed(f"The canary export {export.object_key} landed through the assumed role, encrypted with "
                          f"the bucket key and locked in COMPLIANCE mode until "
                          f"{observed.get('ObjectLockRetainUntilDate')}.", resource=chain.aws.bucket, evidence=evidence)


def _encryption_problems(intent: _Intent, landed: LandedObject) -> list[str]:
    encryption, key = intent.encryption, intent.key
    if encryption is None or encryption.algorithm not in KMS_ALGORITHMS:
        return ["the bucket has no SSE-KMS default, so the canary is not SSE-KMS encrypted"]
    if landed.encryption not in KMS_ALGORITHMS:
        return [f"it is encrypted with {landed.encryption or 'nothing'}, not SSE-KMS"]
    if key is not None and landed.kms_key_id not in (key.arn, key.key_id):
        return [f"it is encrypted with {landed.kms_key_id}, not the bucket key {key.arn}"]
    return []


def _lock_problems(intent: _Intent, min_retention_days: int, landed: LandedObject) -> list[str]:
    lock = intent.lock
    if lock is None or not lock.enabled or not lock.retention_days:
        return ["the bucket applies no default Object Lock retention, so the canary is not locked"]
    minimum = datetime.now(UTC) + timedelta(days=min_retention_days - 1)
    if landed.lock_mode is not LockMode.COMPLIANCE:
        return [f"its Object Lock mode is {landed.lock_mode or 'none'}, not COMPLIANCE"]
    if landed.retain_until is None or landed.retain_until < minimum:
        return [f"it is retained only until {landed.retain_until}"]
    return []


@check(
    title="Exports are arriving: the newest object under the prefix is younger than the allowed age",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        A broken chain fails silently: the vendor stops writing and nobody notices until an inspection. The newest
        object under the prefix must be younger than aws.max_export_age_hours.
    """,
    remediation="""
        Look at the vendor's export log and at the failing chain check; trigger an export once the chain passes.
    """,
    controls=("21CFR11.10(a)", "EUAnnex11-7.2", "EUAnnex11-11", "EUAnnex11-16"),
    permissions=perms.LISTING,
)
def test_aws_exports_arriving(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    listing = chain_view.bucket().newest_objects.require()
    objects = [o for o in (listing.objects if listing else ()) if CANARY_DIR not in o.key]
    where = f"s3://{chain.aws.bucket}/{chain.aws.prefix}"
    if not objects:
        return Finding.failed(f"No export exists under {where}, so the vendor has never written successfully.",
                              resource=chain.aws.bucket)
    newest = objects[0]
    age = datetime.now(UTC) - datetime.fromisoformat(newest.last_modified)
    hours = age.total_seconds() / 3600
    evidence = (kit.note("Newest objects under the prefix", [o.to_json() for o in objects], "s3:ListObjectsV2"),)
    if hours > chain.aws.max_export_age_hours:
        return Finding.failed(f"The newest export under {where} ({newest.key}) is {hours:.1f} hours old, older than "
                              f"the allowed {chain.aws.max_export_age_hours:g} hours, so exports have stopped "
                              "arriving.",
                              resource=chain.aws.bucket, evidence=evidence)
    return Finding.passed(f"The newest export under {where} ({newest.key}) is {hours:.1f} hours old "
                          f"(allowed: {chain.aws.max_export_age_hours:g}).", resource=chain.aws.bucket,
                          evidence=evidence)
