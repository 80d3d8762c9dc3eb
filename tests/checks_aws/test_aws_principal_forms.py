"""Every form AWS accepts in a Principal element is evaluated, never a crash (issue 10, item 9).

IAM User Guide, "AWS JSON policy elements: Principal": a bare 12-digit account id and
`arn:aws:iam::ID:root` both name an account; `"*"` and `{"AWS": "*"}` name everyone; S3 bucket policies also
accept canonical user ids; services and federated providers (OIDC, SAML) are named by their own keys. A held-out
secure chain whose key policy named the account as a bare id crashed the fuzzing check with IndexError (the
harvested principal went through `principal_caller`, which split it as an ARN); it is provisioned here and must
PASS every check.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

from compliance.chain.requests import allow_all_policy, principal_caller
from compliance.checks.test_aws_trust import test_aws_trust_denies_other_principals as others_denied
from compliance.iam import PolicyKind, Request, evaluate, parse_policy
from compliance.model import Finding, Status

from .chain_helpers import (
    BUCKET,
    ROLE,
    customer,
    deployment_from,
    provision,
    reference_bucket_statements,
    reference_trust,
    run_check,
    secret,
    view,
    with_bucket_policy,
    with_key_policy,
    with_trust,
)

CANONICAL_USER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
CUSTOMER = "111122223333"
FUZZ_BUDGET = 15


@pytest.fixture(autouse=True)
def fixed_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLIANCE_FUZZ_SEED", "20261129")


def view_checks() -> list[Callable[..., Finding]]:
    """Every AWS check that needs only the chain view (and the fuzz budget): all but the moto canary write."""
    found = []
    import compliance.checks as package

    modules = [importlib.import_module(f"compliance.checks.{info.name}") for info in pkgutil.iter_modules(
        package.__path__) if info.name.startswith("test_aws_")]
    for module in modules:
        for name in sorted(dir(module)):
            fn = getattr(module, name)
            if name.startswith("test_aws_") and callable(fn) \
                    and set(inspect.signature(fn).parameters) <= {"chain_view", "fuzz_budget"}:
                found.append(fn)
    return found


def run_all(chain: Any, snapshot: Any) -> dict[str, Finding]:
    out = {}
    for fn in view_checks():
        args: tuple[Any, ...] = (FUZZ_BUDGET,) if "fuzz_budget" in inspect.signature(fn).parameters else ()
        try:
            out[fn.__name__] = run_check(fn, view(chain, snapshot), *args)
        except Exception as exc:  # the plugin would report ERROR; here a crash is the bug under test
            out[fn.__name__] = Finding.error(f"crashed: {type(exc).__name__}: {exc}")
    return out


def crashes(findings: dict[str, Finding]) -> dict[str, str]:
    """Checks that raised something other than the suite's own errors (a read, policy or config error is an
    ERROR with its cause; an IndexError is a crash). A check may still report ERROR for a reason of its own, such
    as the fuzzer and the proofs disagreeing about a too-open chain: that is a verdict, not a crash."""
    return {name: f.message for name, f in findings.items()
            if f.status is Status.ERROR and f.message.startswith("crashed:")}


# -- principal_caller: one caller per form ---------------------------------------------------------------------

@pytest.mark.parametrize(("principal", "arn", "account", "kind"), [
    (CUSTOMER, f"arn:aws:iam::{CUSTOMER}:root", CUSTOMER, "Account"),
    (f"arn:aws:iam::{CUSTOMER}:root", f"arn:aws:iam::{CUSTOMER}:root", CUSTOMER, "Account"),
    ("*", "*", None, None),
    ("anonymous", "*", None, None),
    (CANONICAL_USER, CANONICAL_USER, None, None),
    ("lambda.amazonaws.com", "lambda.amazonaws.com", None, None),
    ("logging.s3.amazonaws.com", "logging.s3.amazonaws.com", None, None),
    (f"arn:aws:iam::{CUSTOMER}:saml-provider/Okta", f"arn:aws:iam::{CUSTOMER}:saml-provider/Okta", None, None),
    (f"arn:aws:iam::{CUSTOMER}:oidc-provider/token.actions.githubusercontent.com",
     f"arn:aws:iam::{CUSTOMER}:oidc-provider/token.actions.githubusercontent.com", None, None),
    ("accounts.google.com", "accounts.google.com", None, None),
    ("cognito-identity.amazonaws.com", "cognito-identity.amazonaws.com", None, None),
    (f"arn:aws:iam::{CUSTOMER}:role/path/Admin", f"arn:aws:sts::{CUSTOMER}:assumed-role/Admin/vendor-export",
     CUSTOMER, "AssumedRole"),
    (f"arn:aws:sts::{CUSTOMER}:assumed-role/Admin/alice", f"arn:aws:sts::{CUSTOMER}:assumed-role/Admin/alice",
     CUSTOMER, "AssumedRole"),
    (f"arn:aws:sts::{CUSTOMER}:federated-user/bob", f"arn:aws:sts::{CUSTOMER}:federated-user/bob", CUSTOMER,
     "FederatedUser"),
    (f"arn:aws-cn:iam::{CUSTOMER}:user/ops", f"arn:aws-cn:iam::{CUSTOMER}:user/ops", CUSTOMER, "User"),
    ("AROAEXAMPLEUNIQUEID", "AROAEXAMPLEUNIQUEID", None, None),  # a deleted principal's unique id
    ("arn:aws:iam::12:root", "arn:aws:iam::12:root", None, None),  # malformed: kept opaque, never raises
], ids=["bare-account", "root-arn", "star", "anonymous", "canonical-user", "service", "logging-service",
        "saml-provider", "oidc-provider", "web-identity", "cognito", "role-with-path", "assumed-role-session",
        "federated-user", "china-partition-user", "unique-id", "malformed"])
def test_principal_caller_accepts_every_form(principal: str, arn: str, account: str | None,
                                             kind: str | None) -> None:
    caller = principal_caller(principal, "label")
    assert (caller.arn, caller.account, caller.context.get("aws:PrincipalType")) == (arn, account, kind)


def test_service_callers_carry_the_service_context_keys() -> None:
    caller = principal_caller("logging.s3.amazonaws.com", "S3 log delivery")
    assert caller.context == {"aws:PrincipalIsAWSService": "true",
                              "aws:PrincipalServiceName": "logging.s3.amazonaws.com"}


# -- key policy ------------------------------------------------------------------------------------------------

def key_statements(enable: Any) -> list[dict[str, Any]]:
    return [{"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": enable, "Action": "kms:*", "Resource": "*"},
            {"Sid": "AllowExportRoleToEncrypt", "Effect": "Allow", "Principal": {"AWS": ROLE},
             "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}]


@pytest.mark.parametrize("enable", [
    {"AWS": CUSTOMER}, {"AWS": [CUSTOMER]}, {"AWS": f"arn:aws:iam::{CUSTOMER}:root"},
    {"AWS": [CUSTOMER, f"arn:aws:iam::{CUSTOMER}:root"]},
], ids=["bare-id", "bare-id-list", "root-arn", "both"])
def test_secure_key_policy_naming_the_account_passes_every_check(ref_chain: Any, reference_snapshot: Any,
                                                                 enable: Any) -> None:
    findings = run_all(ref_chain, with_key_policy(reference_snapshot, key_statements(enable)))
    assert crashes(findings) == {}
    assert {n: f.message for n, f in findings.items() if f.status is not Status.PASS} == {}


@pytest.mark.parametrize("extra", [
    {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
    {"Sid": "EveryoneAws", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringEquals": {"kms:CallerAccount": CUSTOMER, "kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    {"Sid": "OtherAccountBare", "Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "kms:*",
     "Resource": "*"},
    {"Sid": "Service", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
     "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
    {"Sid": "Session", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:sts::{CUSTOMER}:assumed-role/Ops/alice"},
     "Action": "kms:DescribeKey", "Resource": "*"},
], ids=["star", "aws-star-conditioned", "other-account-bare-id", "service", "assumed-role-session"])
def test_every_key_policy_principal_form_is_evaluated(ref_chain: Any, reference_snapshot: Any,
                                                      extra: dict[str, Any]) -> None:
    statements = [*key_statements({"AWS": CUSTOMER}), extra]
    assert crashes(run_all(ref_chain, with_key_policy(reference_snapshot, statements))) == {}


# -- bucket policy ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"Sid": "CanonicalRead", "Effect": "Allow", "Principal": {"CanonicalUser": CANONICAL_USER},
     "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    {"Sid": "AccountRead", "Effect": "Allow", "Principal": {"AWS": CUSTOMER}, "Action": "s3:GetObject",
     "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    {"Sid": "DenyDeletesButAccount", "Effect": "Deny", "NotPrincipal": {"AWS": [CUSTOMER, ROLE]},
     "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    {"Sid": "AwsStarDeny", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:DeleteBucket",
     "Resource": f"arn:aws:s3:::{BUCKET}"},
    {"Sid": "LogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/logs/*",
     "Condition": {"StringEquals": {"aws:SourceAccount": CUSTOMER}}},
], ids=["canonical-user", "bare-account", "not-principal-bare-account", "aws-star", "service"])
def test_every_bucket_policy_principal_form_is_evaluated(ref_chain: Any, reference_snapshot: Any,
                                                         extra: dict[str, Any]) -> None:
    snapshot = with_bucket_policy(reference_snapshot, [*reference_bucket_statements(), extra])
    assert crashes(run_all(ref_chain, snapshot)) == {}


# -- trust policy ----------------------------------------------------------------------------------------------

def trust_with(principal: Any, action: Any = "sts:AssumeRole", condition: Any = None) -> list[dict[str, Any]]:
    extra: dict[str, Any] = {"Sid": "ExtraPrincipal", "Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        extra["Condition"] = condition
    return [*reference_trust(), extra]


@pytest.mark.parametrize(("principal", "who"), [
    ({"AWS": "999988887777"}, "another role in the vendor's account"),
    ({"AWS": ["999988887777"]}, "another role in the vendor's account"),
    ({"AWS": "444455556666"}, "another account's root"),
    ({"AWS": "*"}, "another account's root"),
    ("*", "another account's root"),
], ids=["vendor-account-bare-id", "vendor-account-bare-id-list", "other-account-bare-id", "aws-star", "star"])
def test_trust_naming_an_account_or_everyone_fails(ref_chain: Any, reference_snapshot: Any, principal: Any,
                                                   who: str) -> None:
    """Naming an account (in either form) lets every principal of that account assume the role."""
    statements = trust_with(principal, condition={"StringEquals": {"sts:ExternalId": secret()}})
    finding = run_check(others_denied, view(ref_chain, with_trust(reference_snapshot, statements)))
    assert finding.status is Status.FAIL, finding.message
    assert who in finding.message and "'ExtraPrincipal'" in finding.message


@pytest.mark.parametrize(("principal", "action"), [
    ({"Federated": f"arn:aws:iam::{CUSTOMER}:saml-provider/Okta"}, "sts:AssumeRoleWithSAML"),
    ({"Federated": f"arn:aws:iam::{CUSTOMER}:oidc-provider/token.actions.githubusercontent.com"},
     "sts:AssumeRoleWithWebIdentity"),
    ({"Federated": "accounts.google.com"}, "sts:AssumeRoleWithWebIdentity"),
    ({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}, "sts:AssumeRole"),
    ({"AWS": f"arn:aws:sts::{CUSTOMER}:assumed-role/Ops/alice"}, "sts:AssumeRole"),
], ids=["saml", "oidc", "web-identity", "services", "assumed-role-session"])
def test_every_trust_principal_form_is_evaluated(ref_chain: Any, reference_snapshot: Any, principal: Any,
                                                 action: str) -> None:
    snapshot = with_trust(reference_snapshot, trust_with(principal, action))
    assert crashes(run_all(ref_chain, snapshot)) == {}


def test_trust_deny_naming_a_foreign_account_by_bare_id_passes(ref_chain: Any, reference_snapshot: Any) -> None:
    """Secure look-alike: the reference trust plus a Deny for a foreign account named by its bare id."""
    statements = [*reference_trust(), {"Sid": "DenyFormerVendorAccount", "Effect": "Deny",
                                       "Principal": {"AWS": "444455556666"}, "Action": "sts:*"}]
    findings = run_all(ref_chain, with_trust(reference_snapshot, statements))
    assert {n: f.message for n, f in findings.items() if f.status is not Status.PASS} == {}


# -- the held-out chain, provisioned ---------------------------------------------------------------------------

def test_provisioned_key_policy_with_bare_account_id_passes_every_check(ref_chain: Any,
                                                                        reference_deployment: Any) -> None:
    data = copy.deepcopy(reference_deployment)
    key = customer(data)["kms_keys"][0]
    key["policy"]["Statement"][0]["Principal"] = {"AWS": CUSTOMER}
    vendor_role_policy = {"Sid": "DenyOtherVendorAccountsTrust", "Effect": "Deny",
                          "Principal": {"AWS": "444455556666"}, "Action": "sts:AssumeRole"}
    role = next(r for r in customer(data)["roles"] if r["name"] == "QualioExportRole")
    role["trust_policy"]["Statement"].append(vendor_role_policy)
    snapshot = provision(deployment_from(data), ref_chain)
    assert snapshot.bucket.value is not None and snapshot.bucket.value.kms_key.value is not None
    assert snapshot.bucket.value.kms_key.value.policy["Statement"][0]["Principal"] == {"AWS": CUSTOMER}
    findings = run_all(ref_chain, snapshot)
    assert {n: f.message for n, f in findings.items() if f.status is not Status.PASS} == {}


# -- the engine, form by form --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("principal", "caller", "allowed"), [
    ({"AWS": CUSTOMER}, f"arn:aws:iam::{CUSTOMER}:user/ops", True),
    ({"AWS": CUSTOMER}, f"arn:aws:iam::{CUSTOMER}:role/Ops", True),
    ({"AWS": CUSTOMER}, "arn:aws:iam::444455556666:user/ops", False),
    ({"AWS": f"arn:aws:iam::{CUSTOMER}:root"}, f"arn:aws:iam::{CUSTOMER}:user/ops", True),
    ({"AWS": f"arn:aws:iam::{CUSTOMER}:root"}, "arn:aws:iam::444455556666:root", False),
    ("*", "anonymous", True),
    ({"AWS": "*"}, "arn:aws:iam::444455556666:user/anyone", True),
    ({"CanonicalUser": CANONICAL_USER}, CANONICAL_USER, True),
    ({"CanonicalUser": CANONICAL_USER}, f"arn:aws:iam::{CUSTOMER}:user/ops", False),
    ({"Service": "logging.s3.amazonaws.com"}, "logging.s3.amazonaws.com", True),
    ({"Service": "logging.s3.amazonaws.com"}, "lambda.amazonaws.com", False),
    ({"Federated": "accounts.google.com"}, "accounts.google.com", True),
    ({"AWS": f"arn:aws:sts::{CUSTOMER}:assumed-role/Ops/alice"}, f"arn:aws:sts::{CUSTOMER}:assumed-role/Ops/alice",
     True),
    ({"AWS": f"arn:aws:sts::{CUSTOMER}:assumed-role/Ops/alice"}, f"arn:aws:sts::{CUSTOMER}:assumed-role/Ops/bob",
     False),
], ids=["bare-id-user", "bare-id-role-session", "bare-id-other-account", "root-arn-user", "root-arn-other-root",
        "star-anonymous", "aws-star-anyone", "canonical-user", "canonical-user-not-iam", "service",
        "other-service", "web-identity", "session-arn", "other-session"])
def test_engine_matches_every_principal_form(principal: Any, caller: str, allowed: bool) -> None:
    """A bucket in another account (999988887777) whose policy grants s3:GetObject to `principal`, asked by `caller`
    whose own identity policy (where it has one) allows everything, so the bucket policy decides: the account forms
    delegate to the account's principals, the other forms name exactly one caller."""
    document = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]},
        kind=PolicyKind.RESOURCE, name="bucket policy")
    who = principal_caller(caller, "caller")
    request = Request(who.arn, who.account, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/qualio/r.pdf", "999988887777",
                      {**who.context, "aws:SecureTransport": "true"})
    identity = (allow_all_policy(),) if who.account else ()
    assert evaluate(request, identity_policies=identity, resource_policy=document).allowed() is allowed
