"""The intended export, gate by gate: what must be allowed for one audit report to land."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.gates import Gate
from compliance.chain.requests import (
    assume_request,
    evaluation_ips,
    kms_request,
    put_context,
    put_request,
    sample_key,
    session_caller,
    vendor_caller,
)
from compliance.chain.vendor_write import (
    KMS_ALGORITHMS,
    AppliedEncryption,
    KmsNeed,
    WriteHeaders,
    applied_encryption,
    declared_headers,
    declared_note,
    describe_headers,
    kms_needs,
)
from compliance.chain.view import ChainView
from compliance.config import CannedAcl
from compliance.iam import Evaluation, Request

__all__ = ["KMS_ALGORITHMS", "DeclaredWrite", "KmsCall", "acl_refused", "declared_write", "intended_gates",
           "intended_put", "kms_calls", "kms_requests"]


@dataclass(frozen=True, slots=True)
class DeclaredWrite:
    """The vendor's write as declared in [vendor], resolved against this bucket: the headers sent, the encryption
    S3 applies, and the bucket key (the customer-managed key of the bucket's default encryption, if any)."""

    headers: WriteHeaders
    applied: AppliedEncryption
    bucket_key_arn: str | None

    def note(self, view: ChainView) -> dict[str, Any]:
        return declared_note(view.chain, self.headers, self.applied)


@dataclass(frozen=True, slots=True)
class KmsCall:
    """One KMS call S3 makes for the declared uploads, with what it serves."""

    need: KmsNeed
    request: Request


def declared_write(view: ChainView) -> DeclaredWrite:
    """Resolve the declared [vendor] headers against the bucket's default encryption (read, or ERROR)."""
    encryption = view.bucket().encryption.require()
    kms_key = view.kms_key() if encryption is not None and encryption.algorithm in KMS_ALGORITHMS else None
    key_arn = kms_key.arn if kms_key is not None else (encryption.kms_key_id if encryption else None)
    headers = declared_headers(view.chain, encryption, key_arn)
    return DeclaredWrite(headers, applied_encryption(headers, encryption, key_arn), key_arn)


def acl_refused(view: ChainView) -> str | None:
    """Why S3 refuses the declared x-amz-acl before any policy is read, or None.

    With object ownership BucketOwnerEnforced (ACLs disabled) a PUT "that contains other ACLs" than
    bucket-owner-full-control fails with AccessControlListNotSupported (S3 User Guide, "Troubleshooting" of
    Object Ownership, object-ownership-error-responses.html). The ownership is always read, so a missing read
    is ERROR whatever the ACL.
    """
    ownership = view.bucket().ownership.require()
    acl = view.chain.vendor.acl
    if acl is None or acl is CannedAcl.BUCKET_OWNER_FULL_CONTROL or ownership != "BucketOwnerEnforced":
        return None
    return (f"the vendor is declared to send x-amz-acl: {acl.value} (vendor.acl), but the bucket's object ownership "
            "is BucketOwnerEnforced (ACLs disabled), so S3 rejects every export with AccessControlListNotSupported")


def intended_put(view: ChainView, evaluator: ChainEvaluator, *, key: str | None = None, ip: str | None = None,
                 session_tags: Mapping[str, str] | None = None, principal_only: bool = False) -> Evaluation:
    """The session's PutObject with exactly the headers the vendor is declared to send (`vendor.sse_header`,
    `kms_key_id_header`, `acl`); multipart uploads are authorised as s3:PutObject with the same headers on
    CreateMultipartUpload (S3 User Guide, "Multipart upload API and permissions")."""
    chain = view.chain
    write = declared_write(view)
    session = session_caller(chain, view.role(), session_tags)
    context = put_context(chain, None, None, source_ip=ip or evaluation_ips(chain)[0], headers=write.headers)
    request = put_request(chain, session, chain.aws.bucket, key or sample_key(chain), context)
    return evaluator.principal_side(request) if principal_only else evaluator.put(request)


def kms_calls(view: ChainView, session_tags: Mapping[str, str] | None = None) -> list[KmsCall]:
    """The KMS calls S3 makes on the session's behalf for the declared upload kinds, on the key the write uses.

    Single-part PutObject: kms:GenerateDataKey. Multipart upload: kms:GenerateDataKey and kms:Decrypt. With an S3
    Bucket Key the same actions, with the bucket ARN as encryption context (sources: compliance.chain.vendor_write).
    None when the write is not SSE-KMS, or uses the AWS managed key aws/s3 (its policy is AWS's, not the chain's).
    """
    write = declared_write(view)
    if not write.applied.kms or write.applied.key_arn is None:
        return []
    key_arn = write.applied.key_arn
    session = session_caller(view.chain, view.role(), session_tags)
    return [KmsCall(need, kms_request(view.chain, session, need.action, key_arn, sample_key(view.chain),
                                      bucket_key=write.applied.bucket_key))
            for need in kms_needs(view.chain.vendor.upload_kinds)]


def kms_requests(view: ChainView, session_tags: Mapping[str, str] | None = None) -> list[Request]:
    """The requests of `kms_calls`."""
    return [call.request for call in kms_calls(view, session_tags)]


def intended_gates(view: ChainView, *, ip: str | None = None, session_tags: Mapping[str, str] | None = None,
                   key: str | None = None, evaluator: ChainEvaluator | None = None) -> list[Gate]:
    """Every gate of one export, evaluated with the positive evaluator (unreadable SCPs raise)."""
    chain = view.chain
    evaluator = evaluator or ChainEvaluator(view, positive=True)
    role = view.role()
    tags = chain.vendor.session_tags if session_tags is None else session_tags
    ip = ip or evaluation_ips(chain)[0]
    vendor = vendor_caller(chain)
    gates: list[Gate] = []
    actions = ["sts:AssumeRole", *(["sts:TagSession"] if tags else [])]
    for action in actions:
        request = assume_request(chain, role.arn, caller=vendor, external_id=chain.external_id(), source_ip=ip,
                                 tags=tags, action=action)
        gates.append(Gate(f"{vendor.label} calls {action} on {role.arn} from {ip}",
                          "role trust policy; vendor identity policy assumed", evaluator.trust(request)))
    put = intended_put(view, evaluator, key=key, ip=ip, session_tags=tags)
    sent = describe_headers(declared_write(view).headers)
    gates.append(Gate(f"the role session calls s3:PutObject on {put.request.resource} with the vendor's declared "
                      f"headers ({sent})",
                      "role identity policies ∩ permissions boundary ∩ SCPs, then the bucket policy", put))
    for call in kms_calls(view, tags):
        kinds = " and ".join(kind.value for kind in call.need.kinds)
        gates.append(Gate(f"S3 calls {call.request.action} on the bucket key {call.request.resource} for the "
                          f"session ({kinds} uploads)",
                          "role identity policies ∩ permissions boundary ∩ SCPs, then the key policy",
                          evaluator.kms(call.request)))
    return gates
