"""Planted holes behind literal conditions (random values) are found; unsatisfiable, shadowed and intended
look-alikes are proven safe. Each case runs the proof checks on a mutated copy of the reference snapshot."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.checks import test_aws_proof as proofs
from compliance.config import Chain
from compliance.model import Status
from compliance.targets.snapshot import AwsSnapshot

from .chain_helpers import (
    BUCKET,
    ROLE,
    VENDOR,
    reference_bucket_statements,
    reference_trust,
    run_check,
    secret,
    view,
    with_bucket_policy,
    with_key_policy,
    with_trust,
    without_restrict_public_buckets,
)

RECORDS = f"arn:aws:s3:::{BUCKET}/qualio/*"
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)

org_ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=10, max_size=12).map(lambda s: f"o-{s}")
names = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10)
addresses = st.ip_addresses(v=4).map(str)
referers = st.text("abcdefghijklmnopqrstuvwxyz.", min_size=4, max_size=16)
days = st.integers(min_value=30, max_value=3000)


def _outsider(action: str, conditions: dict[str, Any]) -> dict[str, Any]:
    return {"Sid": "Planted", "Effect": "Allow", "Principal": "*", "Action": action, "Resource": RECORDS,
            "Condition": conditions}


def _bucket(snapshot: AwsSnapshot, *statements: dict[str, Any], restrict: bool = False) -> AwsSnapshot:
    """The reference bucket policy plus `statements`. Block Public Access's RestrictPublicBuckets is switched off
    at both levels unless `restrict`: the planted holes are about policy literals, not about that setting."""
    snapshot = with_bucket_policy(snapshot, [*reference_bucket_statements(), *statements])
    return snapshot if restrict else without_restrict_public_buckets(snapshot)


def _write(chain: Chain, snapshot: AwsSnapshot) -> Status:
    return run_check(proofs.test_aws_proof_records_write_only_intended, view(chain, snapshot)).status


def _read(chain: Chain, snapshot: AwsSnapshot) -> Status:
    return run_check(proofs.test_aws_proof_records_read_only_by_declared_readers, view(chain, snapshot)).status


def _date(offset: int) -> str:
    return (datetime(2026, 11, 29, tzinfo=UTC) + timedelta(days=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_reference_chain_proves_every_question(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    checks = (proofs.test_aws_proof_records_write_only_intended, proofs.test_aws_proof_role_assumable_only_by_vendor,
              proofs.test_aws_proof_bucket_key_restricted, proofs.test_aws_proof_records_read_only_by_declared_readers,
              proofs.test_aws_proof_bucket_config_only_by_customer, proofs.test_aws_proof_intended_exports_allowed)
    for fn in checks:
        finding = run_check(fn, view(ref_chain, reference_snapshot))
        assert finding.status is Status.PASS, (fn.__name__, finding.message)
        assert any(e.label == "Proof" for e in finding.evidence)


@SETTINGS
@given(org=org_ids)
def test_hole_behind_principal_org_id(ref_chain: Chain, reference_snapshot: AwsSnapshot, org: str) -> None:
    snapshot = _bucket(reference_snapshot, _outsider("s3:GetObject", {"StringEquals": {"aws:PrincipalOrgID": org}}))
    finding = run_check(proofs.test_aws_proof_records_read_only_by_declared_readers, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL, finding.message
    assert org in finding.message


@SETTINGS
@given(prefix=names)
def test_hole_behind_principal_arn_prefix(ref_chain: Chain, reference_snapshot: AwsSnapshot, prefix: str) -> None:
    pattern = f"arn:aws:iam::*:role/{prefix}*"
    snapshot = _bucket(reference_snapshot, _outsider("s3:DeleteObject", {"ArnLike": {"aws:PrincipalArn": pattern}}))
    finding = run_check(proofs.test_aws_proof_records_write_only_intended, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert f"role/{prefix}" in finding.message and "s3:DeleteObject" in finding.message


@SETTINGS
@given(address=addresses)
def test_hole_behind_a_single_source_address(ref_chain: Chain, reference_snapshot: AwsSnapshot,
                                             address: str) -> None:
    snapshot = _bucket(reference_snapshot, _outsider("s3:PutObject", {"IpAddress": {"aws:SourceIp": f"{address}/32"}}))
    finding = run_check(proofs.test_aws_proof_records_write_only_intended, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    witness = next(e for e in finding.evidence if e.label.startswith("Witness"))
    assert witness.data["context"]["aws:sourceip"] == address


@SETTINGS
@given(start=days, length=st.integers(min_value=1, max_value=10))
def test_hole_behind_a_date_window(ref_chain: Chain, reference_snapshot: AwsSnapshot, start: int,
                                   length: int) -> None:
    window = {"DateGreaterThan": {"aws:CurrentTime": _date(start)},
              "DateLessThan": {"aws:CurrentTime": _date(start + length)}}
    snapshot = _bucket(reference_snapshot, _outsider("s3:PutObjectRetention", window))
    assert _write(ref_chain, snapshot) is Status.FAIL


@SETTINGS
@given(referer=referers, address=addresses, org=org_ids)
def test_hole_behind_three_literals(ref_chain: Chain, reference_snapshot: AwsSnapshot, referer: str, address: str,
                                    org: str) -> None:
    conditions = {"StringEquals": {"aws:Referer": referer, "aws:PrincipalOrgID": org},
                  "IpAddress": {"aws:SourceIp": f"{address}/32"}}
    snapshot = _bucket(reference_snapshot, _outsider("s3:GetObject", conditions))
    assert _read(ref_chain, snapshot) is Status.FAIL


@SETTINGS
@given(start=days, length=st.integers(min_value=1, max_value=10))
def test_unsatisfiable_window_is_proven_safe(ref_chain: Chain, reference_snapshot: AwsSnapshot, start: int,
                                            length: int) -> None:
    window = {"DateGreaterThan": {"aws:CurrentTime": _date(start + length)},
              "DateLessThan": {"aws:CurrentTime": _date(start)}}
    snapshot = _bucket(reference_snapshot, _outsider("s3:DeleteObject", window))
    assert _write(ref_chain, snapshot) is Status.PASS


@SETTINGS
@given(address=addresses)
def test_hole_shadowed_by_deny_is_proven_safe(ref_chain: Chain, reference_snapshot: AwsSnapshot, address: str) -> None:
    network = str(ipaddress.ip_network(f"{address}/8", strict=False))
    shadow = {"Sid": "DenyOutsiders", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RECORDS,
              "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}}
    snapshot = _bucket(reference_snapshot, _outsider("s3:PutObject", {"IpAddress": {"aws:SourceIp": network}}),
                       shadow)
    assert _write(ref_chain, snapshot) is Status.PASS


@SETTINGS
@given(referer=referers)
def test_grant_within_intent_is_proven_safe(ref_chain: Chain, reference_snapshot: AwsSnapshot, referer: str) -> None:
    within = {"Sid": "RoleWrites", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:PutObject",
              "Resource": RECORDS, "Condition": {"StringEquals": {"aws:Referer": referer}}}
    snapshot = _bucket(reference_snapshot, within)
    assert _write(ref_chain, snapshot) is Status.PASS


def test_data_perimeter_deny_on_org_id_passes(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    perimeter = {"Sid": "DataPerimeter", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                 "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-exampleorgid1"},
                               "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}
    snapshot = _bucket(reference_snapshot, perimeter)
    assert _write(ref_chain, snapshot) is Status.PASS
    assert _read(ref_chain, snapshot) is Status.PASS


@SETTINGS
@given(pattern=names)
def test_trust_hole_behind_external_id_pattern(ref_chain: Chain, reference_snapshot: AwsSnapshot,
                                              pattern: str) -> None:
    hole = {"Sid": "Partners", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:ExternalId": f"{pattern}*"}}}
    snapshot = with_trust(reference_snapshot, [*reference_trust(), hole])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL
    assert secret() not in str([e.to_json() for e in finding.evidence]) + finding.message


def test_deny_style_external_id_trust_passes(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    trust = [{"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": VENDOR},
              "Action": ["sts:AssumeRole", "sts:TagSession"]},
             {"Sid": "RequireExternalId", "Effect": "Deny", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole",
              "Condition": {"StringNotEquals": {"sts:ExternalId": secret()}}}]
    snapshot = with_trust(reference_snapshot, trust)
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.PASS, finding.message


def test_vendor_without_external_id_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    trust = [{"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole"}]
    snapshot = with_trust(reference_snapshot, trust)
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "ExportService" in finding.message


def test_oidc_provider_in_trust_fails_unless_declared(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    oidc = {"Sid": "Ci", "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}}}
    snapshot = with_trust(reference_snapshot, [*reference_trust(), oidc])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "oidc-provider" in finding.message


def test_key_open_to_outsiders_under_satisfiable_condition_fails(ref_chain: Chain,
                                                                 reference_snapshot: AwsSnapshot) -> None:
    statements = [
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "ViaS3", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]
    snapshot = with_key_policy(reference_snapshot, statements)
    finding = run_check(proofs.test_aws_proof_bucket_key_restricted, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "kms:Decrypt" in finding.message


def test_key_for_star_pinned_to_caller_account_passes(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    statements = [
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "ViaS3", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                         "kms:CallerAccount": "111122223333"}}}]
    snapshot = with_key_policy(reference_snapshot, statements)
    finding = run_check(proofs.test_aws_proof_bucket_key_restricted, view(ref_chain, snapshot))
    assert finding.status is Status.PASS, finding.message


def test_outsider_can_change_object_lock_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    grant = {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
             "Action": "s3:PutBucket*", "Resource": f"arn:aws:s3:::{BUCKET}"}
    snapshot = _bucket(reference_snapshot, grant)
    finding = run_check(proofs.test_aws_proof_bucket_config_only_by_customer, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "444455556666" in finding.message


def test_intended_export_denied_for_some_keys_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    deny = {"Sid": "NoDrafts", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/qualio/drafts/*"}
    snapshot = _bucket(reference_snapshot, deny)
    finding = run_check(proofs.test_aws_proof_intended_exports_allowed, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "qualio/drafts/" in finding.message


def test_fuzzing_that_disagrees_with_a_passing_proof_is_error(ref_chain: Chain, reference_snapshot: AwsSnapshot,
                                                              monkeypatch: Any) -> None:
    """A hole fuzzing finds but every proof missed means the reasoning layer is wrong: ERROR, never PASS."""
    from compliance.checks import test_aws_fuzz as fuzz
    from compliance.proof.questions import ChainQuestions, Proof
    from compliance.proof.search import Outcome

    def proven(self: ChainQuestions) -> Proof:
        return Proof("stubbed", Outcome("stubbed"), ())

    for name in ("records_write", "records_read", "bucket_configuration", "role_assumption", "key_use"):
        monkeypatch.setattr(ChainQuestions, name, proven)
    snapshot = _bucket(reference_snapshot, _outsider("s3:DeleteObject", {}))
    finding = run_check(lambda v: fuzz.test_aws_fuzz_unintended_requests_denied(v, 25), view(ref_chain, snapshot))
    assert finding.status is Status.ERROR and "disagree" in finding.message
    monkeypatch.undo()
    finding = run_check(lambda v: fuzz.test_aws_fuzz_unintended_requests_denied(v, 25), view(ref_chain, snapshot))
    assert finding.status is Status.FAIL


def test_misspelt_actions_are_reported(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    from compliance.checks import test_aws_actions as actions

    assert run_check(actions.test_aws_policies_name_only_known_actions,
                     view(ref_chain, reference_snapshot)).status is Status.PASS
    deny = {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObjekt", "s3:Put*"],
            "Resource": RECORDS}
    finding = run_check(actions.test_aws_policies_name_only_known_actions,
                        view(ref_chain, _bucket(reference_snapshot, deny)))
    assert finding.status is Status.FAIL
    assert "s3:DeleteObjekt" in finding.message and "denies nothing" in finding.message
    assert "s3:Put*" not in finding.message


@SETTINGS
@given(unique=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=12, max_size=16))
def test_hole_behind_an_outside_role_unique_id(ref_chain: Chain, reference_snapshot: AwsSnapshot,
                                               unique: str) -> None:
    snapshot = _bucket(reference_snapshot, _outsider("s3:GetObject", {"StringLike": {"aws:userid": f"AROA{unique}:*"}}))
    assert _read(ref_chain, snapshot) is Status.FAIL


def test_hole_for_a_named_outside_session(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    session = "arn:aws:sts::444455556666:assumed-role/Partner/batch-7"
    grant = {"Sid": "Session", "Effect": "Allow", "Principal": {"AWS": session}, "Action": "s3:DeleteObject",
             "Resource": RECORDS}
    finding = run_check(proofs.test_aws_proof_records_write_only_intended, view(ref_chain,
                                                                               _bucket(reference_snapshot, grant)))
    assert finding.status is Status.FAIL and "batch-7" in finding.message


@SETTINGS
@given(start=st.integers(min_value=1_800_000_000, max_value=1_900_000_000))
def test_hole_behind_an_epoch_window(ref_chain: Chain, reference_snapshot: AwsSnapshot, start: int) -> None:
    window = {"NumericGreaterThan": {"aws:EpochTime": str(start)},
              "NumericLessThan": {"aws:EpochTime": str(start + 3600)}}
    assert _write(ref_chain, _bucket(reference_snapshot, _outsider("s3:PutObject", window))) is Status.FAIL


GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
PINNED_SUB = "repo:acme/exports:ref:refs/heads/main"


def _declared(chain: Chain) -> Chain:
    from dataclasses import replace as replaced

    from compliance.config import AssumerKind, DeclaredAssumer

    assumer = DeclaredAssumer(GITHUB, AssumerKind.OIDC_PROVIDER,
                              {"token.actions.githubusercontent.com:sub": PINNED_SUB})
    return replaced(chain, aws=replaced(chain.aws, declared_assumers=(assumer,)))


def _oidc_trust(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Sid": "Ci", "Effect": "Allow", "Principal": {"Federated": GITHUB},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}


def test_declared_oidc_path_with_pinned_sub_passes(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    trust = _oidc_trust({"StringEquals": {"token.actions.githubusercontent.com:sub": PINNED_SUB,
                                          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})
    snapshot = with_trust(reference_snapshot, [*reference_trust(), trust])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(_declared(ref_chain), snapshot))
    assert finding.status is Status.PASS, finding.message


def test_declared_oidc_path_with_wildcard_sub_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    trust = _oidc_trust({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}})
    snapshot = with_trust(reference_snapshot, [*reference_trust(), trust])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(_declared(ref_chain), snapshot))
    assert finding.status is Status.FAIL and "oidc-provider" in finding.message


def test_service_principal_in_trust_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    service = {"Sid": "Ec2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
               "Action": "sts:AssumeRole"}
    snapshot = with_trust(reference_snapshot, [*reference_trust(), service])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "ec2.amazonaws.com" in finding.message


def test_own_account_root_in_trust_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    own = {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
           "Action": "sts:AssumeRole"}
    snapshot = with_trust(reference_snapshot, [*reference_trust(), own])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "111122223333" in finding.message


def test_grant_behind_a_resource_tag_is_a_hole(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    """Bucket and object tags are not read, so a grant that depends on one is open for the records that carry it."""
    snapshot = _bucket(reference_snapshot, _outsider("s3:GetObject",
                                                     {"StringEquals": {"s3:ExistingObjectTag/share": "partner"}}))
    assert _read(ref_chain, snapshot) is Status.FAIL


def test_trust_naming_a_customer_session_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    session = {"Sid": "Ops", "Effect": "Allow",
               "Principal": {"AWS": "arn:aws:sts::111122223333:assumed-role/Ops/alice"}, "Action": "sts:AssumeRole"}
    snapshot = with_trust(reference_snapshot, [*reference_trust(), session])
    finding = run_check(proofs.test_aws_proof_role_assumable_only_by_vendor, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "assumed-role/Ops/alice" in finding.message


def _with_grant(snapshot: AwsSnapshot, grantee: str, operations: tuple[str, ...]) -> AwsSnapshot:
    from dataclasses import replace as replaced

    from compliance.targets.snapshot import KmsGrant, Read

    bucket = snapshot.bucket.value
    assert bucket is not None and bucket.kms_key.value is not None
    grant = KmsGrant("g-1", "export", grantee, None, operations, {}, {}, "111122223333")
    key = replaced(bucket.kms_key.value, grants=Read("kms:ListGrants", (grant,)))
    return replaced(snapshot, bucket=Read(snapshot.bucket.api, replaced(bucket, kms_key=Read("kms:GetKeyPolicy", key))))


def test_role_key_access_through_a_grant_counts(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    """SECURE: the key policy only enables IAM; a grant gives the role its data-key operations."""
    from compliance.checks import test_aws_role as role_checks

    only_iam = [{"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": "kms:DescribeKey", "Resource": "*"}]
    snapshot = with_key_policy(reference_snapshot, only_iam)
    check = role_checks.test_aws_role_and_key_policy_allow_kms_for_bucket_key
    assert run_check(check, view(ref_chain, snapshot)).status is Status.FAIL
    granted = _with_grant(snapshot, ROLE, ("GenerateDataKey", "Decrypt"))
    assert run_check(check, view(ref_chain, granted)).status is Status.PASS


def test_key_grant_to_another_account_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    snapshot = _with_grant(reference_snapshot, "arn:aws:iam::444455556666:root", ("Decrypt",))
    finding = run_check(proofs.test_aws_proof_bucket_key_restricted, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "444455556666" in finding.message


def test_sampling_trust_checks_defer_to_the_proof(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    """A principal or an ExternalId the fixed samples never try is found through the role proof."""
    from compliance.checks import test_aws_trust as trust_checks

    partner = {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123412341234:role/Sync"},
               "Action": "sts:AssumeRole"}
    two_ids = [{**reference_trust()[0], "Condition": {"StringEquals": {"sts:ExternalId": [secret(), "legacy-id-42"]}}},
               reference_trust()[1]]
    others = run_check(trust_checks.test_aws_trust_denies_other_principals,
                       view(ref_chain, with_trust(reference_snapshot, [*reference_trust(), partner])))
    assert others.status is Status.FAIL and "123412341234" in others.message
    wrong = run_check(trust_checks.test_aws_trust_denies_wrong_or_missing_external_id,
                      view(ref_chain, with_trust(reference_snapshot, two_ids)))
    assert wrong.status is Status.FAIL and secret() not in wrong.message
    for check in (trust_checks.test_aws_trust_denies_other_principals,
                  trust_checks.test_aws_trust_denies_wrong_or_missing_external_id):
        assert run_check(check, view(ref_chain, reference_snapshot)).status is Status.PASS


def test_deny_style_external_id_passes_the_form_check(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    from compliance.checks import test_aws_trust as trust_checks

    deny_style = [{"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": VENDOR},
                   "Action": ["sts:AssumeRole", "sts:TagSession"]},
                  {"Sid": "RequireExternalId", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringNotEquals": {"sts:ExternalId": secret()}}}]
    check = trust_checks.test_aws_trust_external_id_condition_is_string_equals
    finding = run_check(check, view(ref_chain, with_trust(reference_snapshot, deny_style)))
    assert finding.status is Status.PASS, finding.message
    unguarded = [deny_style[0]]
    assert run_check(check, view(ref_chain, with_trust(reference_snapshot, unguarded))).status is Status.FAIL
    two = [deny_style[0], {**deny_style[1], "Condition": {"StringNotEquals": {"sts:ExternalId": [secret(), "x-2"]}}}]
    assert run_check(check, view(ref_chain, with_trust(reference_snapshot, two))).status is Status.FAIL


def test_org_path_hole_is_found_with_a_consistent_witness(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    grant = _outsider("s3:GetObject", {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-partnerorg1/r-ab12/*"}})
    finding = run_check(proofs.test_aws_proof_records_read_only_by_declared_readers,
                        view(ref_chain, _bucket(reference_snapshot, grant)))
    assert finding.status is Status.FAIL and "o-partnerorg1" in finding.message
    context = next(e for e in finding.evidence if e.label.startswith("Witness")).data["context"]
    witness = {k.lower(): v for k, v in context.items()}
    assert witness["aws:principalorgpaths"][0].startswith(witness["aws:principalorgid"] + "/")



@SETTINGS
@given(start=days, length=st.integers(min_value=1, max_value=10))
def test_restrict_public_buckets_closes_a_public_grant(ref_chain: Chain, reference_snapshot: AwsSnapshot, start: int,
                                                       length: int) -> None:
    """SECURE: a grant to "*" (other accounts, not services) behind a date window is public, and
    RestrictPublicBuckets (on in the reference account) limits a public bucket policy to AWS services and the owner
    account's principals. The same grant without the setting is a hole."""
    window = {"DateGreaterThan": {"aws:CurrentTime": _date(start)},
              "DateLessThan": {"aws:CurrentTime": _date(start + length)},
              "StringNotEquals": {"aws:PrincipalAccount": "111122223333"},
              "Bool": {"aws:PrincipalIsAWSService": "false"}}
    grant = _outsider("s3:DeleteObject", window)
    assert _write(ref_chain, _bucket(reference_snapshot, grant, restrict=True)) is Status.PASS
    assert _write(ref_chain, _bucket(reference_snapshot, grant)) is Status.FAIL


@SETTINGS
@given(org=org_ids)
def test_restrict_public_buckets_leaves_a_non_public_grant_open(ref_chain: Chain, reference_snapshot: AwsSnapshot,
                                                                org: str) -> None:
    """A grant pinned to a fixed organization is not public, so RestrictPublicBuckets does not stop it."""
    grant = _outsider("s3:GetObject", {"StringEquals": {"aws:PrincipalOrgID": org}})
    assert _read(ref_chain, _bucket(reference_snapshot, grant, restrict=True)) is Status.FAIL


def test_public_policy_reading() -> None:
    from compliance.iam import PolicyKind, parse_policy
    from compliance.proof.public import is_public

    def policy(condition: dict[str, Any] | None, principal: Any = "*", action: str = "s3:GetObject") -> Any:
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
        if condition:
            statement["Condition"] = condition
        return parse_policy({"Statement": [statement]}, kind=PolicyKind.RESOURCE, name="bucket policy")

    assert is_public(policy(None))
    assert is_public(policy({"StringEquals": {"aws:Referer": "https://portal.example.com"}}))
    assert is_public(policy({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Export*"}}))
    assert not is_public(policy({"IpAddress": {"aws:SourceIp": "198.51.100.7/32"}}))
    assert not is_public(policy({"StringEquals": {"aws:SourceAccount": "444455556666"}}))
    assert not is_public(policy(None, principal={"AWS": "arn:aws:iam::444455556666:root"}))
    assert not is_public(policy(None, action="s3:GetBucketLocation"))


def test_delegation_to_any_account_access_point_is_a_hole(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    """Delegating to every access point, not only the account's own, lets another account create one for this
    bucket; delegating to the account's own access points does not."""
    any_point = {"Sid": "Delegate", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
                 "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                 "Condition": {"ArnLike": {"s3:DataAccessPointArn": "arn:aws:s3:*:*:accesspoint/*"}}}
    assert _read(ref_chain, _bucket(reference_snapshot, any_point)) is Status.FAIL
    own = {**any_point, "Condition": {"StringEquals": {"s3:DataAccessPointAccount": "111122223333"}}}
    assert _read(ref_chain, _bucket(reference_snapshot, own)) is Status.PASS


def test_outside_acl_grant_is_dead_when_acls_are_disabled(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    grant = {"Sid": "Acl", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
             "Action": ["s3:PutObjectAcl", "s3:PutBucketAcl"],
             "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}
    snapshot = _bucket(reference_snapshot, grant)
    assert _write(ref_chain, snapshot) is Status.PASS
    assert run_check(proofs.test_aws_proof_bucket_config_only_by_customer,
                     view(ref_chain, snapshot)).status is Status.PASS
    from dataclasses import replace as replaced

    from compliance.targets.snapshot import Read

    bucket = snapshot.bucket.value
    assert bucket is not None
    acls_on = replaced(snapshot, bucket=Read(snapshot.bucket.api, replaced(
        bucket, ownership=Read("s3:GetBucketOwnershipControls", "ObjectWriter"))))
    assert _write(ref_chain, acls_on) is Status.FAIL


def test_export_role_reading_the_records_fails(ref_chain: Chain, reference_snapshot: AwsSnapshot) -> None:
    """The vendor holds the export role's sessions: a role that can read the records lets the vendor read them all."""
    from .chain_helpers import with_inline

    snapshot = with_inline(reference_snapshot, {"WriteAndRead": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": RECORDS}]})
    finding = run_check(proofs.test_aws_proof_records_read_only_by_declared_readers, view(ref_chain, snapshot))
    assert finding.status is Status.FAIL and "export role" in finding.message
