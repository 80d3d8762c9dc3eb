"""The intended export, gate by gate: what must be allowed for one audit report to land."""

from __future__ import annotations

from collections.abc import Mapping

from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.gates import Gate
from compliance.chain.requests import (
    ACL_OWNER_FULL_CONTROL,
    assume_request,
    evaluation_ips,
    kms_request,
    put_context,
    put_request,
    sample_key,
    session_caller,
    vendor_caller,
)
from compliance.chain.view import ChainView
from compliance.iam import Evaluation, Request

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def intended_put(view: ChainView, evaluator: ChainEvaluator, *, key: str | None = None, ip: str | None = None,
                 session_tags: Mapping[str, str] | None = None, principal_only: bool = False) -> Evaluation:
    """The session's PutObject with the headers the bucket expects; without an ACL header, else with
    bucket-owner-full-control (the only ACL a bucket with ACLs disabled accepts)."""
    chain = view.chain
    bucket = view.bucket()
    encryption = bucket.encryption.require()
    kms_key = view.kms_key() if encryption is not None and encryption.algorithm in KMS_ALGORITHMS else None
    key_arn = kms_key.arn if kms_key is not None else (encryption.kms_key_id if encryption else None)
    session = session_caller(chain, view.role(), session_tags)
    ip = ip or evaluation_ips(chain)[0]
    first: Evaluation | None = None
    for acl in (None, ACL_OWNER_FULL_CONTROL):
        context = put_context(chain, encryption, key_arn, acl=acl, source_ip=ip)
        request = put_request(chain, session, chain.aws.bucket, key or sample_key(chain), context)
        evaluation = evaluator.principal_side(request) if principal_only else evaluator.put(request)
        if evaluation.allowed():
            return evaluation
        first = first or evaluation
    assert first is not None
    return first


def kms_requests(view: ChainView, session_tags: Mapping[str, str] | None = None) -> list[Request]:
    """kms:GenerateDataKey (every SSE-KMS put) and kms:Decrypt (multipart uploads) on the bucket key."""
    bucket = view.bucket()
    encryption = bucket.encryption.require()
    if encryption is None or encryption.algorithm not in KMS_ALGORITHMS:
        return []
    key = view.kms_key()
    if key is None:
        return []
    session = session_caller(view.chain, view.role(), session_tags)
    return [kms_request(view.chain, session, action, key.arn, sample_key(view.chain),
                        bucket_key=encryption.bucket_key_enabled)
            for action in ("kms:GenerateDataKey", "kms:Decrypt")]


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
    gates.append(Gate(f"the role session calls s3:PutObject on {put.request.resource}",
                      "role identity policies ∩ permissions boundary ∩ SCPs, then the bucket policy", put))
    for request in kms_requests(view, tags):
        gates.append(Gate(f"S3 calls {request.action} on the bucket key {request.resource} for the session",
                          "role identity policies ∩ permissions boundary ∩ SCPs, then the key policy",
                          evaluator.kms(request)))
    return gates
