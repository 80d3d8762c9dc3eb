"""The corpus machinery without a server: patches, placement, the generated chain config and deployments."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime

import pytest

from compliance.config import parse_chain_config
from compliance.targets.deployment import validate

from .corpus import (
    CUSTOMER,
    Case,
    CaseError,
    Kind,
    OrgIds,
    Placement,
    apply_patch,
    case_deployment,
    chain_entry,
    chains_toml,
    load_cases,
    parse_case,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CASES = load_cases()


def _org(case_id: str) -> OrgIds:
    return OrgIds("o-exampleorg1", "r-ex01", {case_id: "ou-ex01-exampl01"})


def test_patch_adds_replaces_and_removes_without_touching_the_input() -> None:
    doc = {"a": {"list": [1, 2], "x": 1}}
    out = apply_patch(doc, ({"op": "add", "path": "/a/list/-", "value": 3},
                            {"op": "replace", "path": "/a/x", "value": 2},
                            {"op": "remove", "path": "/a/list/0"},
                            {"op": "add", "path": "/a/new~1key", "value": {}}))
    assert out == {"a": {"list": [2, 3], "x": 2, "new/key": {}}}
    assert doc == {"a": {"list": [1, 2], "x": 1}}
    with pytest.raises(CaseError):
        apply_patch(doc, ({"op": "replace", "path": "/a/missing", "value": 1},))


def test_placement_renames_the_reference_names_only() -> None:
    place = Placement(7)
    renamed = place.rename({"arn:aws:s3:::company-audit-reports/*": f"arn:aws:iam::{CUSTOMER}:root",
                            "other": "arn:aws:iam::666677778888:root"})
    assert renamed == {"arn:aws:s3:::adv007-audit-reports/*": f"arn:aws:iam::{place.account}:root",
                       "other": "arn:aws:iam::666677778888:root"}
    assert len({Placement(n).account for n in range(1, 500)}) == 499


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_case_is_a_valid_deployment_and_chain_entry(case: Case) -> None:
    place = Placement(1)
    deployment = case_deployment(case, place, _org(case.id), NOW)
    validate(case.source, deployment)
    assert CUSTOMER not in json.dumps(deployment) and "company-audit-" not in json.dumps(deployment)
    text = chains_toml([chain_entry(case, place, _org(case.id), NOW, audit_role=f"arn:aws:iam::{place.account}:role/A",
                                    organizations_role="arn:aws:iam::222233334444:role/O")])
    tomllib.loads(text)
    config = parse_chain_config(text, case.source, require_secrets=False)
    assert config.chains[0].id == place.chain_id and config.chains[0].aws.account == place.account


def test_case_format_errors_are_one_line() -> None:
    base = {"id": "x-case", "kind": "broken", "idea": "i", "doc": {"page": "https://docs.aws.amazon.com/x",
                                                                   "sentence": "s"}}
    with pytest.raises(CaseError, match="names the check"):
        parse_case("x.json", {**base, "expect": {"all_pass": True}})
    with pytest.raises(CaseError, match="unknown key"):
        parse_case("x.json", {**base, "expect": {"fail": ["aws_x"]}, "deploy": {}})
    with pytest.raises(CaseError, match="doc"):
        parse_case("x.json", {**base, "doc": {"page": "http://example.com"}, "expect": {"fail": ["aws_x"]}})
    assert parse_case("x.json", {**base, "expect": {"fail": ["aws_x"]}}).kind is Kind.BROKEN
