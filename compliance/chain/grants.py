"""KMS grants as key-policy statements, so the policy engine judges them like the key policy.

KMS Developer Guide, "Grants in AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html):
a grant lets its grantee principal call the grant operations on the key, "in addition to" the key policy; a grant
only allows, it never denies. Grant constraints (KMS API Reference, "GrantConstraints",
https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html) apply "only to cryptographic
operations that support an encryption context": `EncryptionContextSubset` allows the operation when the request's
encryption context includes the listed pairs, `EncryptionContextEquals` when it is exactly those pairs; they do
not apply to DescribeKey, RetireGrant and the other operations without an encryption context. In a constraint
"the key in each key-value pair is not case sensitive, but the value is case sensitive".

Mapped to the documented condition keys (KMS Developer Guide, "kms:EncryptionContext:context-key" and
"kms:EncryptionContextKeys"): each pair becomes `StringEquals kms:EncryptionContext:<key> = <value>` (IAM condition
key names are case-insensitive, values compared case-sensitively, as the constraint does); Equals also limits the
keys present with `ForAllValues:StringEqualsIgnoreCase kms:EncryptionContextKeys = [keys]`.

RetireGrant: "the retiring principal" may retire the grant (KMS Developer Guide, "Retiring and revoking grants"),
so a grant with a retiring principal also yields an Allow of kms:RetireGrant for it.
"""

from __future__ import annotations

import json
from typing import Any

from compliance.targets.snapshot import KmsGrant

SERVICE_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")

ENCRYPTION_CONTEXT_OPERATIONS = frozenset({
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "DeriveSharedSecret",
})
"""Grant operations that take an encryption context: the only ones a grant constraint restricts."""


def grant_principal(principal: str) -> dict[str, str]:
    """The Principal element naming a grantee or retiring principal: a service principal, else an AWS one."""
    return {"Service": principal} if principal.endswith(SERVICE_SUFFIXES) else {"AWS": principal}


def constraint_condition(grant: KmsGrant) -> dict[str, Any]:
    """The grant's constraints as condition operators → {key: values} (empty: unconstrained)."""
    pairs = {**grant.encryption_context_subset, **grant.encryption_context_equals}
    if not pairs:
        return {}
    condition: dict[str, Any] = {"StringEquals": {f"kms:EncryptionContext:{k}": v for k, v in pairs.items()}}
    if grant.encryption_context_equals:
        condition["ForAllValues:StringEqualsIgnoreCase"] = {
            "kms:EncryptionContextKeys": sorted(grant.encryption_context_equals)}
    return condition


def grant_statements(grant: KmsGrant) -> list[dict[str, Any]]:
    """The Allow statements equivalent to one grant.

    One statement (Sid "Grant <id>") for the grant operations; when the grant has constraints and also operations
    the constraints do not apply to, those get a second, unconditioned statement ("Grant <id> (no encryption
    context)"); a retiring principal gets kms:RetireGrant ("Grant <id> (retiring principal)")."""
    sid = f"Grant {grant.grant_id}"
    condition = constraint_condition(grant)
    constrained = [op for op in grant.operations if op in ENCRYPTION_CONTEXT_OPERATIONS] if condition else []
    free = [op for op in grant.operations if op not in constrained]
    statements: list[dict[str, Any]] = []
    if constrained:
        statements.append({"Sid": sid, "Effect": "Allow", "Principal": grant_principal(grant.grantee_principal),
                           "Action": [f"kms:{op}" for op in constrained], "Resource": "*", "Condition": condition})
    if free:
        statements.append({"Sid": f"{sid} (no encryption context)" if constrained else sid, "Effect": "Allow",
                           "Principal": grant_principal(grant.grantee_principal),
                           "Action": [f"kms:{op}" for op in free], "Resource": "*"})
    if grant.retiring_principal:
        statements.append({"Sid": f"{sid} (retiring principal)", "Effect": "Allow",
                           "Principal": grant_principal(grant.retiring_principal), "Action": "kms:RetireGrant",
                           "Resource": "*"})
    return statements


def with_grants(key_policy: Any, grants: tuple[KmsGrant, ...]) -> dict[str, Any]:
    """The key policy document with the statements of every grant appended."""
    if isinstance(key_policy, str):
        key_policy = json.loads(key_policy)  # already parsed once by ChainView.key_policy, so valid JSON
    policy = dict(key_policy) if isinstance(key_policy, dict) else {"Version": "2012-10-17", "Statement": []}
    existing = policy.get("Statement", [])
    statements = list(existing) if isinstance(existing, list) else [existing]
    for grant in grants:
        statements.extend(grant_statements(grant))
    policy["Statement"] = statements
    return policy
