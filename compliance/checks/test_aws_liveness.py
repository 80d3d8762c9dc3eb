"""Liveness: a real canary export through the chain (moto), and exports are arriving (moto and live)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from compliance.chain import permissions as perms
from compliance.chain.evidence import EvidenceKit
from compliance.chain.intended import KMS_ALGORITHMS
from compliance.chain.requests import external_id_unavailable
from compliance.chain.view import ChainView
from compliance.model import Finding, Provider, Severity
from compliance.registry import check

CANARY_DIR = "compliance-canary/"
MOTO_NOTE = (
    "moto does not evaluate trust policies, conditions or bucket-policy Allows, and applies any bucket-policy Deny to "
    "every put regardless of its conditions. The policy decisions are therefore proven by the engine-based checks; "
    "this canary proves the plumbing: the role can be assumed, the object lands under the prefix, and the bucket "
    "applies its default SSE-KMS key and Object Lock retention. The bucket policy of this throwaway moto deployment "
    "was lifted for the canary put and restored right after."
)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


@check(
    title="A canary export through the assumed role lands encrypted with the bucket key and locked",
    severity=Severity.HIGH,
    provider=Provider.AWS,
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
    kit = EvidenceKit(chain_view)
    if getattr(aws_target, "name", "") != "moto":
        return Finding.not_supported("Live mode has no vendor credentials and never writes; aws_exports_arriving "
                                     "checks that real exports arrive.", resource=chain.aws.bucket)
    if chain_view.proposals:
        return Finding.not_applicable("--proposed is in effect: the canary would exercise the deployed policies, "
                                      "not the proposed ones.", resource=chain.aws.bucket)
    external_id = chain.external_id()
    if external_id is None:
        return external_id_unavailable(chain)
    bucket = chain_view.bucket()
    encryption = bucket.encryption.require()
    lock = bucket.object_lock.require()
    key = chain_view.kms_key()
    region = chain.aws.region
    steps: list[str] = []
    sts = aws_target.client("sts", chain.vendor.account, region)
    tags = [{"Key": k, "Value": v} for k, v in chain.vendor.session_tags.items()]
    try:
        creds = sts.assume_role(RoleArn=chain.vendor.configured_role_arn, RoleSessionName="compliance-canary",
                                ExternalId=external_id, **({"Tags": tags} if tags else {}))["Credentials"]
    except ClientError as exc:
        return Finding.failed(f"The vendor's AssumeRole on {chain.vendor.configured_role_arn} failed "
                              f"({_error_code(exc)}).", resource=chain.aws.role_arn)
    steps.append("sts:AssumeRole as the vendor with the ExternalId and session tags: OK")
    session = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
               "aws_session_token": creds["SessionToken"]}
    s3 = aws_target.client("s3", chain.aws.account, region, **session)
    admin = aws_target.client("s3", chain.aws.account, region)
    object_key = f"{chain.aws.prefix}{CANARY_DIR}{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.txt"
    lifted: str | None = None
    try:
        try:
            lifted = admin.get_bucket_policy(Bucket=chain.aws.bucket)["Policy"]
            admin.delete_bucket_policy(Bucket=chain.aws.bucket)
        except ClientError as exc:
            if _error_code(exc) != "NoSuchBucketPolicy":
                raise
        s3.put_object(Bucket=chain.aws.bucket, Key=object_key, Body=b"export-chain-compliance canary\n")
        steps.append(f"s3:PutObject {object_key} with the session's credentials: OK")
        head = s3.head_object(Bucket=chain.aws.bucket, Key=object_key)
    except ClientError as exc:
        return Finding.failed(f"The canary put of {object_key} with the role session failed ({_error_code(exc)}).",
                              resource=chain.aws.bucket,
                              evidence=(kit.note("Steps", steps), kit.note("moto", MOTO_NOTE)))
    finally:
        if lifted is not None:
            admin.put_bucket_policy(Bucket=chain.aws.bucket, Policy=lifted)
            steps.append("bucket policy restored")
    observed = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in head.items()
                if k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "ObjectLockMode",
                         "ObjectLockRetainUntilDate", "VersionId")}
    evidence = (kit.note("Steps", steps), kit.note("HeadObject of the canary", observed, "s3:HeadObject"),
                kit.note("moto", MOTO_NOTE))
    problems: list[str] = []
    if encryption is not None and encryption.algorithm in KMS_ALGORITHMS:
        if head.get("ServerSideEncryption") not in KMS_ALGORITHMS:
            problems.append(f"it is encrypted with {head.get('ServerSideEncryption') or 'nothing'}, not SSE-KMS")
        elif key is not None and head.get("SSEKMSKeyId") not in (key.arn, key.key_id):
            problems.append(f"it is encrypted with {head.get('SSEKMSKeyId')}, not the bucket key {key.arn}")
    else:
        problems.append("the bucket has no SSE-KMS default, so the canary is not SSE-KMS encrypted")
    if lock is not None and lock.enabled and lock.retention_days:
        until = head.get("ObjectLockRetainUntilDate")
        minimum = datetime.now(UTC) + timedelta(days=chain.aws.min_retention_days - 1)
        if head.get("ObjectLockMode") != "COMPLIANCE":
            problems.append(f"its Object Lock mode is {head.get('ObjectLockMode') or 'none'}, not COMPLIANCE")
        elif not isinstance(until, datetime) or until < minimum:
            problems.append(f"it is retained only until {until}")
    else:
        problems.append("the bucket applies no default Object Lock retention, so the canary is not locked")
    if problems:
        return Finding.failed(f"The canary export {object_key} landed, but {'; '.join(problems)}.",
                              resource=chain.aws.bucket, evidence=evidence)
    return Finding.passed(f"The canary export {object_key} landed through the assumed role, encrypted with the bucket "
                          f"key and locked in COMPLIANCE mode until {observed.get('ObjectLockRetainUntilDate')}.",
                          resource=chain.aws.bucket, evidence=evidence)


@check(
    title="Exports are arriving: the newest object under the prefix is younger than the allowed age",
    severity=Severity.HIGH,
    provider=Provider.AWS,
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
