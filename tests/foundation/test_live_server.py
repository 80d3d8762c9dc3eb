"""`pytest compliance/ --target live` against a moto server: read-only, and the same snapshot as the moto target.

Account selection: the live run authenticates with the access key of an IAM user created in the customer
account on the server, and moto maps an access key to its account, just as AWS does. MOTO_ACCOUNT_ID is NOT
used: ThreadedMotoServer runs in this process, where that variable would override every request's account
(including the x-moto-account-id header the provisioner uses for the vendor and management accounts, and
the management-account credentials of the SCP read), and MotoAwsTarget refuses to start while it is set.
SCPs are read through the chain config's `aws.organizations_role_arn` (a role in the management account).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from moto.core import enable_iam_authentication
from moto.moto_api import recorder
from moto.server import ThreadedMotoServer

from compliance.config import parse_chain_config
from compliance.redaction import Redactor
from compliance.targets.aws_live import LiveAwsTarget
from compliance.targets.aws_moto import MotoAwsTarget, Provisioner, _forget_organization_members, account_session
from compliance.targets.aws_reader import CLIENT_CONFIG, _strip_account_host_prefix
from compliance.targets.deployment import validate

from .conftest import COMPLIANCE_DIR, EXTERNAL_ID, aws_only_chain, reference_deployment, write_chain

CUSTOMER = "111122223333"
MANAGEMENT = "222233334444"
ORG_ROLE = f"arn:aws:iam::{MANAGEMENT}:role/OrganizationsReadOnly"
READ_ACTION = re.compile(r"^(Get|List|Head|Describe)[A-Z]")


@dataclass
class Server:
    url: str
    chain: Path
    work: Path
    moto_run: subprocess.Popen[bytes]
    auditor: dict[str, str]
    auditor_no_getrole: dict[str, str]
    live_run: subprocess.Popen[bytes] | None = None

    def api(self, path: str, data: bytes | None = None) -> requests.Response:
        response = requests.post(f"{self.url}/moto-api/{path}", data=data, timeout=10) if data is not None \
            else requests.get(f"{self.url}/moto-api/{path}", timeout=10)
        response.raise_for_status()
        return response


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.pop("PYTEST_ADDOPTS", None)
    return env | extra


def _access_key(client: Any, user: str, policy: dict[str, Any]) -> dict[str, str]:
    client.create_user(UserName=user)
    client.put_user_policy(UserName=user, PolicyName="audit", PolicyDocument=json.dumps(policy))
    key = client.create_access_key(UserName=user)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("live-server")
    data = aws_only_chain()
    data["aws"]["organizations_role_arn"] = ORG_ROLE
    chain = write_chain(work / "chain.toml", data)
    # The moto-target run of the same chain + reference deployment, in a child process (its mock_aws would
    # reset the in-process server's backends) and in parallel with the server's provisioning.
    moto_run = _pytest_process(work, chain, "moto", _clean_env(EXPORT_EXTERNAL_ID=EXTERNAL_ID))

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    mp = pytest.MonkeyPatch()
    mp.setattr(recorder, "_location", str(work / "moto-recording.jsonl"))
    port = _free_port()
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto_server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
        _forget_organization_members()

        def client(service: str, account: str, region: str = "us-east-1", **credentials: str) -> Any:
            session = account_session(account, region, **credentials)
            session.events.register("before-send.s3-control.*", _strip_account_host_prefix)
            return session.client(service, endpoint_url=url, config=CLIENT_CONFIG)

        deployment = validate("reference", reference_deployment())
        Provisioner(MotoAwsTarget(deployment, env={"EXPORT_EXTERNAL_ID": EXTERNAL_ID}), client=client).provision()
        iam = client("iam", CUSTOMER)
        auditor = _access_key(iam, "compliance-auditor", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        no_getrole = _access_key(iam, "auditor-without-getrole", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"}]})
        mgmt_iam = client("iam", MANAGEMENT)
        mgmt_iam.create_role(RoleName="OrganizationsReadOnly", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{CUSTOMER}:root"}}]}))
        mgmt_iam.put_role_policy(RoleName="OrganizationsReadOnly", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                                                    "Action": ["organizations:Describe*", "organizations:List*"]}]}))
        srv = Server(url, chain, work, moto_run, auditor, no_getrole)
        # `AWS_ENDPOINT_URL=<server> pytest compliance/ --target live --chain X`, recorded by the server
        srv.api("recorder/reset-recording", b"")
        srv.api("recorder/start-recording", b"")
        srv.live_run = _pytest_process(work, chain, "live", _clean_env(
            AWS_ENDPOINT_URL=url, AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(work / "no-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(work / "no-credentials"), EXPORT_EXTERNAL_ID=EXTERNAL_ID, **auditor))
        yield srv
    finally:
        moto_server.stop()
        mp.undo()
        for proc in (moto_run, srv.live_run if "srv" in locals() else None):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def _pytest_process(work: Path, chain: Path, target: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--target", target, "--chain", str(chain),
         "--evidence-dir", str(work / f"{target}-evidence"), "--fuzz-examples", "10", "-q",
         "-p", "no:cacheprovider"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@dataclass
class Runs:
    moto: dict[str, Any]
    live: dict[str, Any]
    recorded: list[Recorded]


@pytest.fixture(scope="module")
def runs(server: Server) -> Runs:
    assert server.live_run is not None
    outputs = {}
    for name, proc in (("live", server.live_run), ("moto", server.moto_run)):
        out, _ = proc.communicate(timeout=300)
        outputs[name] = out.decode(errors="replace")
        assert proc.returncode in (0, 1), f"{name} run exited {proc.returncode}:\n{outputs[name]}"
    server.api("recorder/stop-recording", b"")
    recorded = recorded_calls(server.api("recorder/download-recording").text)
    return Runs(_evidence(server.work / "moto-evidence"), _evidence(server.work / "live-evidence"), recorded)


@pytest.fixture
def live_env(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Server:
    """The default credential chain of a person running the suite against `server`: env vars only."""
    for name in [k for k in os.environ if k.startswith(("AWS_", "MOTO_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", EXTERNAL_ID)
    for name, value in server.auditor.items():
        monkeypatch.setenv(name, value)
    return server


def _run_live(pytester: pytest.Pytester, server: Server, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    evidence = pytester.path / "live-evidence"
    result = pytester.runpytest(str(COMPLIANCE_DIR), "--target", "live", "--chain", str(server.chain),
                                "--evidence-dir", str(evidence), *args)
    return result, _evidence(evidence)


def _evidence(root: Path) -> dict[str, Any]:
    (run,) = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    evidence: dict[str, Any] = json.loads((run / "evidence.json").read_text(encoding="utf-8"))
    return evidence


# --- what the server saw ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    service: str
    operation: str  # the API action, or "<METHOD> <path>" for REST (S3, S3 Control)
    method: str

    @property
    def is_read(self) -> bool:
        if " " in self.operation:
            return self.method in ("GET", "HEAD")
        return bool(READ_ACTION.match(self.operation)) or self.operation in ("GetCallerIdentity", "AssumeRole")


def recorded_calls(text: str) -> list[Recorded]:
    calls = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        scope = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", headers.get("authorization", ""))
        url = urllib.parse.urlsplit(entry["url"])
        service = scope.group(1) if scope else "?"
        if url.path.startswith("/v20180820/"):
            service = "s3control"
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        params = urllib.parse.parse_qs(url.query) | (urllib.parse.parse_qs(body) if "=" in body else {})
        if "x-amz-target" in headers:
            operation = headers["x-amz-target"].rsplit(".", 1)[-1]
        elif "Action" in params:
            operation = params["Action"][0]
        else:
            operation = f"{entry['method']} {url.path}"
        calls.append(Recorded(service, operation, entry["method"]))
    return calls


def test_live_run_makes_only_read_calls(runs: Runs) -> None:
    calls, evidence = runs.recorded, runs.live
    assert evidence["target"] == "live"
    assert calls, "the server recorded the live run"
    writes = [c for c in calls if not c.is_read]
    assert writes == [], writes
    services = {c.service for c in calls}
    assert services >= {"sts", "iam", "s3", "s3control", "kms", "organizations"}
    assert sum(c.operation == "AssumeRole" for c in calls) == 1  # the management-account role, nothing else
    snapshot_calls = evidence["snapshots"]["qualio"]["api_calls"]
    assert len(calls) >= len(snapshot_calls) > 20
    assert all(c["status"] in (200, 404) for c in snapshot_calls)
    caller = evidence["snapshots"]["qualio"]["caller"]["value"]
    assert caller == {"Account": CUSTOMER, "Arn": f"arn:aws:iam::{CUSTOMER}:user/compliance-auditor"}
    statuses = {r["check"]["id"]: r["finding"]["status"] for r in evidence["findings"]}
    assert statuses["aws_configured_role_arn_matches_role"] == "PASS"


def test_recorder_classifies_writes() -> None:
    """The classifier above would catch a write: REST PUT/POST/DELETE and mutating actions."""
    entries = [
        {"method": "PUT", "url": "http://h/company-audit-reports/qualio/x", "body": "", "headers": {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20261128/us-east-1/s3/aws4_request"}},
        {"method": "POST", "url": "http://h/", "body": "Action=UpdateAssumeRolePolicy&RoleName=x", "headers": {}},
        {"method": "POST", "url": "http://h/", "body": "{}", "headers": {"X-Amz-Target": "TrentService.PutKeyPolicy"}},
        {"method": "POST", "url": "http://h/", "body": "Action=GetRole&RoleName=x", "headers": {}},
        {"method": "HEAD", "url": "http://h/company-audit-reports", "body": "", "headers": {}},
    ]
    calls = recorded_calls("\n".join(json.dumps(e) for e in entries))
    assert [c.is_read for c in calls] == [False, False, False, True, True]
    assert calls[0].service == "s3" and calls[2].operation == "PutKeyPolicy"


# --- same deployment, same snapshot -----------------------------------------------------------------------


RANDOM_IDS = (
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),  # KMS key id
    re.compile(r"\bo-[a-z0-9]{10,32}\b"),  # organization id
    re.compile(r"\bou-[a-z0-9]{4,32}-[a-z0-9]{8,32}\b"),  # OU id
    re.compile(r"\br-[a-z0-9]{4,32}\b"),  # root id
    re.compile(r"\bp-[a-z0-9]{8,128}\b"),  # policy id (p-FullAWSAccess is fixed and kept)
)


def normalised(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Drop run noise (as AwsSnapshot.comparable) and canonicalise what provisioning makes random."""
    data = {k: v for k, v in snapshot.items() if k not in ("api_calls", "caller", "target")}
    listing = data["bucket"]["value"]["newest_objects"]["value"]
    for obj in listing["objects"]:
        obj["last_modified"] = "<provisioning time>"
    text = json.dumps(data, sort_keys=True)
    for kind, pattern in enumerate(RANDOM_IDS):
        text = _canonical_ids(pattern, text, f"id{kind}")
    canonical: dict[str, Any] = json.loads(text)
    return canonical


def _canonical_ids(pattern: re.Pattern[str], text: str, label: str) -> str:
    """Each distinct match becomes <label.N>, numbered by first appearance (equal ids stay equal)."""
    names: dict[str, str] = {}
    return pattern.sub(lambda m: names.setdefault(m.group(0), f"<{label}.{len(names)}>"), text)


def test_live_against_moto_server_matches_the_moto_target(runs: Runs) -> None:
    moto, live = runs.moto, runs.live
    assert (moto["target"], live["target"]) == ("moto", "live")
    assert moto["chain_config"]["sha256"] == live["chain_config"]["sha256"]
    moto_snapshot, live_snapshot = moto["snapshots"]["qualio"], live["snapshots"]["qualio"]
    for read in ("role", "bucket", "account_public_access_block", "scps"):
        assert live_snapshot[read]["failure"] is None, live_snapshot[read]
    assert normalised(live_snapshot) == normalised(moto_snapshot)
    # the normalisation hid nothing but ids and times: the number of distinct random ids agrees too
    assert json.dumps(live_snapshot).count("arn:aws:kms:") == json.dumps(moto_snapshot).count("arn:aws:kms:") > 0
    # both sides redact the same ExternalId at the same place
    trust = live_snapshot["role"]["value"]["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]
    assert trust["sts:ExternalId"].startswith("«redacted")
    for document in (moto, live):
        assert EXTERNAL_ID not in json.dumps(document)
    # the checks agree too, except those a target cannot run (e.g. the moto-only canary write)
    moto_status = {r["check"]["id"]: r["finding"]["status"] for r in moto["findings"]}
    live_status = {r["check"]["id"]: r["finding"]["status"] for r in live["findings"]}
    assert moto_status.keys() == live_status.keys()
    both = [c for c in moto_status if "NOT SUPPORTED BY TARGET" not in (moto_status[c], live_status[c])]
    assert {c: moto_status[c] for c in both} == {c: live_status[c] for c in both}
    assert live_status["aws_configured_role_arn_matches_role"] == "PASS"


# --- AccessDenied through the whole plugin ----------------------------------------------------------------


def test_access_denied_on_get_role_is_error_not_pass(pytester: pytest.Pytester, live_env: Server, runs: Runs,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs after the recorded runs (`runs`): IAM enforcement is process-wide while it is on."""
    for name, value in live_env.auditor_no_getrole.items():
        monkeypatch.setenv(name, value)
    with enable_iam_authentication():  # the server runs in this process: moto enforces IAM for its requests
        result, evidence = _run_live(pytester, live_env, "-k", "configured_role_arn")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ERROR (could not verify): Could not read iam:GetRole (AccessDenied)*"])
    (record,) = [r for r in evidence["findings"] if r["check"]["id"] == "aws_configured_role_arn_matches_role"]
    assert record["finding"]["status"] == "ERROR"
    role = evidence["snapshots"]["qualio"]["role"]
    assert (role["failure"]["api"], role["failure"]["code"]) == ("iam:GetRole", "AccessDenied")
    assert evidence["snapshots"]["qualio"]["caller"]["value"]["Arn"].endswith("user/auditor-without-getrole")


def test_live_target_honours_aws_profile(runs: Runs, live_env: Server, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    """The default credential chain: AWS_PROFILE selects a profile (keys and endpoint_url from the config file)."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile audit]\n"
        f"aws_access_key_id = {live_env.auditor['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {live_env.auditor['AWS_SECRET_ACCESS_KEY']}\n"
        f"endpoint_url = {live_env.url}\nregion = us-east-1\n", encoding="utf-8")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)  # environment variables would take precedence over the profile
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "audit")
    chain = parse_chain_config(live_env.chain.read_text(encoding="utf-8"), str(live_env.chain)).chains[0]
    snap = LiveAwsTarget().snapshot(chain)
    assert snap.caller.value == {"Account": CUSTOMER, "Arn": f"arn:aws:iam::{CUSTOMER}:user/compliance-auditor"}
    redacted = Redactor([("EXPORT_EXTERNAL_ID", EXTERNAL_ID)]).json(snap.to_json())
    assert normalised(redacted) == normalised(runs.live["snapshots"]["qualio"])
