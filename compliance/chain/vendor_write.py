"""What the vendor's writes carry, and which KMS calls S3 makes for them (item 7 of issue 10).

The request the chain evaluates is built from the declared `[vendor]` keys (`sse_header`, `kms_key_id_header`,
`acl`, `upload_kinds`), resolved against the bucket's default encryption, never from assumptions.

AWS behaviour this module encodes (Amazon S3 User Guide and API Reference):

* PutObject, header x-amz-server-side-encryption-aws-kms-key-id: "If you specify
  x-amz-server-side-encryption:aws:kms or aws:kms:dsse, but do not provide x-amz-server-side-encryption-aws-kms-key-id,
  Amazon S3 uses the AWS managed key (aws/s3) to protect the data"
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html). Without an SSE header S3 applies the bucket's
  default encryption ("Setting default server-side encryption behavior for Amazon S3 buckets").
* "Using server-side encryption with AWS KMS keys (SSE-KMS)", Permissions: uploading an SSE-KMS object needs
  kms:GenerateDataKey on the key; "Multipart upload API and permissions" (mpuoverview.html#mpuAndPermissions) and
  https://repost.aws/knowledge-center/s3-multipart-kms-decrypt: a multipart upload needs kms:GenerateDataKey
  (CreateMultipartUpload) and kms:Decrypt (UploadPart / CompleteMultipartUpload: S3 decrypts the parts to assemble
  them). A single-part PutObject needs no kms:Decrypt.
* "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys" (bucket-key.html) and "Configuring your bucket to use an
  S3 Bucket Key": with a Bucket Key the encryption context S3 passes to KMS is the bucket ARN
  (aws:s3:arn = arn:aws:s3:::BUCKET) instead of the object ARN; the actions needed are the same; Bucket Keys are not
  supported for DSSE-KMS, so aws:kms:dsse always uses the object ARN.
* "Controlling ownership of objects" / object-ownership-error-responses.html: with BucketOwnerEnforced a PUT that
  carries any ACL other than bucket-owner-full-control fails with AccessControlListNotSupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance.config import Chain, SseHeader, UploadKind
from compliance.targets.snapshot import Encryption

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
SSE_HEADER = "s3:x-amz-server-side-encryption"
KEY_ID_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
ACL_HEADER = "s3:x-amz-acl"
ACL_ALLOWED_WITH_OWNER_ENFORCED = "bucket-owner-full-control"


@dataclass(frozen=True, slots=True)
class WriteHeaders:
    """The encryption and ACL headers of one vendor write (None = the header is not sent)."""

    sse: str | None = None
    kms_key_id: str | None = None
    acl: str | None = None

    def context(self) -> dict[str, str]:
        """The S3 condition keys these headers populate."""
        out: dict[str, str] = {}
        if self.sse is not None:
            out[SSE_HEADER] = self.sse
        if self.kms_key_id is not None:
            out[KEY_ID_HEADER] = self.kms_key_id
        if self.acl is not None:
            out[ACL_HEADER] = self.acl
        return out


@dataclass(frozen=True, slots=True)
class AppliedEncryption:
    """How S3 encrypts the vendor's object: the algorithm, the KMS key (None = aws/s3 or no KMS) and Bucket Key."""

    algorithm: str  # "AES256" when neither the request nor the bucket asks for more (S3's default SSE-S3)
    key_arn: str | None
    bucket_key: bool

    @property
    def kms(self) -> bool:
        return self.algorithm in KMS_ALGORITHMS

    @property
    def aws_managed_key(self) -> bool:
        """SSE-KMS with the AWS managed key aws/s3, whose policy the customer cannot restrict."""
        return self.kms and self.key_arn is None


def declared_headers(chain: Chain, encryption: Encryption | None, key_arn: str | None) -> WriteHeaders:
    """The headers the vendor is declared to send, given the bucket's default encryption and key.

    `vendor.sse_header = "bucket-default"` sends the bucket's default algorithm (no header when the bucket has no
    default-encryption configuration); the key-id header carries `key_arn` and goes only with an SSE-KMS header.
    """
    vendor = chain.vendor
    default = encryption.algorithm if encryption is not None and encryption.algorithm else None
    if vendor.sse_header is SseHeader.BUCKET_DEFAULT:
        sse = default
    elif vendor.sse_header is SseHeader.NONE:
        sse = None
    else:
        sse = vendor.sse_header.value
    key_id = key_arn if sse in KMS_ALGORITHMS and vendor.kms_key_id_header and key_arn else None
    return WriteHeaders(sse, key_id, vendor.acl.value if vendor.acl is not None else None)


def applied_encryption(headers: WriteHeaders, encryption: Encryption | None,
                       key_arn: str | None) -> AppliedEncryption:
    """What S3 does with those headers: a request header overrides the bucket default (PutObject API reference)."""
    bucket_key_setting = bool(encryption is not None and encryption.bucket_key_enabled)
    if headers.sse is not None:
        algorithm = headers.sse
        key = headers.kms_key_id if algorithm in KMS_ALGORITHMS else None
    elif encryption is not None and encryption.algorithm:
        algorithm = encryption.algorithm
        key = key_arn if algorithm in KMS_ALGORITHMS else None
    else:
        algorithm, key = "AES256", None
    return AppliedEncryption(algorithm, key, bucket_key_setting and algorithm == "aws:kms")


@dataclass(frozen=True, slots=True)
class KmsNeed:
    """One KMS action S3 calls for the vendor's writes, and the declared upload kinds that need it."""

    action: str
    kinds: tuple[UploadKind, ...]

    def consequence(self) -> str:
        """What breaks when this action is denied: true as written for the declared upload kinds."""
        if self.action == "kms:GenerateDataKey":
            return "so every SSE-KMS write fails (single-part PutObject and multipart uploads both need it)"
        return ("so multipart uploads fail (S3 needs kms:Decrypt to assemble SSE-KMS parts; a single-part "
                "PutObject does not need it)")


def kms_needs(kinds: tuple[UploadKind, ...]) -> tuple[KmsNeed, ...]:
    """The key permissions the declared upload kinds need (see the module docstring for the sources)."""
    needs = [KmsNeed("kms:GenerateDataKey", kinds)]
    if UploadKind.MULTIPART in kinds:
        needs.append(KmsNeed("kms:Decrypt", (UploadKind.MULTIPART,)))
    return tuple(needs)


def declared_note(chain: Chain, headers: WriteHeaders, applied: AppliedEncryption | None = None) -> dict[str, Any]:
    """Evidence data: the declared [vendor] keys and the headers they resolve to for this bucket."""
    data: dict[str, Any] = {"declared": chain.vendor.declared_headers(),
                            "headers sent": {k.removeprefix("s3:"): v for k, v in headers.context().items()}}
    if applied is not None:
        data["encryption applied by S3"] = {
            "algorithm": applied.algorithm,
            "kms_key": applied.key_arn or ("AWS managed key aws/s3" if applied.kms else None),
            "bucket_key": applied.bucket_key}
    return data


def describe_headers(headers: WriteHeaders) -> str:
    """The headers as a clause: "x-amz-server-side-encryption: aws:kms, no key-id header and no x-amz-acl"."""
    parts = [f"x-amz-server-side-encryption: {headers.sse}" if headers.sse is not None
             else "no x-amz-server-side-encryption header"]
    if headers.sse in KMS_ALGORITHMS:
        parts.append(f"x-amz-server-side-encryption-aws-kms-key-id: {headers.kms_key_id}"
                     if headers.kms_key_id is not None else "no key-id header")
    parts.append(f"x-amz-acl: {headers.acl}" if headers.acl is not None else "no x-amz-acl")
    return ", ".join(parts[:-1]) + " and " + parts[-1]
