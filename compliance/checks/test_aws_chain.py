"""The whole chain in one decision: vendor → AssumeRole → PutObject → KMS, one line per gate."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.gates import first_denied
from compliance.chain.intended import acl_refused, declared_write, intended_gates
from compliance.chain.requests import VENDOR_POLICY_ASSUMPTION, evaluation_ips, external_id_unavailable
from compliance.chain.view import ChainView
from compliance.model import Evidence, Finding, Provider, Severity
from compliance.registry import Subject, check


def _organization(kit: EvidenceKit, view: ChainView) -> Evidence:
    """The RCPs applied to every gate on the customer's role, bucket and key, and the organization keys used."""
    org = view.org_context_or_none()
    rcps = [{"name": p.name, "origin": p.origin, "document": p.raw} for p in view.rcp_policies()]
    return kit.note("Organization: RCPs applied to each gate, and the organization context keys", {
        "rcps": rcps or "none apply (RCPs not enabled, no organization, or the management account)",
        "organization_context": org.to_json() if org is not None else (
            "not readable" if view.snapshot.org_context.failure is not None else "the account is in no organization"),
        "assumption": "Only the customer account's membership is read: the vendor and every other account's "
                      "principals are evaluated without aws:PrincipalOrgID / aws:PrincipalOrgPaths (outside the "
                      "organization).",
    }, "organizations:ListPoliciesForTarget")


@check(
    title="The vendor's export is allowed end to end: AssumeRole, PutObject under the prefix, and the bucket key",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        One IAM edit anywhere silently stops the exports. The walkthrough's "Verify Configuration passes, so role
        assumption works" proves only the first gate. This check evaluates every gate the way AWS does: the trust
        policy for the vendor's AssumeRole (and TagSession), then the session's identity policies within the
        permissions boundary and every SCP level, then the bucket policy, then the key policy for the data key. The
        RCPs along the account's OU path apply to every gate on the customer's role, bucket and key, and the
        organization keys (aws:PrincipalOrgID, aws:ResourceOrgID and their paths) are in the request context as AWS
        adds them. The write carries exactly the headers declared in [vendor] (sse_header, kms_key_id_header, acl),
        the key gates follow the declared upload_kinds, and an ACL the bucket's BucketOwnerEnforced ownership refuses
        breaks the export before any policy is read.
    """,
    remediation="""
        Fix the gate named in the failure; its own check (trust, role, bucket or key) carries the exact policy JSON.
    """,
    controls=("21CFR11.10(a)", "21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-5", "EUAnnex11-4"),
    permissions=perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.RCPS, perms.ORG_CONTEXT, perms.BUCKET_POLICY,
                            perms.KEY_WITH_GRANTS, perms.OWNERSHIP),
)
def test_aws_chain_allows_vendor_export(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    if chain.external_id() is None:
        return external_id_unavailable(chain)
    assumptions = [VENDOR_POLICY_ASSUMPTION]
    refused = acl_refused(chain_view)
    if refused is not None:
        return Finding.failed(f"The export breaks before any policy is evaluated: {refused}.",
                              resource=chain.aws.bucket,
                              evidence=(_declared(kit, chain_view),
                                        kit.note("Object ownership", {"ownership": "BucketOwnerEnforced"},
                                                 "s3:GetBucketOwnershipControls")))
    for ip in evaluation_ips(chain):
        gates = intended_gates(chain_view, ip=ip)
        broken = first_denied(gates)
        if broken is None:
            continue
        step, gate = broken
        evidence = (kit.chain(gates, assumptions), kit.decision(gate.title, gate.evaluation),
                    _declared(kit, chain_view), _organization(kit, chain_view))
        assumed = all(g.allowed for g in gates if "sts:AssumeRole" in g.title)
        verify = (" AssumeRole itself is allowed (all that the vendor's 'Verify Configuration' proves), but the "
                  "write path is not." if assumed and step > 1 else "")
        return Finding.failed(kit.text(f"The export breaks at step {step} of {len(gates)} ({gate.title}): "
                                       f"{cause(gate.evaluation)}.{verify}"),
                              evidence=evidence)
    gates = intended_gates(chain_view)
    return Finding.passed(f"All {len(gates)} gates allow the export: "
                          + "; ".join(g.evaluation.request.action for g in gates) + ".",
                          evidence=(kit.chain(gates, assumptions), _declared(kit, chain_view),
                                    _organization(kit, chain_view)))


def _declared(kit: EvidenceKit, chain_view: ChainView) -> Evidence:
    """The [vendor] request keys the PutObject and KMS gates were built from."""
    return kit.note("What the vendor is declared to send ([vendor] sse_header, kms_key_id_header, acl, upload_kinds)",
                    declared_write(chain_view).note(chain_view), "chain config")
