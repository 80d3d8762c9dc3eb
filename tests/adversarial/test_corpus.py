"""The adversarial corpus, run as an attacker would: every case provisioned into its own account on one moto
server (the customer accounts are members of one organization), then ONE `pytest compliance/ --target live`
run reads every chain, and each chain's statuses are compared with the verdict its case file states.

Cases that name a check or a chain-config key the suite does not have yet are strict xfails naming what is
missing; a case whose verdict the suite gets wrong for a known reason carries `"known": "product bug: ..."`.
Neither weakens an expectation: the mismatch stays visible in the xfail reason and in the run's report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from compliance.config import parse_chain_config
from compliance.errors import ConfigError
from compliance.model import Status
from compliance.permissions import read_policy
from compliance.registry import load_all_checks
from compliance.targets.aws_moto import MotoAwsTarget, Provisioner
from compliance.targets.deployment import substitute, validate

from scale.moto_live import AUDIT_ROLE, EXTERNAL_ID, ORG_ROLE, LiveServer, evidence_of, live_server, run_live
from .corpus import (
    ACCOUNT_ALIASES,
    MANAGEMENT,
    ORG_MEMBER,
    Case,
    Kind,
    OrgIds,
    Placement,
    case_deployment,
    chain_entry,
    chains_toml,
    load_cases,
    reference_scp,
    utc_now,
)

CASES = load_cases()
PLACES = {case.id: Placement(i + 1) for i, case in enumerate(CASES)}
REGISTERED = load_all_checks()
AWS_CHECKS = {check_id for check_id, meta in REGISTERED.items() if meta.provider.value.lower() == "aws"}
ACCEPTABLE = {Status.PASS.value, Status.NOT_APPLICABLE.value, Status.NOT_SUPPORTED.value}
ORGANIZATIONS_ROLE = f"arn:aws:iam::{MANAGEMENT}:role/{ORG_ROLE}"
FUZZ_EXAMPLES = "20"


def _audit_role(place: Placement) -> str:
    return f"arn:aws:iam::{place.account}:role/{AUDIT_ROLE}"


def _entry(case: Case, org: OrgIds, now: datetime) -> dict[str, Any]:
    place = PLACES[case.id]
    return chain_entry(case, place, org, now, audit_role=_audit_role(place), organizations_role=ORGANIZATIONS_ROLE)


def _config_problem(case: Case) -> str | None:
    """Why the suite's chain config would refuse this case's entry (a key not landed yet), or None."""
    placeholder = OrgIds("o-exampleorg1", "r-ex01", {case.id: "ou-ex01-exampl01"})
    text = chains_toml([_entry(case, placeholder, utc_now())])
    try:
        parse_chain_config(text, f"{case.id}.toml", require_secrets=False)
    except ConfigError as exc:
        return str(exc)
    return None


CONFIG_PROBLEMS = {case.id: _config_problem(case) for case in CASES}
RUNNABLE = [case for case in CASES if CONFIG_PROBLEMS[case.id] is None]


def _xfail_reasons(case: Case) -> list[str]:
    reasons = []
    missing = [c for c in case.expect.named_checks if c not in REGISTERED]
    if missing:
        reasons.append(f"feature not landed: check(s) {', '.join(missing)} not registered")
    if CONFIG_PROBLEMS[case.id]:
        reasons.append(f"feature not landed: the chain config refuses the case ({CONFIG_PROBLEMS[case.id]})")
    if case.needs:
        reasons.append(f"feature not landed: {case.needs}")
    if case.known:
        reasons.append(case.known)
    return reasons


def _param(case: Case) -> Any:
    reasons = _xfail_reasons(case)
    marks = [pytest.mark.xfail(reason="; ".join(reasons), strict=True)] if reasons else []
    return pytest.param(case, id=case.id, marks=marks)


# --- provisioning -----------------------------------------------------------------------------------------------


def build_organization(srv: LiveServer, now: datetime) -> OrgIds:
    """One organization (all features): a root with the other member account, one OU per case holding the case's
    account, the reference SCP (renamed for the case) and the case's own SCPs and RCPs."""
    org = srv.client("organizations", MANAGEMENT)
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
    _create_account(org, ORG_MEMBER, root, root)
    ous: dict[str, str] = {}
    for case in RUNNABLE:
        place = PLACES[case.id]
        ous[case.id] = org.create_organizational_unit(ParentId=root, Name=place.chain_id)["OrganizationalUnit"]["Id"]
    ids = OrgIds(org_id, root, ous)
    for case in RUNNABLE:
        place = PLACES[case.id]
        policies = [("SERVICE_CONTROL_POLICY", "ProtectAuditRecords", reference_scp(place))]
        policies += [("SERVICE_CONTROL_POLICY", n, d) for n, d in case.org.get("scps", {}).items()]
        policies += [("RESOURCE_CONTROL_POLICY", n, d) for n, d in case.org.get("rcps", {}).items()]
        for policy_type, name, document in policies:
            content = json.dumps(ids.resolve(place.rename(document), case.id, now))
            created = org.create_policy(Name=f"{place.chain_id}-{name}", Description=name, Type=policy_type,
                                        Content=content)
            org.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=ous[case.id])
        _create_account(org, place.account, root, ous[case.id])
    return ids


def _create_account(org: Any, account: str, root: str, parent: str) -> None:
    with mock.patch("moto.organizations.utils.make_random_account_id", return_value=account):
        org.create_account(AccountName=f"account-{account}", Email=f"aws+{account}@example.com")
    if parent != root:
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)


def provision_case(srv: LiveServer, case: Case, org: OrgIds, now: datetime) -> None:
    place = PLACES[case.id]
    target = MotoAwsTarget(validate(case.source, case_deployment(case, place, org, now)),
                           env={"EXPORT_EXTERNAL_ID": EXTERNAL_ID})
    Provisioner(target, client=srv.client).provision()
    for step in case.provision:
        account = ACCOUNT_ALIASES.get(step.get("account", "customer"), step.get("account", "customer"))
        service, call = step["call"].split(".", 1)
        args = substitute(org.resolve(place.rename(step.get("args", {})), case.id, now), target.resolve)
        client = srv.client(service, place.rename(account), step.get("region", "us-east-1"))
        for key in step.get("json_args", []):  # policy documents given as JSON objects
            args[key] = json.dumps(args[key])
        getattr(client, call)(**args)


@dataclass
class Run:
    evidence: dict[str, Any]
    output: str
    returncode: int

    def findings(self, chain: str) -> dict[str, tuple[str, str]]:
        return {r["check"]["id"]: (r["finding"]["status"], r["finding"]["message"])
                for r in self.evidence["findings"] if r["chain"] == chain}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("adversarial")
    now = utc_now()
    with live_server() as srv:
        org = build_organization(srv, now)
        for case in RUNNABLE:
            provision_case(srv, case, org, now)
        policy = read_policy(organizations_role_arn=ORGANIZATIONS_ROLE)
        roles = [srv.role(PLACES[c.id].account, AUDIT_ROLE, policy) for c in RUNNABLE]
        srv.role(MANAGEMENT, ORG_ROLE, read_policy())
        srv.ci_identity(roles)
        chain_file = work / "chains.toml"
        chain_file.write_text(chains_toml([_entry(c, org, now) for c in RUNNABLE]), encoding="utf-8")
        env = {k: str(org.resolve(v, c.id, now)) for c in RUNNABLE for k, v in c.env.items()}
        workers = os.environ.get("ADVERSARIAL_WORKERS", "2")
        result = run_live(srv, chain_file, work / "evidence", "-n", workers, "--fuzz-examples", FUZZ_EXAMPLES,
                          env=env, timeout=1200)
        yield Run(evidence_of(work / "evidence"), result.stdout + result.stderr, result.returncode)


# --- verdicts ---------------------------------------------------------------------------------------------------


def mismatches(case: Case, got: Mapping[str, tuple[str, str]]) -> list[str]:
    """Every way the run's statuses differ from the case's verdict: case id, check, expected, got, message."""
    out = []

    def miss(check: str, expected: str) -> None:
        status, message = got.get(check, ("(not run)", ""))
        out.append(f"{case.id}: {check}: expected {expected}, got {status}: {message}")

    for check in case.expect.fail:
        if got.get(check, ("",))[0] != Status.FAIL.value:
            miss(check, "FAIL")
    for check in case.expect.must_pass:
        if got.get(check, ("",))[0] != Status.PASS.value:
            miss(check, "PASS")
    if case.expect.all_pass:
        for check in sorted(AWS_CHECKS):
            if check in got and got[check][0] not in ACCEPTABLE:
                miss(check, "PASS / NOT APPLICABLE / NOT SUPPORTED")
    return out


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_gets_its_verdict(corpus_run: Run, case: Case) -> None:
    if CONFIG_PROBLEMS[case.id]:
        pytest.fail(f"{case.id} was not run: {CONFIG_PROBLEMS[case.id]}")
    got = corpus_run.findings(PLACES[case.id].chain_id)
    assert got, f"{case.id}: the run has no findings for {PLACES[case.id].chain_id}\n{corpus_run.output[-3000:]}"
    problems = mismatches(case, got)
    assert not problems, "\n".join(problems)


def test_the_run_read_every_runnable_chain(corpus_run: Run) -> None:
    assert corpus_run.returncode in (0, 1), corpus_run.output[-3000:]
    chains = {r["chain"] for r in corpus_run.evidence["findings"]}
    assert chains == {PLACES[c.id].chain_id for c in RUNNABLE}


def test_the_corpus_has_its_size_and_every_case_its_source() -> None:
    broken = [c for c in CASES if c.kind is Kind.BROKEN]
    secure = [c for c in CASES if c.kind is Kind.SECURE]
    assert len(broken) >= 40 and len(secure) >= 10, (len(broken), len(secure))
    for case in CASES:
        assert case.doc["page"].startswith("https://") and len(case.doc["sentence"]) > 20, case.id
        assert Path(__file__).with_name("cases").joinpath(case.source).is_file()
