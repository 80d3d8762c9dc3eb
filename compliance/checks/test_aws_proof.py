"""Proofs over every request the chain's policies could admit (PASS only by proof; a FAIL names a concrete request)."""

from __future__ import annotations

from typing import Any

from compliance.chain import permissions as perms
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.gates import first_denied
from compliance.chain.intended import intended_gates
from compliance.chain.requests import VENDOR_POLICY_ASSUMPTION, evaluation_ips, external_id_unavailable
from compliance.chain.view import ChainView, documents, level_documents
from compliance.iam import Request
from compliance.model import Evidence, Finding, Provider, Severity
from compliance.proof.questions import ChainQuestions, Proof, intended_cases
from compliance.proof.search import Witness
from compliance.registry import Subject, check

ORG = perms.union(perms.SCPS, perms.RCPS, perms.ORG_CONTEXT)
RECORDS = perms.union(perms.BUCKET_POLICY, perms.ACCESS_POINTS, ORG)
WITHHELD = "(withheld: a value other than the configured ExternalId)"
HOW = ("The request space was split into classes the policies cannot tell apart (by every principal, account, "
       "organization, action, resource pattern and condition value they name) and the policy engine decided a "
       "representative of every class that could be allowed.")


def _request_json(request: Request) -> dict[str, Any]:
    data = request.to_json()
    context = dict(data["context"])
    for key in list(context):
        if key.lower() == "sts:externalid":
            context[key] = WITHHELD
    data["context"] = context
    return data


def _witness_words(witness: Witness) -> str:
    """"X can ACTION RESOURCE when KEY is VALUE and ...", naming the condition values the allow rested on."""
    request = witness.request
    seen: dict[str, str] = {}
    for entry in witness.evaluation.deciding_statements():
        for condition in entry.conditions:
            if condition.key.lower() != "sts:externalid":
                seen.setdefault(condition.key, condition.seen_text())
    when = f" when {' and '.join(f'{k} is {v}' for k, v in seen.items())}" if seen else ""
    return f"{witness.principal.label} can {request.action} {request.resource}{when}"


def _proof_note(kit: EvidenceKit, proof: Proof) -> Evidence:
    outcome = proof.outcome
    data = {"proven": f"No request outside the intended set is allowed: {proof.title}.", "method": HOW,
            "classes": outcome.classes, "engine_evaluations": outcome.evaluations,
            "split_on_condition_literals": {k: (["(withheld)"] if k == "sts:externalid" else v)
                                            for k, v in outcome.literals.items()},
            "assumptions": list(proof.assumptions)}
    return kit.note("Proof", data, "compliance.proof")


def _finding(view: ChainView, proof: Proof, resource: str, what: str) -> Finding:
    kit = EvidenceKit(view)
    outcome = proof.outcome
    listed = (kit.note("Principals of the customer account that their own IAM policies could let do this",
                       list(proof.listed)),) if proof.listed else ()
    if outcome.witnesses:
        witness = outcome.witnesses[0]
        others = [_witness_words(w) for w in outcome.witnesses[1:6]]
        more = f" Also: {'; '.join(others)}." if others else ""
        return Finding.failed(kit.text(f"{_witness_words(witness)}, which is outside {what}: "
                                       f"{witness.evaluation.summary().rstrip('.')}.{more}"), resource=resource,
                              evidence=(kit.counterexample("Witness request (allowed by the engine)",
                                                           _request_json(witness.request)),
                                        kit.decision("The engine's decision for the witness", witness.evaluation),
                                        kit.note("Assumptions", list(proof.assumptions)), *listed))
    if outcome.approximations:
        return Finding.error(f"The proof over {proof.title.lower()} is not exhaustive ("
                             f"{'; '.join(outcome.approximations)}), so it cannot be shown that only {what} is "
                             "allowed.", resource=resource, evidence=(_proof_note(kit, proof),))
    return Finding.passed(f"Proven over {outcome.classes} request classes ({outcome.evaluations} engine decisions): "
                          f"only {what} is allowed.", resource=resource,
                          evidence=(_proof_note(kit, proof), *listed))


@check(
    title="Proof: on the records, only the export role's PutObject is allowed",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        Writes, overwrites, deletes, retention and legal-hold changes, ACL and tag changes on the records under the
        prefix must be possible for nobody but the export role's sessions, and for them only as s3:PutObject. The
        proof covers every principal outside the customer account (any account, organization, role, user, service,
        federated identity, anonymous) and the role itself, with every action of the AWS catalog that writes an
        object and every condition value the policies distinguish.
    """,
    remediation="""
        Remove the statement that allows the witness request (named in the finding's decision trace), or narrow its
        Principal to an exact ARN; never rely on a condition the caller controls (source address, Referer, tags).
    """,
    controls=("21CFR11.10(a)", "21CFR11.10(c)", "21CFR11.10(d)", "EUAnnex11-7.1", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, RECORDS),
)
def test_aws_proof_records_write_only_intended(chain_view: ChainView) -> Finding:
    proof = ChainQuestions(chain_view).records_write()
    return _finding(chain_view, proof, chain_view.chain.aws.bucket,
                    "the export role's s3:PutObject under the prefix")


@check(
    title="Proof: only the vendor with the configured ExternalId can become the export role",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        Whoever becomes the role writes records. The proof covers sts:AssumeRole, sts:AssumeRoleWithWebIdentity,
        sts:AssumeRoleWithSAML, sts:TagSession, sts:SetSourceIdentity and sts:SetContext for every principal kind
        (accounts, roles, users, "*", services, OIDC and SAML providers, the customer's own principals) and every
        ExternalId: only the vendor's principal with the configured ExternalId may assume the role; federated and
        service paths only when declared in [[aws.declared_assumers]] with their pinned values.
    """,
    remediation="""
        Give the trust policy one statement for the vendor: "Principal": {"AWS": "VENDOR_ROLE_ARN"},
        "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"sts:ExternalId": "…"}};
        remove statements for other principals, or declare an intended federated path with its pinned sub.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE, ORG),
)
def test_aws_proof_role_assumable_only_by_vendor(chain_view: ChainView) -> Finding:
    if chain_view.chain.external_id() is None:
        return external_id_unavailable(chain_view.chain)
    proof = ChainQuestions(chain_view).role_assumption()
    return _finding(chain_view, proof, chain_view.chain.aws.role_arn,
                    "the vendor's sts:AssumeRole with the configured ExternalId")


@check(
    title="Proof: only the export role uses the bucket key, and no one outside the account administers it",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        Whoever can decrypt with the bucket key can read the records; whoever can schedule its deletion, disable it,
        change its policy or grants, or repoint its alias can destroy them or lock the customer out. The proof covers
        the key policy with its grants and the RCPs for every principal outside the customer account and for the
        export role; administration by the customer's own principals is listed.
    """,
    remediation="""
        Limit the key policy to: the account root (enabling IAM policies), the export role for kms:GenerateDataKey
        and kms:Decrypt, and named readers for kms:Decrypt; revoke grants to other accounts (aws kms revoke-grant).
    """,
    controls=("21CFR11.10(c)", "21CFR11.10(d)", "21CFR11.30", "EUAnnex11-7.1", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.KEY_WITH_GRANTS, ORG),
)
def test_aws_proof_bucket_key_restricted(chain_view: ChainView) -> Finding:
    proof = ChainQuestions(chain_view).key_use()
    if proof is None:
        return Finding.not_applicable("The bucket does not use a customer-managed KMS key, so there is no key policy "
                                      "to prove (aws_bucket_default_encryption_is_sse_kms reports that).")
    key = chain_view.kms_key()
    return _finding(chain_view, proof, key.arn if key else "", "the export role's use of the key for data")


@check(
    title="Proof: no one outside the customer account and the declared readers can read the records",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        Audit records must be readable only by authorized individuals. The proof covers every principal outside the
        customer account, and the export role's sessions (held by the vendor), with every object read of the catalog
        on every key class under the prefix, through the bucket policy, access points and RCPs; a read of an SSE-KMS
        record also needs kms:Decrypt on the bucket key, which is decided for the same class. Readers declared in
        aws.readers are intended; the customer's own principals are listed.
    """,
    remediation="""
        Remove the bucket-policy statement that lets the witness read (named in the decision trace), or add the
        principal to aws.readers if it is an intended reader.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(c)", "EUAnnex11-7.1", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, RECORDS, perms.KEY_WITH_GRANTS),
)
def test_aws_proof_records_read_only_by_declared_readers(chain_view: ChainView) -> Finding:
    proof = ChainQuestions(chain_view).records_read()
    return _finding(chain_view, proof, chain_view.chain.aws.bucket, "the declared readers' reads")


@check(
    title="Proof: no one outside the customer account can change the bucket's configuration",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        The bucket policy, Object Lock configuration, logging, replication, encryption, ownership and public access
        block protect the records. The proof covers every bucket-level configuration action of the catalog for every
        principal outside the customer account and for the export role (the vendor holds its sessions).
        PutBucketPolicy and DeleteBucketPolicy are left out for outsiders: S3 allows them only to the bucket owner's
        account.
    """,
    remediation="""
        Remove the statement that lets the witness change the bucket (named in the decision trace); bucket-level
        write actions belong to the customer's administrators only.
    """,
    controls=("21CFR11.10(c)", "21CFR11.10(d)", "EUAnnex11-7.1", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.BUCKET_POLICY, ORG),
)
def test_aws_proof_bucket_config_only_by_customer(chain_view: ChainView) -> Finding:
    proof = ChainQuestions(chain_view).bucket_configuration()
    return _finding(chain_view, proof, chain_view.chain.aws.bucket, "the customer account's own administrators")


@check(
    title="Proof: every intended export is allowed end to end",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        The vendor writes any object key under the prefix, for any SSO user, from any of its published addresses.
        The proof splits keys, addresses and session-tag values into the classes the policies distinguish (every
        Resource pattern, CIDR boundary and tag value they name) and evaluates every gate of the export for each
        class: AssumeRole and TagSession, PutObject through identity policies, boundary, SCPs, RCPs and the bucket
        policy, and the bucket key.
    """,
    remediation="""
        Widen the Allow that misses the denied class (to the whole prefix, all published vendor CIDRs, any session-tag
        value), or narrow the Deny that catches it with an exception for the export role: never widen a Deny.
    """,
    controls=("21CFR11.10(a)", "EUAnnex11-5", "EUAnnex11-4"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.BUCKET_POLICY, perms.KEY_WITH_GRANTS, ORG),
)
def test_aws_proof_intended_exports_allowed(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    if chain.external_id() is None:
        return external_id_unavailable(chain)
    boundary = chain_view.boundary()
    bucket = chain_view.bucket_policy()
    key = chain_view.key_policy()
    rcps = chain_view.rcp_levels()
    policies = [*documents(chain_view.identity_policies()), *([boundary.document] if boundary else []),
                *(p for level in level_documents(chain_view.scp_levels()) for p in level),
                *(p for level in level_documents(rcps) for p in level),
                *([bucket.document] if bucket else []), *([key.document] if key else []),
                chain_view.trust().document]
    cases, count = intended_cases(chain_view, policies, evaluation_ips(chain)[0])
    for case in cases:
        gates = intended_gates(chain_view, ip=case.ip, session_tags=case.tags, key=case.key)
        broken = first_denied(gates)
        if broken is not None:
            step, gate = broken
            tags = ", ".join(f"{k}={v!r}" for k, v in case.tags.items()) or "none"
            return Finding.failed(kit.text(
                f"An intended export is denied at step {step} ({gate.title}) for object key {case.key!r} from "
                f"{case.ip} with session tags {tags}: {cause(gate.evaluation)}."),
                evidence=(kit.chain(gates, [VENDOR_POLICY_ASSUMPTION]),))
    data = {"proven": "Every intended export is allowed end to end.", "classes": count,
            "object_keys": sorted({c.key for c in cases}), "vendor_addresses": sorted({c.ip for c in cases}),
            "session_tag_values_per_key": {k: sorted({c.tags[k] for c in cases}) for k in chain.vendor.session_tags},
            "assumptions": [VENDOR_POLICY_ASSUMPTION]}
    return Finding.passed(f"Proven over {count} classes of intended export (object keys under {chain.aws.prefix}, "
                          f"vendor addresses, session-tag values): every gate allows each one.",
                          evidence=(kit.note("Proof", data, "compliance.proof"),))
