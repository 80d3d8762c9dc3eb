"""The least-privilege read policy, proven against an IAM-enforcing moto server, in one multi-chain live run.

One `pytest compliance/ --target live -n 2 -k aws` run reads many chains, each in its own account:
* `chain-000`: the audit role has exactly `python -m compliance permissions`;
* one chain per action of that policy: the same policy without that one action (in the audit role and in the
  chain's own Organizations read role in the management account);
* the last chain: an account whose audit role the CI identity may not assume.
The server authorises the S3 reads under AWS's action names (see moto_live.py for moto's own names).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compliance.checks import load_all_checks
from compliance.model import Provider
from compliance.permission_vocabulary import READ_ACTIONS
from compliance.permissions import SNAPSHOT_ONLY_ACTIONS, aws_actions, declared_by, read_policy

from .moto_live import AUDIT_ROLE, MANAGEMENT, audit_role_arn, evidence_of, live_server, run_live

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale_fixture

ACTIONS = sorted(aws_actions())
FULL = "chain-000"
# Declared reads a check needs only in some deployments. Removing them from the policy leaves these checks with a
# result on the scale deployment; every other declared read must turn the check to ERROR.
SCP_READS = tuple(a for a in ACTIONS if a.startswith("organizations:"))
ACCESS_POINT_DETAIL = ("s3:GetAccessPointPolicy", "s3:GetMultiRegionAccessPointPolicy",
                       "s3:ListAccessPointsForObjectLambda", "s3:GetAccessPointConfigurationForObjectLambda",
                       "s3:GetAccessPointPolicyForObjectLambda")
CONDITIONAL: dict[str, tuple[str, ...]] = {
    # reads the bucket policy only when the role's own policies do not allow the put (a bucket-policy grant)
    "aws_role_allows_put_under_prefix": ("s3:GetBucketPolicy",),
    # reads the log target bucket's ACL only while its ACLs are enabled (the scale log buckets enforce ownership)
    "aws_bucket_access_logging_enabled": ("s3:GetBucketAcl",),
    # only proves denials: unreadable SCPs are left out (SCPs can only deny), see compliance/chain/evaluator.py; a
    # bucket-key probe (which reads the grants) is one family among several, and 25 examples do not always draw it
    "aws_fuzz_unintended_requests_denied": (*SCP_READS, "kms:ListGrants"),
    # the proofs leave unreadable SCPs/RCPs out (they only deny) and need the organization only when a policy tests
    # an organization key; access point policies and Object Lambda reads only exist where access points do
    **dict.fromkeys(("aws_proof_role_assumable_only_by_vendor", "aws_proof_bucket_key_restricted",
                     "aws_proof_bucket_config_only_by_customer"), SCP_READS),
    "aws_proof_records_write_only_intended": (*SCP_READS, *ACCESS_POINT_DETAIL),
    # reads the SCP and RCP documents only to check their action names; unreadable ones are left out
    "aws_policies_name_only_known_actions": SCP_READS,
    # the key (with its grants) is read only for a principal the bucket policy lets read
    "aws_proof_records_read_only_by_declared_readers": (*SCP_READS, *ACCESS_POINT_DETAIL,
                                                         "s3:GetEncryptionConfiguration", "kms:DescribeKey",
                                                         "kms:GetKeyPolicy", "kms:ListGrants"),
}
# The API a snapshot-only action's removal leaves unread (the one failure the snapshot then records).
SNAPSHOT_ONLY_APIS = {"s3:GetReplicationConfiguration": "s3:GetBucketReplication"}
# Snapshot-only reads the scale deployment never makes (it has no access points, so no access point policy, no
# Multi-Region policy and no Object Lambda read): removing them changes nothing.
# moto's S3 Control answers a denied request with a bare 403 (no AccessDenied code); AWS sends AccessDenied.
DENIED = re.compile(r"AccessDenied|\(403\)")


def chain_for(action: str) -> str:
    return f"chain-{ACTIONS.index(action) + 1:03d}"


UNREACHABLE = f"chain-{len(ACTIONS) + 1:03d}"


@dataclass
class Run:
    evidence: dict[str, Any]
    output: str
    returncode: int
    authorised: list[tuple[str, str, str]]
    accounts: dict[str, str]  # chain id → account

    def statuses(self, chain: str) -> dict[str, str]:
        return {r["check"]["id"]: r["finding"]["status"] for r in self.evidence["findings"] if r["chain"] == chain}

    def messages(self, chain: str) -> dict[str, str]:
        return {r["check"]["id"]: r["finding"]["message"] for r in self.evidence["findings"] if r["chain"] == chain}


def _without(policy: dict[str, Any], action: str | None) -> dict[str, Any]:
    statements = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        kept = [a for a in actions if a != action]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**policy, "Statement": statements}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("least-privilege")
    count = len(ACTIONS) + 2
    org_role = f"arn:aws:iam::{MANAGEMENT}:role/OrgRead{{i:03d}}"
    deployment, toml = scale_fixture.generate(count, count, audit_role=AUDIT_ROLE, organizations_role=org_role)
    chain_file = work / "chains.toml"
    chain_file.write_text(toml, encoding="utf-8")
    accounts = {f"chain-{i:03d}": scale_fixture.account_id(i) for i in range(count)}
    with live_server() as srv:
        srv.provision(deployment)
        assumable = []
        for i, (chain, account) in enumerate(accounts.items()):
            removed = None if chain in (FULL, UNREACHABLE) else ACTIONS[i - 1]
            org_arn = org_role.format(i=i)
            policy = _without(read_policy(organizations_role_arn=org_arn), removed)
            arn = srv.role(account, AUDIT_ROLE, policy)
            srv.role(MANAGEMENT, org_arn.rsplit("/", 1)[1], _without(read_policy(), removed), trusted=account)
            if chain != UNREACHABLE:
                assumable.append(arn)
        srv.ci_identity(assumable)
        srv.authorised.clear()
        with srv.enforcing():
            result = run_live(srv, chain_file, work / "evidence", "-k", "aws", "-n", "2", "--fuzz-examples", "5")
        yield Run(evidence_of(work / "evidence"), result.stdout + result.stderr, result.returncode,
                  list(srv.authorised), accounts)


# --- the policy ----------------------------------------------------------------------------------------------


def test_policy_is_built_from_the_checks_declarations() -> None:
    declared = {p for meta in load_all_checks().values() if meta.provider is Provider.AWS for p in meta.permissions}
    policy = read_policy()
    in_policy = {a for s in policy["Statement"] for a in s["Action"]}
    assert in_policy == declared | set(SNAPSHOT_ONLY_ACTIONS)
    assert not set(SNAPSHOT_ONLY_ACTIONS) & declared
    assert all(a.split(":")[1][:3] in ("Get", "Lis", "Des") for a in in_policy), "read actions only"
    assert all(s["Resource"] == "*" and s["Effect"] == "Allow" for s in policy["Statement"])
    printed = subprocess.run([sys.executable, "-m", "compliance", "permissions"], capture_output=True, text=True,
                             check=True).stdout
    assert json.loads(printed) == policy
    with_org = subprocess.run([sys.executable, "-m", "compliance", "permissions", "--organizations-role-arn",
                               "arn:aws:iam::222233334444:role/OrgRead"], capture_output=True, text=True,
                              check=True).stdout
    assert json.loads(with_org)["Statement"][-1] == {
        "Sid": "ExportChainComplianceAssumeOrganizationsReader", "Effect": "Allow", "Action": "sts:AssumeRole",
        "Resource": "arn:aws:iam::222233334444:role/OrgRead"}


def _reader_operations() -> set[str]:
    """Every AWS operation the reader can call (aws_reader.py and aws_access_points.py): client methods, whether
    called or passed to a pager, and paginators, as CallLog names them."""
    import compliance.targets.aws_access_points as access_points
    import compliance.targets.aws_reader as reader

    clients = {"sts": "sts", "iam": "iam", "s3": "s3", "kms": "kms", "org": "organizations",
               "s3control": "s3control", "s3control_west": "s3control"}
    found = set()
    for module in (reader, access_points):
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in clients):
                continue
            name = node.attr
            if name == "get_paginator":
                continue  # the paginator's name is the operation, below
            camel = "".join(part.title() for part in name.split("_"))  # list_objects_v2 → ListObjectsV2
            found.add(f"{clients[node.value.id]}:{camel}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "get_paginator" and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id in clients:
                arg = node.args[0]
                assert isinstance(arg, ast.Constant)
                camel = "".join(part.title() for part in str(arg.value).split("_"))
                found.add(f"{clients[node.func.value.id]}:{camel}")
    return found


def test_every_read_the_reader_can_make_is_mapped_and_in_the_policy() -> None:
    operations = _reader_operations()
    assert len(operations) >= 20
    assert operations <= set(READ_ACTIONS), sorted(operations - set(READ_ACTIONS))
    assert set(READ_ACTIONS) - operations == {"sts:AssumeRole"}  # made by the live target, not the reader
    policy_actions = set(aws_actions())
    mapped = {a for actions in READ_ACTIONS.values() for a in actions}
    assert mapped == policy_actions, (sorted(mapped ^ policy_actions))


def test_the_server_authorised_exactly_the_mapped_actions(run: Run) -> None:
    """Each call chain-000 made (its CallLog) was authorised under the action READ_ACTIONS names for it."""
    account = run.accounts[FULL]
    calls = [f"{c['service']}:{c['operation']}" for c in run.evidence["snapshots"][FULL]["api_calls"]]
    expected = Counter(a for call in calls if not call.startswith("organizations:") for a in READ_ACTIONS[call])
    expected["sts:AssumeRole"] += 1  # into the management account's Organizations role
    expected["sts:GetCallerIdentity"] += 1  # moto asks, though AWS always allows it
    seen = Counter(action for acct, action, _ in run.authorised if acct == account)
    assert seen == expected
    org_mapped = {a for call in calls if call.startswith("organizations:") for a in READ_ACTIONS[call]}
    org_seen = {a for acct, a, _ in run.authorised if acct == MANAGEMENT}
    assert org_seen == org_mapped and len(org_mapped) == 5


# --- sufficiency and necessity --------------------------------------------------------------------------------


def _failures(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        if value.get("failure"):
            yield path, value["failure"]
        for key, item in value.items():
            yield from _failures(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _failures(item, f"{path}[{i}]")


def test_the_policy_is_enough_to_read_everything(run: Run) -> None:
    statuses = run.statuses(FULL)
    assert len(statuses) == len([m for m in load_all_checks().values() if m.provider is Provider.AWS])
    assert "ERROR" not in statuses.values(), run.messages(FULL)
    assert set(statuses.values()) <= {"PASS", "NOT SUPPORTED BY TARGET"}, statuses
    assert statuses["aws_canary_export_encrypted_and_locked"] == "NOT SUPPORTED BY TARGET"  # live never writes
    snapshot = run.evidence["snapshots"][FULL]
    assert list(_failures(snapshot)) == []
    assert all(c["status"] in (200, 404) for c in snapshot["api_calls"]), snapshot["api_calls"]


@pytest.mark.parametrize("action", ACTIONS)
def test_removing_one_action_errors_exactly_the_checks_that_declare_it(run: Run, action: str) -> None:
    chain = chain_for(action)
    baseline, statuses, messages = run.statuses(FULL), run.statuses(chain), run.messages(chain)
    applicable = {c for c, s in baseline.items() if s == "PASS"}
    expected = set(declared_by(action)) & applicable
    conditional = {check for check, actions in CONDITIONAL.items() if action in actions}
    expected -= conditional
    errored = {c for c, s in statuses.items() if s == "ERROR"}
    if action in SNAPSHOT_ONLY_ACTIONS:
        assert errored == set()
        failures = [f for _, f in _failures(run.evidence["snapshots"][chain])]
        if action not in SNAPSHOT_ONLY_APIS:
            assert failures == [], failures
        else:
            assert len(failures) == 1 and re.search(r"AccessDenied|403|Forbidden", failures[0]["code"]), failures
            assert [f["api"] for f in failures] == [SNAPSHOT_ONLY_APIS[action]]
    else:
        assert expected or conditional & set(declared_by(action)), \
            f"{action} is needed by no check that passes with the full policy"
        assert errored == expected, (f"undeclared: {sorted(errored - expected)}; "
                                     f"declared but not needed: {sorted(expected - errored)}")
    for check in errored:
        assert DENIED.search(messages[check]), messages[check]
    unaffected = {c: s for c, s in statuses.items() if c not in errored}
    assert unaffected == {c: baseline[c] for c in unaffected}


# --- many chains: one unreachable account, ids, one read per chain ----------------------------------------------


def test_an_account_that_cannot_be_assumed_errors_only_its_chain(run: Run) -> None:
    assert run.returncode == 1, run.output[-3000:]
    statuses, messages = run.statuses(UNREACHABLE), run.messages(UNREACHABLE)
    assert statuses and set(statuses.values()) <= {"ERROR", "NOT SUPPORTED BY TARGET"}
    errored = [c for c, s in statuses.items() if s == "ERROR"]
    assert len(errored) >= len(statuses) - 1
    for check in errored:
        assert "sts:AssumeRole" in messages[check] and "AccessDenied" in messages[check], messages[check]
    snapshot = run.evidence["snapshots"][UNREACHABLE]
    assert [(c["operation"], c["status"]) for c in snapshot["api_calls"]] == [("AssumeRole", 403)]
    assert "ERROR" not in run.statuses(FULL).values()  # the run went on; the other chains were read


def test_every_test_id_and_record_names_its_chain(run: Run) -> None:
    findings = run.evidence["findings"]
    chains = set(run.accounts)
    assert {r["chain"] for r in findings} == chains == set(run.evidence["snapshots"])
    for record in findings:
        assert record["nodeid"].endswith(f"[{record['chain']}]"), record["nodeid"]
    assert re.search(r"\[chain-\d{3}\]", run.output) or run.returncode == 1
    for chain in chains:
        snapshot = run.evidence["snapshots"][chain]
        assert snapshot["chain_id"] == chain and snapshot["account_id"] == run.accounts[chain]


def test_each_chain_is_read_once_however_many_checks_use_it(run: Run) -> None:
    for chain, account in run.accounts.items():
        if chain == UNREACHABLE:
            continue
        calls = Counter(c["operation"] for c in run.evidence["snapshots"][chain]["api_calls"])
        assert calls["GetCallerIdentity"] == calls["GetRole"] == 1, (chain, calls)
        assert calls["GetBucketLocation"] in (1, 2), (chain, calls)  # the audit bucket, then its log target's Region
        assert calls["AssumeRole"] == 2  # the audit role, then the Organizations role
        role = f"arn:aws:iam::{account}:role/ExportRole{int(chain[-3:]):03d}"
        server_side = [a for acct, a, res in run.authorised if acct == account and a == "iam:GetRole" and res == role]
        assert len(server_side) <= 1  # removal chains without iam:GetRole were denied once
    assert audit_role_arn(run.accounts[FULL]).endswith(f":role/{AUDIT_ROLE}")


def test_server_reads_are_at_most_one_per_resource(run: Run) -> None:
    account = run.accounts[FULL]
    per_resource = Counter((a, res) for acct, a, res in run.authorised if acct == account)
    repeated = {k: n for k, n in per_resource.items() if n > 1 and k[1] != "*"}
    assert repeated == {}, repeated
