"""The `@check` contract: each validator refuses bad metadata at registration, and the wrapper completes findings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from compliance import registry
from compliance.azure.backup import AzureBackup
from compliance.azure.verdicts import NO_AZURE
from compliance.chain.proposed import Proposal, ProposalTarget
from compliance.chain.view import ChainView
from compliance.config import Chain, default_chain_path, load_chain_config
from compliance.model import Evidence, EvidenceKind, Finding, Provider, Severity, Status
from compliance.permission_vocabulary import AzureAction, AzureRequirement, validate_permissions
from compliance.registry import Subject, check
from compliance.targets.snapshot import AwsSnapshot

CONTROLS = ("21CFR11.10(d)",)


@pytest.fixture(autouse=True)
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks declared here must not join the suite's registry."""
    monkeypatch.setattr(registry, "CHECKS", {})


@pytest.fixture(scope="module")
def chain() -> Chain:
    return load_chain_config(default_chain_path(), require_secrets=False).chains[0]


def declare(provider: Provider = Provider.AWS, *, permissions: tuple[str, ...] = ("iam:GetRole",),
            resource: Subject = Subject.ROLE, title: str = "The role exists",
            controls: tuple[str, ...] = CONTROLS) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return check(title=title, severity=Severity.LOW, provider=provider, resource=resource, rationale="Why.",
                 remediation="How.", controls=controls, permissions=permissions)


# -- permissions --------------------------------------------------------------------------------------------------

def test_catalogued_aws_actions_are_accepted() -> None:
    declared = ("iam:GetRole", "s3:GetEncryptionConfiguration", "organizations:ListParents", "kms:ListGrants")
    assert validate_permissions("aws_x", Provider.AWS, declared) == declared


@pytest.mark.parametrize(("entry", "problem"), [
    ("s3:PutObjekt", "'s3:PutObjekt' is not in the AWS action catalog"),
    ("iam:getrole", "is spelt iam:GetRole in the AWS action catalog"),
    ("azure:sas", "names a service (azure) that is not in the AWS action catalog"),
    ("s3:PutObject", "authorises no read the AWS reader makes"),
    ("s3:Get*", "is not an IAM action (service:Action, no wildcard)"),
    ("GetRole", "is not an IAM action"),
    ("Microsoft.Storage/storageAccounts/read", "is not an IAM action"),
], ids=["misspelt", "letter-case", "invented-service", "not-a-read", "wildcard", "no-service", "azure-on-aws"])
def test_a_bad_aws_permission_names_the_check_and_the_entry(entry: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"^aws_x: permission ") as info:
        validate_permissions("aws_x", Provider.AWS, ("iam:GetRole", entry))
    assert problem in str(info.value)


def test_the_declared_azure_vocabulary_is_accepted() -> None:
    declared = (AzureRequirement.BACKUP_SAS, AzureAction.CONTAINER_GET_ACL, "Microsoft.Storage/storageAccounts/read")
    assert validate_permissions("azure_x", Provider.AZURE, declared) == (
        "SAS token in the environment variable named by azure.sas_env",
        "Microsoft.Storage/storageAccounts/blobServices/containers/getAcl/action",
        "Microsoft.Storage/storageAccounts/read")


@pytest.mark.parametrize("entry", ["azure:sas", "azure:anonymous", "Microsoft.Storage/storageAccounts/write",
                                   "microsoft.storage/storageaccounts/read", "iam:GetRole"])
def test_an_azure_permission_outside_the_vocabulary_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=rf"^azure_x: permission '{entry}' is neither a declared Azure RBAC action"):
        validate_permissions("azure_x", Provider.AZURE, (entry,))


def test_a_permission_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"aws_x: permission\(s\) declared twice: iam:GetRole"):
        validate_permissions("aws_x", Provider.AWS, ("iam:GetRole", "kms:DescribeKey", "iam:GetRole"))


def test_a_bad_permission_fails_the_declaration() -> None:
    with pytest.raises(ValueError, match="aws_role_exists: permission 'azure:sas'"):
        @declare(permissions=("azure:sas",))
        def test_aws_role_exists(chain_view: ChainView) -> Finding:
            return Finding.passed("ok")
    assert registry.CHECKS == {}


# -- id, reads, subject and the rest of the metadata ---------------------------------------------------------------

def test_the_id_prefix_must_match_the_provider() -> None:
    with pytest.raises(ValueError, match="azure_container_private: the id of an aws check starts with aws_"):
        @declare()
        def test_azure_container_private(chain_view: ChainView) -> Finding:
            return Finding.passed("ok")
    with pytest.raises(ValueError, match="aws_role_exists: the id of an azure check starts with azure_"):
        @declare(Provider.AZURE, permissions=(), resource=Subject.BACKUP_CONTAINER)
        def test_aws_role_exists(azure_backup: AzureBackup) -> Finding:
            return Finding.passed("ok")


def test_the_function_is_named_after_the_check() -> None:
    with pytest.raises(ValueError, match="check function 'aws_role_exists' must be named test_<check_id>"):
        @declare()
        def aws_role_exists(chain_view: ChainView) -> Finding:
            return Finding.passed("ok")


def test_a_check_reads_through_its_provider_view_only() -> None:
    with pytest.raises(ValueError, match="aws_role_exists: aws checks read through a 'chain_view' parameter"):
        @declare()
        def test_aws_role_exists(aws_snapshot: AwsSnapshot) -> Finding:
            return Finding.passed("ok")
    with pytest.raises(ValueError, match="aws_role_exists: a check reads only through 'chain_view', not aws_snapshot"):
        @declare()
        def test_aws_role_exists(chain_view: ChainView, aws_snapshot: AwsSnapshot) -> Finding:
            return Finding.passed("ok")
    with pytest.raises(ValueError, match="azure_x: a check reads only through 'azure_backup', not chain"):
        @declare(Provider.AZURE, permissions=(), resource=Subject.BACKUP_CONTAINER)
        def test_azure_x(chain: Chain, azure_backup: AzureBackup) -> Finding:
            return Finding.passed("ok")


def test_the_subject_belongs_to_the_provider() -> None:
    with pytest.raises(ValueError, match="aws_role_exists: resource BACKUP_CONTAINER belongs to azure checks"):
        @declare(resource=Subject.BACKUP_CONTAINER)
        def test_aws_role_exists(chain_view: ChainView) -> Finding:
            return Finding.passed("ok")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"title": "Ensure the role exists"}, "titles state the expectation"),
    ({"controls": ()}, "must name at least one control reference"),
])
def test_title_and_controls_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        @declare(**kwargs)
        def test_aws_role_exists(chain_view: ChainView) -> Finding:
            return Finding.passed("ok")


def test_a_valid_declaration_registers_its_metadata() -> None:
    @declare(permissions=("iam:GetRole", "iam:ListRolePolicies"))
    def test_aws_role_exists(chain_view: ChainView) -> Finding:
        return Finding.passed("ok")

    meta = registry.meta_of(test_aws_role_exists)
    assert meta is not None
    assert dict(registry.CHECKS) == {"aws_role_exists": meta}
    assert (meta.provider, meta.permissions) == (Provider.AWS, ("iam:GetRole", "iam:ListRolePolicies"))


def test_the_registry_does_not_import_the_checks() -> None:
    code = "import sys, compliance.registry; sys.exit('compliance.checks' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- what the wrapper adds to a finding ----------------------------------------------------------------------------

NOTE = Evidence("A note", EvidenceKind.NOTE, {"n": 1})


def aws_check(result: Finding | str) -> Callable[..., Any]:
    @declare(resource=Subject.BUCKET)
    def test_aws_bucket_x(chain_view: ChainView) -> Any:
        return result

    return test_aws_bucket_x


def test_a_finding_without_a_resource_names_the_checks_subject(chain: Chain) -> None:
    view = ChainView(chain, cast(AwsSnapshot, None))
    finding = aws_check(Finding.failed("no", evidence=(NOTE,)))(view)
    assert (finding.status, finding.resource, finding.evidence) == (Status.FAIL, chain.aws.bucket, (NOTE,))
    assert aws_check(Finding.passed("ok", resource="arn:aws:kms:key"))(chain_view=view).resource == "arn:aws:kms:key"


def test_every_aws_finding_carries_the_proposed_policies_last(chain: Chain) -> None:
    proposal = Proposal(ProposalTarget.BUCKET, None, {"Version": "2012-10-17", "Statement": []}, "bucket.json")
    view = ChainView(chain, cast(AwsSnapshot, None), [proposal])
    for finding in (Finding.failed("no", evidence=(NOTE,)), Finding.not_applicable("n/a")):
        completed = aws_check(finding)(view)
        assert completed.evidence[:-1] == finding.evidence
        last = completed.evidence[-1]
        assert (last.label, last.source) == ("Proposed policies in effect (--proposed)", "--proposed")
        assert last.data == [{"replaces": "bucket", "source": "bucket.json", "removes": False}]


def test_a_result_that_is_not_a_finding_is_left_for_the_plugin(chain: Chain) -> None:
    assert aws_check("PASS")(ChainView(chain, cast(AwsSnapshot, None))) == "PASS"


@dataclass
class FakeBackup:
    resource: str = "https://127.0.0.1:10000/devstoreaccount1/audit-backup"


def test_an_azure_check_without_a_backup_is_not_applicable_before_it_runs() -> None:
    calls: list[AzureBackup] = []

    @declare(Provider.AZURE, permissions=(AzureRequirement.BACKUP_SAS,), resource=Subject.BACKUP_CONTAINER)
    def test_azure_x(azure_backup: AzureBackup) -> Finding:
        calls.append(azure_backup)
        return Finding.failed("no")

    skipped = test_azure_x(None)
    assert (skipped.status, skipped.message, skipped.resource, calls) == (Status.NOT_APPLICABLE, NO_AZURE, "", [])
    backup = cast(AzureBackup, FakeBackup())
    ran = test_azure_x(azure_backup=backup)
    assert (ran.status, ran.resource, calls) == (Status.FAIL, FakeBackup.resource, [backup])


def test_the_documented_check_is_copied_from_the_codebase() -> None:
    root = Path(__file__).resolve().parents[2]
    documented = (root / "docs" / "ARCHITECTURE.md").read_text().split("```python\n")[1].split("```")[0]
    assert documented in (root / "compliance" / "checks" / "test_aws_role.py").read_text()
