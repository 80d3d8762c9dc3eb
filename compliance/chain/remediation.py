"""Fixes built from the finding itself: the failing statement, rewritten, and the chain config's values.

Rules (the product's): never advise widening a Deny and never an Allow against a Deny (an explicit Deny wins
over every Allow: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
A Deny that catches the export role is narrowed: either the role is exempted with a negated condition
(`ArnNotEquals aws:PrincipalArn`, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
or, for an address condition, the vendor's published CIDRs are added to the addresses it exempts. A trust
statement's network condition is rewritten to the vendor's published CIDRs (aws:SourceIp,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceip),
or removed when the vendor publishes none; aws:SourceVpc/SourceVpce never match a cross-account vendor.

When vendor.source_ips is empty the checks evaluate the vendor's calls from 192.0.2.10, a documentation-only
address (TEST-NET-1, RFC 5737) that stands for "an address the vendor never published"; the note says so.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from compliance.iam.document import PolicyDocument, Statement
from compliance.model import Remediation

PRINCIPAL_ARN = "aws:PrincipalArn"
SOURCE_IP = "aws:sourceip"
_IP_ALLOWING = ("ipaddress", "ipaddressifexists")  # in an Allow: the addresses admitted
_IP_EXEMPTING = ("notipaddress", "notipaddressifexists")  # in a Deny: the addresses exempted
_VPC_KEYS = ("aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip")
_EXTERNAL_ID = "sts:externalid"


def placeholder_note(placeholder_ip: str, vendor: str) -> str:
    return (f"vendor.source_ips is empty, so the suite evaluated {vendor}'s calls from {placeholder_ip}, a "
            "documentation-only address (TEST-NET-1, RFC 5737) that stands for 'an address the vendor never "
            f"published'. Ask {vendor} for its published egress ranges and declare them in vendor.source_ips in "
            "the chain config; the checks then evaluate the first, middle and last address of each range.")


def raw_statement(raw_policy: Any, statement: Statement) -> dict[str, Any]:
    """The statement exactly as the policy was written (so the fix reads like the user's own JSON)."""
    document = raw_policy
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            document = None
    items = document.get("Statement") if isinstance(document, dict) else None
    items = [items] if isinstance(items, dict) else items
    if isinstance(items, list) and 0 <= statement.index < len(items) and isinstance(items[statement.index], dict):
        return copy.deepcopy(items[statement.index])
    return statement.to_json()


def find_statement(document: PolicyDocument, label: str | None) -> Statement | None:
    """The statement an evaluation trace names (`'Sid'` or `#N`)."""
    return next((s for s in document.statements if s.label == label), None)


def _masked(statement: dict[str, Any], env_name: str) -> dict[str, Any]:
    """The statement JSON with any ExternalId value replaced by where it comes from (it is a secret)."""
    out = copy.deepcopy(statement)
    for block in (out.get("Condition") or {}).values():
        for key in list(block):
            if key.lower() == _EXTERNAL_ID:
                block[key] = f"<the ExternalId from ${env_name}>"
    return out


def _add_values(condition: dict[str, Any], operator_names: Sequence[str], default_operator: str, key: str,
                values: Sequence[str]) -> dict[str, Any]:
    """Add `values` to `key` under the first existing operator of `operator_names` (else `default_operator`)."""
    operator = next((op for op in condition if op.lower() in operator_names and any(
        k.lower() == key.lower() for k in condition[op])), default_operator)
    block = condition.setdefault(operator, {})
    name = next((k for k in block if k.lower() == key.lower()), key)
    existing = block.get(name, [])
    current = [existing] if isinstance(existing, str) else list(existing)
    block[name] = current + [v for v in values if v not in current]
    return condition


def bucket_deny_fix(statement: Statement, raw: dict[str, Any], role_arn: str, source_ips: Sequence[str],
                    caught_by: Sequence[str], placeholder_ip: str, vendor: str) -> Remediation:
    """The bucket-policy Deny statement that caught the role (`raw`: as written), rewritten so it no longer does.

    `caught_by` are the condition keys (lower case) that were true for the role's write."""
    rewritten = copy.deepcopy(raw)
    condition: dict[str, Any] = rewritten.setdefault("Condition", {})
    label = f"bucket-policy statement {statement.label}"
    if SOURCE_IP in caught_by and source_ips:
        _add_values(condition, _IP_EXEMPTING, "NotIpAddress", "aws:SourceIp", source_ips)
        return Remediation(
            f"Rewrite {label} to exempt {vendor}'s published CIDRs ({', '.join(source_ips)}) from its address "
            "condition, as below. This narrows the Deny; never widen a Deny or add an Allow: an explicit Deny wins "
            "over every Allow.", {"Statement": rewritten})
    _add_values(condition, ("arnnotequals",), "ArnNotEquals", PRINCIPAL_ARN, (role_arn,))
    note = ""
    if SOURCE_IP in caught_by:
        note = placeholder_note(placeholder_ip, vendor) + (" With the ranges declared, the fix can exempt them "
                                                           "instead of the role.")
    elif caught_by:
        note = (f"The statement caught the role through {', '.join(sorted(caught_by))}. If the Deny enforces "
                "something the vendor can be configured to send (a header or TLS), configuring the vendor is the "
                "alternative; the Deny itself must stay as narrow as it is or narrower.")
    return Remediation(
        f"Rewrite {label} to exempt the export role {role_arn} with an ArnNotEquals aws:PrincipalArn condition, as "
        "below. This narrows the Deny; never widen a Deny or add an Allow: an explicit Deny wins over every Allow.",
        {"Statement": rewritten}, note)


def trust_network_fix(statement: Statement, raw: dict[str, Any], source_ips: Sequence[str], placeholder_ip: str,
                      vendor: str, external_id_env: str) -> Remediation:
    """The trust statement whose network condition refuses the vendor (`raw`: as written), rewritten."""
    rewritten = copy.deepcopy(raw)
    condition: dict[str, Any] = rewritten.get("Condition") or {}
    label = f"trust statement {statement.label}"
    for operator in list(condition):
        block = condition[operator]
        for key in list(block):
            lower = key.lower()
            if lower in _VPC_KEYS or (lower == SOURCE_IP and not source_ips):
                del block[key]
        if not block:
            del condition[operator]
    if source_ips:
        if statement.effect.value == "Deny":
            _add_values(condition, _IP_EXEMPTING, "NotIpAddress", "aws:SourceIp", source_ips)
        else:
            for operator in [op for op in condition if op.lower() in _IP_ALLOWING]:
                for key in [k for k in condition[operator] if k.lower() == SOURCE_IP]:
                    condition[operator][key] = list(source_ips)
            if not any(k.lower() == SOURCE_IP for op in condition for k in condition[op]):
                condition["IpAddress"] = {"aws:SourceIp": list(source_ips)}
        summary = (f"Rewrite {label} so its aws:SourceIp condition admits exactly {vendor}'s published CIDRs "
                   f"({', '.join(source_ips)}) and has no aws:SourceVpc/SourceVpce/VpcSourceIp condition, as below.")
        note = ""
    else:
        summary = (f"Remove the network condition from {label}, as below, until {vendor} publishes its egress "
                   "ranges; then declare them in vendor.source_ips and restrict aws:SourceIp to them.")
        note = placeholder_note(placeholder_ip, vendor)
    if condition:
        rewritten["Condition"] = condition
    else:
        rewritten.pop("Condition", None)
    return Remediation(summary, {"Statement": _masked(rewritten, external_id_env)}, note)
