"""The records proofs go through every access point: the documented delegation passes, an open access point fails
naming it (the proof checks on moto-provisioned access points)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from compliance.chain.view import ChainView
from compliance.checks import test_aws_proof as proofs
from compliance.config import Chain
from compliance.model import Status
from compliance.targets.snapshot import Read

from .chain_helpers import deployment_from, provision, run_check, view
from .test_aws_access_points import ap_policy, deployment, restrictive_policy


def chain_view(data: dict[str, Any], chain: Chain) -> ChainView:
    """Provisioned into moto, which cannot list Object Lambda access points once a supporting access point exists
    (that read is ERROR in a real run); here the listing is taken as read and empty."""
    snapshot = provision(deployment_from(data), chain)
    snapshot = replace(snapshot, object_lambda_access_points=Read("s3control:ListAccessPointsForObjectLambda", ()))
    return view(chain, snapshot)


def test_documented_delegation_passes_every_records_proof(reference_deployment: dict[str, Any],
                                                          ref_chain: Chain) -> None:
    cv = chain_view(deployment(reference_deployment, delegation=True,
                               points=[{"name": "audit-readers", "policy": restrictive_policy("audit-readers")}]),
                    ref_chain)
    for check in (proofs.test_aws_proof_records_read_only_by_declared_readers,
                  proofs.test_aws_proof_records_write_only_intended):
        finding = run_check(check, cv)
        assert finding.status is Status.PASS, finding.message


def test_access_point_open_to_everyone_fails_naming_it(reference_deployment: dict[str, Any],
                                                       ref_chain: Chain) -> None:
    cv = chain_view(deployment(reference_deployment, delegation=True, points=[
        {"name": "partner-share", "policy": ap_policy("partner-share", {"AWS": "*"}, ["s3:GetObject"])}]), ref_chain)
    finding = run_check(proofs.test_aws_proof_records_read_only_by_declared_readers, cv)
    assert finding.status is Status.FAIL and "partner-share" in finding.message


def test_access_point_write_grant_on_a_sub_prefix_fails(reference_deployment: dict[str, Any],
                                                        ref_chain: Chain) -> None:
    """The access point's Resource pattern splits the bucket's keys: the hole under qualio/inbox/ is found."""
    policy = ap_policy("partner-drop", {"AWS": "arn:aws:iam::444455556666:root"}, ["s3:PutObject"],
                       key="qualio/inbox/*")
    cv = chain_view(deployment(reference_deployment, delegation=True,
                               points=[{"name": "partner-drop", "policy": policy}]), ref_chain)
    finding = run_check(proofs.test_aws_proof_records_write_only_intended, cv)
    assert finding.status is Status.FAIL and "partner-drop" in finding.message and "qualio/inbox/" in finding.message


def test_open_access_point_without_delegation_passes(reference_deployment: dict[str, Any], ref_chain: Chain) -> None:
    cv = chain_view(deployment(reference_deployment, delegation=False, points=[
        {"name": "partner-share", "policy": ap_policy("partner-share", {"AWS": "*"}, ["s3:GetObject"])}]), ref_chain)
    finding = run_check(proofs.test_aws_proof_records_read_only_by_declared_readers, cv)
    assert finding.status is Status.PASS, finding.message


def test_unreadable_object_lambda_access_points_make_the_records_proofs_error(reference_deployment: dict[str, Any],
                                                                              ref_chain: Chain) -> None:
    """An Object Lambda listing that failed (as on an endpoint that cannot answer it) is a path that cannot be read:
    never taken as closed."""
    from compliance.targets.snapshot import ReadFailure

    data = deployment(reference_deployment, delegation=True,
                      points=[{"name": "audit-readers", "policy": restrictive_policy("audit-readers")}])
    snapshot = provision(deployment_from(data), ref_chain)
    api = "s3control:ListAccessPointsForObjectLambda"
    failed = replace(snapshot, object_lambda_access_points=Read(api, failure=ReadFailure(api, "404", "Not Found")))
    finding = run_check(proofs.test_aws_proof_records_read_only_by_declared_readers, view(ref_chain, failed))
    assert finding.status is Status.ERROR and "ObjectLambda" in finding.message
