"""The adversarial corpus, run as an attacker would: every case provisioned into its own account on one moto
server (the customer accounts are members of one organization), then ONE `pytest compliance/ --target live`
run reads every chain, and each chain's statuses are compared with the verdict its case file states.

Cases that name a check or a chain-config key the suite does not have yet are strict xfails naming what is
missing; a case whose verdict the suite gets wrong for a known reason carries `"known": "product bug: ..."`.
Neither weakens an expectation: the mismatch stays visible in the xfail reason and in the run's report.

Where moto 5.2 cannot hold what AWS accepts, the in-process server is helped, and each help says so: an empty
ListAccessPointsForObjectLambda (no such API in moto), PutBucketLogging to another account's, another Region's or
the bucket's own target, and the PendingImport key state (`EMULATOR_STEPS`). The run skips the archival PDF
(see `run_until_evidence`). `ADVERSARIAL_CASES=id,id` runs only those cases (debugging).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from compliance.checks import load_all_checks
from compliance.config import parse_chain_config
from compliance.errors import ConfigError
from compliance.model import Provider, Status
from compliance.permissions import read_policy
from compliance.targets.aws_moto import MotoAwsTarget, Provisioner
from compliance.targets.deployment import substitute, validate
from tests.scale.moto_live import (
    AUDIT_ROLE,
    COMPLIANCE_DIR,
    EXTERNAL_ID,
    ORG_ROLE,
    LiveServer,
    clean_env,
    evidence_of,
    live_server,
)

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
AWS_CHECKS = {check_id for check_id, meta in REGISTERED.items() if meta.provider is Provider.AWS}
ACCEPTABLE = {Status.PASS.value, Status.NOT_APPLICABLE.value, Status.NOT_SUPPORTED.value}
ORGANIZATIONS_ROLE = f"arn:aws:iam::{MANAGEMENT}:role/{ORG_ROLE}"
FUZZ_EXAMPLES = "5"
RUN_TIMEOUT = float(os.environ.get("ADVERSARIAL_TIMEOUT", "2400"))
PDF_GRACE = 20.0


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
SELECTED = {c for c in os.environ.get("ADVERSARIAL_CASES", "").split(",") if c}  # debugging: run only these
RUNNABLE = [case for case in CASES if CONFIG_PROBLEMS[case.id] is None and (not SELECTED or case.id in SELECTED)]


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
        if service == "moto":
            EMULATOR_STEPS[call](place.rename(account), **args)
            continue
        client = srv.client(service, place.rename(account), step.get("region", "us-east-1"))
        for key in step.get("json_args", []):  # policy documents given as JSON objects
            args[key] = json.dumps(args[key])
        if service == "kms" and str(args.get("KeyId", "")).startswith("arn:"):
            args["KeyId"] = args["KeyId"].rsplit("/", 1)[1]  # AWS takes the key ARN too; moto 5.2 only the id
        getattr(client, call)(**args)


def _force_bucket_logging(account: str, Bucket: str, TargetBucket: str, TargetPrefix: str) -> None:
    """PutBucketLogging as AWS accepts it, where moto 5.2 refuses it.

    moto checks the target only in the caller's own account and crashes on a target policy whose Principal is the
    string "*" (moto/s3/models.py `_log_permissions_enabled_policy`); AWS accepts the call and checks delivery
    later. The server runs in this process, so the configuration is set on moto's bucket model directly."""
    from moto.s3.models import s3_backends

    s3_backends[account]["aws"].buckets[Bucket].logging = {"TargetBucket": TargetBucket,
                                                          "TargetPrefix": TargetPrefix}


def _force_key_state(account: str, KeyId: str, KeyState: str) -> None:
    """A key state moto cannot reach through the API (PendingImport: moto 5.2 creates EXTERNAL-origin keys
    Enabled, while AWS creates them PendingImport until key material is imported)."""
    from moto.kms.models import kms_backends

    key = kms_backends[account]["us-east-1"].keys[KeyId.rsplit("/", 1)[-1]]
    key.key_state = KeyState
    key.enabled = KeyState == "Enabled"


EMULATOR_STEPS: dict[str, Callable[..., None]] = {"put_bucket_logging": _force_bucket_logging,
                                                   "kms_key_state": _force_key_state}
OBJECT_LAMBDA_LIST = "/v20180820/accesspointforobjectlambda"
EMPTY_OBJECT_LAMBDA_LIST = (b'<?xml version="1.0" encoding="UTF-8"?><ListAccessPointsForObjectLambdaResult>'
                            b"<ObjectLambdaAccessPointList></ObjectLambdaAccessPointList>"
                            b"</ListAccessPointsForObjectLambdaResult>")


def _no_object_lambda_access_points(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/xml"}, EMPTY_OBJECT_LAMBDA_LIST


@contextmanager
def object_lambda_listing() -> Iterator[None]:
    """moto 5.2 has no ListAccessPointsForObjectLambda (404), so every check reading access points would be ERROR.
    The corpus creates no Object Lambda access point, and AWS answers that with an empty list: the in-process
    server answers the same (installed before the server's first S3 Control request builds its routes)."""
    from moto.s3control import urls

    urls.url_paths[OBJECT_LAMBDA_LIST] = _no_object_lambda_access_points
    try:
        yield
    finally:
        urls.url_paths.pop(OBJECT_LAMBDA_LIST, None)


@dataclass
class Run:
    evidence: dict[str, Any]
    output: str
    returncode: int | None  # None: ended after evidence.json was written

    def findings(self, chain: str) -> dict[str, tuple[str, str]]:
        return {r["check"]["id"]: (r["finding"]["status"], r["finding"]["message"])
                for r in self.evidence["findings"] if r["chain"] == chain}


def _selection(cases: list[Case]) -> str:
    """`-k`: every AWS check of every chain; the Azure checks only on the chains that have an [azure] section
    (elsewhere they are NOT APPLICABLE, and skipping them keeps the run bounded)."""
    azure = [PLACES[c.id].chain_id for c in cases if "azure" in c.chain]
    return " or ".join(["aws_", *azure])


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("adversarial")
    now = utc_now()
    timings: list[str] = []
    started = time.monotonic()

    def lap(what: str) -> None:
        timings.append(f"{what}: {time.monotonic() - started:.0f} s")

    with object_lambda_listing(), live_server() as srv:
        org = build_organization(srv, now)
        lap("organization")
        for case in RUNNABLE:
            provision_case(srv, case, org, now)
        lap(f"{len(RUNNABLE)} cases provisioned")
        policy = read_policy(organizations_role_arn=ORGANIZATIONS_ROLE)
        roles = [srv.role(PLACES[c.id].account, AUDIT_ROLE, policy) for c in RUNNABLE]
        srv.role(MANAGEMENT, ORG_ROLE, read_policy())
        srv.ci_identity(roles)
        chain_file = work / "chains.toml"
        chain_file.write_text(chains_toml([_entry(c, org, now) for c in RUNNABLE]), encoding="utf-8")
        env = {k: str(org.resolve(v, c.id, now)) for c in RUNNABLE for k, v in c.env.items()}
        # Two workers when this file has the machine; one process when `make test` already runs a worker per CPU
        # (a nested `-n 2` only adds worker start-up and contention for the same cores).
        workers = os.environ.get("ADVERSARIAL_WORKERS", "0" if os.environ.get("PYTEST_XDIST_WORKER") else "2")
        extra = os.environ.get("ADVERSARIAL_PYTEST_ARGS", "").split()
        lap("identities")
        returncode, text = run_until_evidence(srv, chain_file, work / "evidence", "-n", workers, "--fuzz-examples",
                                              FUZZ_EXAMPLES, "-k", _selection(RUNNABLE), *extra, env=env)
        lap("live run")
        output = "\n".join(timings) + "\n" + text
        (work / "output.txt").write_text(output, encoding="utf-8")
        yield Run(evidence_of(work / "evidence"), output, returncode)


def run_until_evidence(srv: LiveServer, chain: Path, evidence: Path, *args: str,
                       env: Mapping[str, str]) -> tuple[int | None, str]:
    """`run_live` without the archival PDF (COMPLIANCE_EVIDENCE_PDF=off), and ended PDF_GRACE seconds after
    evidence.json is written should anything still run: evidence.json is written (atomically) at session finish,
    and the corpus needs only it. Returns the exit code (None when the run was ended) and the output."""
    work = evidence.parent
    run_env = clean_env(AWS_ENDPOINT_URL=srv.url, AWS_DEFAULT_REGION="us-east-1",
                        AWS_CONFIG_FILE=str(work / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(work / "no-creds"),
                        EXPORT_EXTERNAL_ID=EXTERNAL_ID, COMPLIANCE_EVIDENCE_PDF="off", **srv.ci_keys, **env)
    log = work / "run.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--target", "live", "--chain", str(chain),
             "--evidence-dir", str(evidence), "-q", "-p", "no:cacheprovider", *args],
            cwd=work, env=run_env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.monotonic() + RUN_TIMEOUT
        written: float | None = None
        returncode: int | None = None
        while (returncode := proc.poll()) is None:
            now = time.monotonic()
            if written is None and any(evidence.glob("*/evidence.json")):
                written = now
            if now > deadline or (written is not None and now - written > PDF_GRACE):
                os.killpg(proc.pid, signal.SIGTERM)  # the process group this call started
                proc.wait(timeout=30)
                break
            time.sleep(1)
    return returncode, log.read_text(encoding="utf-8")


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
    for check in case.expect.error:
        if got.get(check, ("",))[0] != Status.ERROR.value:
            miss(check, "ERROR")
    if case.expect.all_pass:
        for check in sorted(AWS_CHECKS):
            if check in got and got[check][0] not in ACCEPTABLE:
                miss(check, "PASS / NOT APPLICABLE / NOT SUPPORTED")
    return out


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_gets_its_verdict(corpus_run: Run, case: Case) -> None:
    if CONFIG_PROBLEMS[case.id]:
        pytest.fail(f"{case.id} was not run: {CONFIG_PROBLEMS[case.id]}")
    if SELECTED and case.id not in SELECTED:
        pytest.skip("not selected (ADVERSARIAL_CASES)")
    got = corpus_run.findings(PLACES[case.id].chain_id)
    assert got, f"{case.id}: the run has no findings for {PLACES[case.id].chain_id}\n{corpus_run.output[-3000:]}"
    problems = mismatches(case, got)
    assert not problems, "\n".join(problems)


def test_the_run_read_every_runnable_chain(corpus_run: Run) -> None:
    # None: ended after evidence.json was written (see run_until_evidence); the exit status is in the evidence
    assert corpus_run.returncode in (0, 1, None), corpus_run.output[-3000:]
    assert corpus_run.evidence["exit_status"] in (0, 1), corpus_run.output[-3000:]
    chains = {r["chain"] for r in corpus_run.evidence["findings"]}
    assert chains == {PLACES[c.id].chain_id for c in RUNNABLE}


def test_the_corpus_has_its_size_and_every_case_its_source() -> None:
    broken = [c for c in CASES if c.kind is Kind.BROKEN]
    secure = [c for c in CASES if c.kind is Kind.SECURE]
    assert len(broken) >= 40 and len(secure) >= 10, (len(broken), len(secure))
    for case in CASES:
        assert case.doc["page"].startswith("https://") and len(case.doc["sentence"]) > 20, case.id
        assert Path(__file__).with_name("cases").joinpath(case.source).is_file()
