"""A moto server with IAM enforcement for live-mode runs of many chains (helpers for tests/scale).

Layout (what a nightly CI job sees):
* TOOLING account: the CI identity (an IAM user standing in for the GitHub OIDC role). Its own policy allows
  only sts:AssumeRole into each chain account's audit role.
* each chain account: the audit role (`aws.audit_role_arn`), whose inline policy is the generated read policy.
* the management account: an Organizations read role (`aws.organizations_role_arn`) with the same policy.

The server runs in this process (ThreadedMotoServer). Identities and policies are made with IAM enforcement off
(`/moto-api/reset-auth`), and the live runs are child processes with enforcement on.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from moto.iam import access_control
from moto.server import ThreadedMotoServer

import compliance
from compliance.targets.aws_moto import MotoAwsTarget, Provisioner, _forget_organization_members, account_session
from compliance.targets.aws_reader import CLIENT_CONFIG, _strip_account_host_prefix
from compliance.targets.deployment import validate

COMPLIANCE_DIR = Path(compliance.__file__).resolve().parent
TOOLING = "444455556666"
MANAGEMENT = "222233334444"
AUDIT_ROLE = "ComplianceAudit"
ORG_ROLE = "OrganizationsReadOnly"
CI_USER = "nightly-ci"
EXTERNAL_ID = "ext-id-scale-7d1e0c55"


# --- moto's S3 action names --------------------------------------------------------------------------------
# moto 5.2 authorises several S3 reads under a different action than AWS does: GET ?encryption, ?publicAccessBlock,
# ?ownershipControls, ?object-lock and ?replication fall through to its default s3:ListBucket, and S3 Control's
# account-level GetPublicAccessBlock is checked as s3:GetPublicAccessBlock (moto/s3/responses.py ACTION_MAP;
# moto/core/authorization.py; moto/iam/access_control.py). Under moto's names, one policy line (s3:ListBucket)
# would grant six reads, so removing s3:GetEncryptionConfiguration would change nothing and removing
# s3:ListBucket would take six reads away. The server therefore authorises these requests under the actions AWS
# documents; every other request keeps moto's own action name. `authorised` records what was asked.
S3_SUBRESOURCE_ACTIONS = {
    "encryption": "s3:GetEncryptionConfiguration",
    "publicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "ownershipControls": "s3:GetBucketOwnershipControls",
    "object-lock": "s3:GetBucketObjectLockConfiguration",
    "replication": "s3:GetReplicationConfiguration",
}
S3CONTROL_PAB_PATH = "/v20180820/configuration/publicAccessBlock"


def aws_action_for(method: str, path: str, moto_action: str) -> str:
    """The IAM action AWS authorises a request with, where moto's differs (see above)."""
    if method not in ("GET", "HEAD") or not moto_action.startswith("s3:"):
        return moto_action
    route, _, query = path.partition("?")
    if route.startswith(S3CONTROL_PAB_PATH):
        return "s3:GetAccountPublicAccessBlock"
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    for subresource, action in S3_SUBRESOURCE_ACTIONS.items():
        if subresource in params:
            return action
    return moto_action


@contextmanager
def aws_action_names(authorised: list[tuple[str, str, str]]) -> Iterator[None]:
    """Patch this process's moto (the ThreadedMotoServer's) to authorise under AWS's names; record each check."""
    original = access_control.IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        self._action = aws_action_for(self._method, self._path, self._action)
        authorised.append((self.account_id, self._action, resource))
        original(self, resource)

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
    try:
        yield
    finally:
        access_control.IAMRequestBase.check_action_permitted = original  # type: ignore[method-assign]


def audit_role_arn(account: str, name: str = AUDIT_ROLE) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "PYTEST_"))}
    return env | extra


def _trust(account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]})


@dataclass
class LiveServer:
    url: str
    server: ThreadedMotoServer
    ci_keys: dict[str, str] = field(default_factory=dict)
    authorised: list[tuple[str, str, str]] = field(default_factory=list)  # (account, IAM action, resource)

    def client(self, service: str, account: str, region: str = "us-east-1", **credentials: str) -> Any:
        session = account_session(account, region, **credentials)
        session.events.register("before-sign.s3-control.*", _strip_account_host_prefix)
        return session.client(service, endpoint_url=self.url, config=CLIENT_CONFIG)

    def provision(self, deployment: Mapping[str, Any]) -> None:
        Provisioner(MotoAwsTarget(validate("scale", dict(deployment)), env={"EXPORT_EXTERNAL_ID": EXTERNAL_ID}),
                    client=self.client).provision()

    # --- identities (made with IAM enforcement off) ------------------------------------------------------

    def ci_identity(self, assumable: list[str]) -> dict[str, str]:
        """The CI identity in TOOLING: may assume exactly `assumable` (role ARNs)."""
        iam = self.client("iam", TOOLING)
        if not self.ci_keys:
            iam.create_user(UserName=CI_USER)
            key = iam.create_access_key(UserName=CI_USER)["AccessKey"]
            self.ci_keys = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        iam.put_user_policy(UserName=CI_USER, PolicyName="assume-audit-roles", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": sorted(assumable)}]}))
        return self.ci_keys

    def role(self, account: str, name: str, policy: Mapping[str, Any], trusted: str = TOOLING) -> str:
        """Create (or update) a role whose only inline policy is `policy`."""
        iam = self.client("iam", account)
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(trusted))
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(policy))
        return audit_role_arn(account, name)

    # --- IAM enforcement ---------------------------------------------------------------------------------

    def enforce(self, on: bool) -> None:
        """POST /moto-api/reset-auth: 0 = every request is authenticated and authorised; inf = none is."""
        value = b"0" if on else b"inf"
        requests.post(f"{self.url}/moto-api/reset-auth", data=value, timeout=10).raise_for_status()

    @contextmanager
    def enforcing(self) -> Iterator[None]:
        self.enforce(True)
        try:
            yield
        finally:
            self.enforce(False)


@contextmanager
def live_server() -> Iterator[LiveServer]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    srv = LiveServer(url, server)
    names = aws_action_names(srv.authorised)
    names.__enter__()
    try:
        requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
        _forget_organization_members()
        srv.enforce(False)
        yield srv
    finally:
        srv.enforce(False)
        server.stop()
        names.__exit__(None, None, None)
        _forget_organization_members()


def run_live(srv: LiveServer, chain: Path, evidence: Path, *args: str, env: Mapping[str, str] | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`pytest compliance/ --target live --chain CHAIN` as the CI identity, against the server."""
    work = evidence.parent
    run_env = clean_env(AWS_ENDPOINT_URL=srv.url, AWS_DEFAULT_REGION="us-east-1",
                        AWS_CONFIG_FILE=str(work / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(work / "no-creds"),
                        EXPORT_EXTERNAL_ID=EXTERNAL_ID, **srv.ci_keys, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(COMPLIANCE_DIR), "--target", "live", "--chain", str(chain),
         "--evidence-dir", str(evidence), "-q", "-p", "no:cacheprovider", *args],
        cwd=work, env=run_env, capture_output=True, text=True, timeout=timeout)


def evidence_of(root: Path) -> dict[str, Any]:
    (run,) = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    evidence: dict[str, Any] = json.loads((run / "evidence.json").read_text(encoding="utf-8"))
    return evidence
