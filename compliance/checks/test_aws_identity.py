"""SSO identity mapping: the role the vendor was told to assume is the role that exists."""

from __future__ import annotations

from compliance.config import Chain
from compliance.errors import ReadError
from compliance.model import Evidence, EvidenceKind, Finding, Provider, Severity
from compliance.registry import check
from compliance.targets.snapshot import AwsSnapshot


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
    provider=Provider.AWS,
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
def test_aws_configured_role_arn_matches_role(chain: Chain, aws_snapshot: AwsSnapshot) -> Finding:
    configured = chain.vendor.configured_role_arn
    role_read = aws_snapshot.role
    if role_read.failure is not None and role_read.failure.code == "NoSuchEntity":
        return Finding.failed(
            f"No role named {chain.aws.role_name} exists in account {chain.aws.account}, so the vendor's "
            f"AssumeRole on {configured} fails.",
            resource=chain.aws.role_arn,
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
