"""SSO identity mapping: the role the vendor was told to assume is the role that exists."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause, is_tag_key, tag_problems
from compliance.chain.intended import intended_gates
from compliance.chain.requests import (
    VENDOR_POLICY_ASSUMPTION,
    assume_request,
    evaluation_ips,
    external_id_unavailable,
    vendor_caller,
)
from compliance.chain.view import ChainView
from compliance.errors import ReadError
from compliance.iam import Effect, PolicyKind
from compliance.model import Evidence, EvidenceKind, Finding, Provider, Severity
from compliance.registry import Subject, check


def _difference(configured: str, actual: str) -> str:
    c_account, c_resource = configured.split(":")[4], configured.split(":", 5)[5]
    a_account, a_resource = actual.split(":")[4], actual.split(":", 5)[5]
    if c_account != a_account:
        return f"the account differs ({c_account} vs {a_account})"
    c_path, _, c_name = c_resource.removeprefix("role").rpartition("/")
    a_path, _, a_name = a_resource.removeprefix("role").rpartition("/")
    if c_name != a_name:
        if c_name.lower() == a_name.lower():
            return f"the role name differs in letter case ({c_name} vs {a_name})"
        return f"the role name differs ({c_name} vs {a_name})"
    if c_path != a_path:
        return f"the role path differs ({c_path or '/'}/ vs {a_path or '/'}/)".replace("//", "/")
    return "the ARNs differ"


@check(
    title="The role ARN typed into the vendor's admin page is exactly the role that exists",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        The vendor assumes whatever role ARN was typed into its admin page. If that ARN differs from the
        real role in any character (account, path or name), every AssumeRole call fails and no audit report
        is exported, silently, until someone looks for the records.
    """,
    remediation="""
        Copy the role's ARN from the IAM console (Roles > the export role > ARN, which includes any path such
        as /exports/) and paste it unchanged into the vendor's admin page (Qualio: Admin > Integrations >
        Cloud Storage). Then set `vendor.configured_role_arn` in the chain config to the same value.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1", "EUAnnex11-5"),
    permissions=("iam:GetRole",),
)
def test_aws_configured_role_arn_matches_role(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    configured = chain.vendor.configured_role_arn
    role_read = chain_view.snapshot.role
    if role_read.failure is not None and role_read.failure.code == "NoSuchEntity":
        return Finding.failed(
            f"No role named {chain.aws.role_name} exists in account {chain.aws.account}, so the vendor's "
            f"AssumeRole on {configured} fails.",
        )
    role = role_read.require()
    if role is None:
        raise ReadError("iam:GetRole", "NoSuchEntity", f"role {chain.aws.role_name} was not returned")
    evidence = (Evidence("Role ARN comparison", EvidenceKind.NOTE,
                         {"configured_role_arn": configured, "actual_role_arn": role.arn,
                          "chain_config_role_arn": chain.aws.role_arn}, "iam:GetRole"),)
    if configured != role.arn:
        return Finding.failed(
            f"The ARN typed into {chain.vendor.name}'s page ({configured}) is not the real role ({role.arn}): "
            f"{_difference(configured, role.arn)}, so AssumeRole fails.",
            resource=role.arn, evidence=evidence)
    return Finding.passed(f"The vendor is configured with the exact ARN of the existing role ({role.arn}).",
                          resource=role.arn, evidence=evidence)


@check(
    title="The configured SSO session tags satisfy every tag condition in the chain's policies",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        The vendor passes the SSO user as session tags on AssumeRole; they become principal tags of the session.
        A tag condition (aws:RequestTag/*, aws:TagKeys, aws:PrincipalTag/*) in the trust, role, boundary, SCP,
        bucket or key policy that the configured tags do not satisfy silently breaks the export. This is the
        walkthrough's "key insight": IAM edits that add conditions break the tag propagation.
    """,
    remediation="""
        Make each tag condition accept the tags the vendor sends (vendor.session_tags), for example
        "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["qualio-user"]}} on the sts:TagSession trust
        statement, or change vendor.session_tags to what the vendor really sends.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(e)", "EUAnnex11-12.4", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.BUCKET_POLICY, perms.KEY_WITH_GRANTS),
)
def test_aws_session_tags_satisfy_tag_conditions(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    if chain.external_id() is None:
        return external_id_unavailable(chain)
    gates = intended_gates(chain_view)
    tags = sorted(chain.vendor.session_tags)
    for gate in gates:
        problems = tag_problems(gate.evaluation)
        if problems and not gate.allowed:
            return Finding.failed(kit.text(
                f"The session tags ({', '.join(tags) or 'none configured'}) break {gate.title}: {problems[0]}."),
                evidence=(kit.decision(gate.title, gate.evaluation), kit.chain(gates, [VENDOR_POLICY_ASSUMPTION])))
    involved = sorted({c.key for g in gates for e in g.evaluation.trace for c in e.conditions if is_tag_key(c.key)})
    what = f"tag conditions on {', '.join(involved)}" if involved else "no tag conditions in the evaluated statements"
    return Finding.passed(f"The configured session tags ({', '.join(tags) or 'none'}) pass every gate; {what}.",
                          evidence=(kit.chain(gates, [VENDOR_POLICY_ASSUMPTION]),))


@check(
    title="The trust policy allows sts:TagSession for the vendor when session tags are configured",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        Passing session tags on AssumeRole needs sts:TagSession in addition to sts:AssumeRole, in the role's trust
        policy (cross-account). The walkthrough's trust statement allows only sts:AssumeRole while relying on SSO
        session tags, so every tagged AssumeRole fails with AccessDenied.
    """,
    remediation="""
        Add to the trust policy: {"Sid": "VendorPassesSsoSessionTags", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::VENDOR_ACCOUNT:role/ExportService"}, "Action": "sts:TagSession",
        "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["qualio-user"]}}}
    """,
    controls=("21CFR11.10(d)", "EUAnnex11-12.4"),
    permissions=perms.ROLE,
)
def test_aws_trust_allows_tag_session_for_vendor(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    tags = chain.vendor.session_tags
    if not tags:
        return Finding.not_applicable("No session tags are configured (vendor.session_tags), so sts:TagSession "
                                      "is not needed.")
    trust = chain_view.trust()
    evaluator = ChainEvaluator(chain_view, positive=False)
    for ip in evaluation_ips(chain):
        request = assume_request(chain, chain_view.role().arn, caller=vendor_caller(chain),
                                 external_id=chain.external_id(), source_ip=ip, tags=tags, action="sts:TagSession")
        evaluation = evaluator.trust(request)
        if evaluation.allowed():
            continue
        evidence = (kit.decision("sts:TagSession by the vendor", evaluation), kit.policy("Role trust policy", trust))
        keys = ", ".join(sorted(tags))
        if not any(s.effect is Effect.ALLOW and s.matches_action("sts:TagSession") for s in trust.document.statements):
            return Finding.failed(
                f"The trust policy does not allow sts:TagSession, so every AssumeRole that passes the configured "
                f"session tags ({keys}) is denied (the walkthrough's trust statement has the same gap).",
                evidence=evidence)
        return Finding.failed(kit.text(
            f"The trust policy denies the vendor's sts:TagSession with the session tags ({keys}) from {ip}: "
            f"{cause(evaluation, PolicyKind.TRUST)}."), evidence=evidence)
    return Finding.passed(f"The trust policy allows sts:TagSession for the vendor with the configured session tags "
                          f"({', '.join(sorted(tags))}).",
                          evidence=(kit.policy("Role trust policy", trust),))
