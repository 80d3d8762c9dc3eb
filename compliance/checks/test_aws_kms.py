"""The bucket's KMS key: it must be usable, or every SSE-KMS write fails and the written records cannot be read."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evidence import EvidenceKit
from compliance.chain.intended import KMS_ALGORITHMS
from compliance.chain.view import ChainView
from compliance.model import Evidence, Finding, Provider, Severity
from compliance.registry import Subject, check
from compliance.targets.snapshot import KeyState, KmsKey

KEY_STATES_DOC = "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html"
SSE_KMS_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"

USABLE = {
    KeyState.ENABLED: "Enabled",
    KeyState.UPDATING: "Updating (a multi-Region key whose primary Region is changing; cryptographic operations "
                       "still succeed)",
}
"""Key states in which KMS performs cryptographic operations (the key state table of KEY_STATES_DOC)."""

WHY = {
    KeyState.DISABLED: "a disabled key cannot be used in any cryptographic operation until it is re-enabled",
    KeyState.PENDING_DELETION: "a key pending deletion cannot be used, and once deleted every record encrypted "
                               "under it is unrecoverable",
    KeyState.PENDING_REPLICA_DELETION: "a multi-Region primary key waiting for its replicas to be deleted cannot "
                                       "be used and is then deleted",
    KeyState.PENDING_IMPORT: "its imported key material is missing or expired, so it cannot be used",
    KeyState.UNAVAILABLE: "its custom key store is disconnected, so it cannot be used",
    KeyState.CREATING: "a replica key still being created cannot be used yet",
}
SYMMETRIC = "SYMMETRIC_DEFAULT"


def _evidence(kit: EvidenceKit, key: KmsKey) -> tuple[Evidence, ...]:
    data = {"key_arn": key.arn, "key_state": key.key_state, "enabled": key.enabled,
            "deletion_date": key.deletion_date, "key_manager": key.key_manager, "key_spec": key.key_spec,
            "key_usage": key.key_usage, "origin": key.origin}
    return (kit.note("KMS key metadata (DescribeKey)", data, "kms:DescribeKey"),)


@check(
    title="The bucket's KMS key is enabled and usable for SSE-KMS",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale=f"""
        With SSE-KMS every write makes S3 ask KMS for a data key and every read asks KMS to decrypt it. A key that is
        Disabled, PendingDeletion, PendingReplicaDeletion, PendingImport, Unavailable or still Creating takes part
        in no cryptographic operation ({KEY_STATES_DOC}): every export fails with KMS.DisabledException or
        KMSInvalidStateException, and the records already written cannot be read. A key pending deletion
        destroys them for good when its waiting period ends. S3 also uses only symmetric encryption keys
        ({SSE_KMS_DOC}).
    """,
    remediation="""
        Disabled: aws kms enable-key --key-id KEY_ARN. PendingDeletion: aws kms cancel-key-deletion --key-id KEY_ARN,
        then aws kms enable-key --key-id KEY_ARN. PendingImport: import the key material again. Unavailable: connect
        the custom key store. Deny kms:DisableKey and kms:ScheduleKeyDeletion on the key to everyone but a
        break-glass role (key policy or SCP).
    """,
    controls=("21CFR11.10(c)", "EUAnnex11-7.1", "EUAnnex11-17"),
    permissions=perms.KEY,
)
def test_aws_kms_key_usable(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    bucket = chain_view.bucket()
    encryption = bucket.encryption.require()
    if encryption is None or encryption.algorithm not in KMS_ALGORITHMS:
        algorithm = encryption.algorithm if encryption is not None else "no default encryption"
        return Finding.not_applicable(f"The bucket does not use SSE-KMS ({algorithm}), so no KMS key state applies.")
    key = chain_view.kms_key()
    if key is None:
        return Finding.not_applicable("The bucket uses the AWS managed key aws/s3, not a customer managed key.")
    if key.key_manager == "AWS":
        return Finding.not_applicable(f"The bucket's key {key.arn} is an AWS managed key, not a customer managed "
                                      "key.", resource=key.arn)
    evidence = _evidence(kit, key)
    if not key.key_state:
        return Finding.error(f"kms:DescribeKey returned no KeyState for {key.arn}, so the key's usability is "
                             "unknown.", resource=key.arn, evidence=evidence)
    state = key.state
    if state is None:
        return Finding.error(f"The key {key.arn} is in key state {key.key_state!r}, which this suite does not know; "
                             f"see {KEY_STATES_DOC}.", resource=key.arn, evidence=evidence)
    if state not in USABLE:
        when = f", scheduled for deletion on {key.deletion_date}" if key.deletion_date else ""
        return Finding.failed(
            f"The bucket's KMS key {key.arn} is {state.value}{when}: {WHY[state]}; every SSE-KMS write into "
            f"{chain.aws.bucket} fails and the records already written cannot be decrypted.",
            resource=key.arn, evidence=evidence)
    if key.key_spec and key.key_spec != SYMMETRIC:
        return Finding.failed(
            f"The bucket's KMS key {key.arn} is a {key.key_spec} key; S3 encrypts only with symmetric encryption "
            f"keys ({SYMMETRIC}), so every SSE-KMS write fails.", resource=key.arn,
            evidence=evidence)
    if key.key_usage and key.key_usage != "ENCRYPT_DECRYPT":
        return Finding.failed(
            f"The bucket's KMS key {key.arn} has key usage {key.key_usage}, not ENCRYPT_DECRYPT, so S3 cannot "
            "encrypt with it.", resource=key.arn, evidence=evidence)
    return Finding.passed(f"The bucket's KMS key {key.arn} is {USABLE[state]}.", resource=key.arn,
                          evidence=evidence)
