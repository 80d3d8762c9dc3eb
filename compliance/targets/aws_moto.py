"""The moto target: provision a deployment into moto, then read it back with the live reader."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from compliance.config import Chain
from compliance.errors import ConfigError, TargetError
from compliance.targets.aws_reader import CLIENT_CONFIG, AwsReader, CallLog, instrument_session, new_session
from compliance.targets.canary import CanaryExport, CanaryMode, export_canary
from compliance.targets.deployment import Deployment, substitute
from compliance.targets.snapshot import AwsSnapshot, Read

MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def account_session(account: str, region: str = "us-east-1", **credentials: str) -> boto3.Session:
    """A boto3 session whose requests moto routes to `account` (x-moto-account-id header)."""
    keys = credentials or MOTO_CREDENTIALS
    session = new_session(aws_access_key_id=keys["aws_access_key_id"],
                            aws_secret_access_key=keys["aws_secret_access_key"],
                            aws_session_token=keys.get("aws_session_token"), region_name=region)

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    session.events.register("before-sign.*.*", add_header)
    return session


def _forget_organization_members() -> None:
    """moto's reset keeps its member→management account links; a later organization-less deployment in the
    same process would then crash DescribeOrganization. Start every provisioning from a clean slate."""
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


OBJECT_LAMBDA_NOT_IN_DEPLOYMENT = "NotInDeployment"


def _without_object_lambda(snapshot: AwsSnapshot) -> AwsSnapshot:
    """moto has no Object Lambda API (every call answers 404) and a deployment file cannot declare an Object Lambda
    access point, so the provisioned chain has none: a documented absence here. Against any other endpoint (live,
    or a moto server provisioned by someone else) the same failed read stays a failure."""
    read = snapshot.object_lambda_access_points
    if read.failure is None or read.failure.code != "404":
        return snapshot
    return replace(snapshot, object_lambda_access_points=Read(read.api, None,
                                                              absent_code=OBJECT_LAMBDA_NOT_IN_DEPLOYMENT))


def _no_access_log_delivery() -> Any:
    """moto delivers a server access log object into the target bucket for every request to a bucket with logging
    on, and keeps each in the process (about 3 KB; some 15 a chain, as many as the suite's S3 reads). The suite
    reads logging configurations, never delivered logs (AWS delivers them best effort, hours later), so this target
    does not emulate the delivery: memory stays flat in the number of chains (issue 15)."""
    from moto.s3.models import S3Backend

    return mock.patch.object(S3Backend, "log_incoming_request", lambda self, request, bucket_name: None)


class MotoAwsTarget:
    """Owns a `mock_aws` context for the session. Start once per process (per xdist worker)."""

    name = "moto"
    canary_mode = CanaryMode.WRITES

    def __init__(self, deployment: Deployment, env: Mapping[str, str] | None = None) -> None:
        self.deployment = deployment
        self.env = os.environ if env is None else env
        self._mock = mock_aws()
        self._no_log_delivery = _no_access_log_delivery()
        self._started = False
        self.kms_arns: dict[str, str] = {}
        self.org_ids: dict[str, str] = {}  # "id", "root", "ou/NAME" → the ids moto gave them
        self.management_account: str | None = None

    def start(self) -> None:
        if os.environ.get("MOTO_ACCOUNT_ID"):
            raise TargetError("MOTO_ACCOUNT_ID is set; unset it so the moto target can place each account")
        self._mock.start()
        self._no_log_delivery.start()
        self._started = True
        _forget_organization_members()
        try:
            Provisioner(self).provision()
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._no_log_delivery.stop()
            self._mock.stop()
            _forget_organization_members()

    def client(self, service: str, account: str, region: str = "us-east-1", **credentials: str) -> Any:
        client: Any = account_session(account, region, **credentials).client(service, config=CLIENT_CONFIG)
        return client

    def canary_export(self, chain: Chain, external_id: str) -> CanaryExport:
        """The vendor's real export calls against this throwaway deployment (compliance.targets.canary)."""
        return export_canary(self.client, chain, external_id)

    def snapshot(self, chain: Chain) -> AwsSnapshot:
        log = CallLog()
        session = account_session(chain.aws.account, chain.aws.region)
        instrument_session(session, log, read_only=True)
        org_session = None
        if self.management_account:
            org_session = account_session(self.management_account)
            instrument_session(org_session, log, read_only=True)
        snapshot = AwsReader(session, org_session=org_session).snapshot(chain, target=self.name, calls=log)
        return _without_object_lambda(snapshot)

    def resolve(self, kind: str, name: str) -> str:
        if kind == "env":
            value = self.env.get(name)
            if not value:
                raise ConfigError(self.deployment.source, f"{{{{env:{name}}}}}",
                                  f"environment variable {name} is not set",
                                  f"export {name}=<value> or let the moto target generate it")
            return value
        if kind == "org":
            try:
                return self.org_ids[name]
            except KeyError:
                raise ConfigError(self.deployment.source, f"{{{{org:{name}}}}}", "no such organization entity",
                                  "use {{org:id}}, {{org:root}} or {{org:ou/NAME}} of a declared OU") from None
        try:
            return self.kms_arns[name]
        except KeyError:
            raise ConfigError(self.deployment.source, f"{{{{kms:{name}}}}}", "no kms_keys entry has this alias",
                              "declare the key under kms_keys before referring to it") from None


ClientFactory = Callable[..., Any]
"""`client(service, account, region="us-east-1")` → a boto3 client acting in `account`."""


class Provisioner:
    """Creates the deployment's resources in moto, in dependency order.

    By default it provisions through the target's in-process `mock_aws` clients; pass `client` to provision
    elsewhere (for example a moto server reached through an endpoint URL).
    """

    def __init__(self, target: MotoAwsTarget, client: ClientFactory | None = None) -> None:
        self.t = target
        self.client: ClientFactory = client or target.client

    def doc(self, value: Any) -> str:
        return json.dumps(substitute(value, self.t.resolve))

    def provision(self) -> None:
        aws = self.t.deployment.aws
        accounts: Mapping[str, Any] = aws.get("accounts", {})
        if "organization" in aws:
            self.organization_structure(aws["organization"])  # first: policies may name {{org:...}} ids
        for account, body in accounts.items():
            for key in body.get("kms_keys", []):
                self.kms_key(account, key)
        for account, body in accounts.items():
            for role in body.get("roles", []):
                self.role(account, role)
            if "public_access_block" in body:
                self.client("s3control", account).put_public_access_block(
                    AccountId=account, PublicAccessBlockConfiguration=body["public_access_block"])
            for bucket in body.get("buckets", []):
                self.bucket(account, bucket)
            for bucket in body.get("buckets", []):
                self.bucket_late(account, bucket)
                for point in bucket.get("access_points", []):
                    self.access_point(account, bucket, point)
            for mrap in body.get("multi_region_access_points", []):
                self.multi_region_access_point(account, mrap)
        if "organization" in aws:
            self.organization(aws["organization"])
        for account, body in accounts.items():
            for key in body.get("kms_keys", []):
                self.kms_key_state(account, key)

    def kms_key(self, account: str, key: Mapping[str, Any]) -> None:
        kms = self.client("kms", account)
        meta = kms.create_key(Policy=self.doc(key["policy"]), Description=key.get("description", ""))["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{key['alias']}", TargetKeyId=meta["KeyId"])
        self.t.kms_arns[key["alias"]] = meta["Arn"]
        for grant in substitute(key.get("grants", []), self.t.resolve):
            kwargs: dict[str, Any] = {"KeyId": meta["KeyId"], "GranteePrincipal": grant["grantee"],
                                      "Operations": grant["operations"]}
            if grant.get("name"):
                kwargs["Name"] = grant["name"]
            if grant.get("retiring_principal"):
                kwargs["RetiringPrincipal"] = grant["retiring_principal"]
            if grant.get("constraints"):
                kwargs["Constraints"] = grant["constraints"]
            kms.create_grant(**kwargs)

    def kms_key_state(self, account: str, key: Mapping[str, Any]) -> None:
        """Disable the key or schedule its deletion last: the buckets' objects are written with it first."""
        state = key.get("state", "Enabled")
        if state == "Enabled":
            return
        kms = self.client("kms", account)
        key_id = self.t.kms_arns[key["alias"]].rsplit("/", 1)[-1]
        if state == "Disabled":
            kms.disable_key(KeyId=key_id)
        elif state == "PendingDeletion":
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=int(key.get("deletion_window_days", 30)))

    def role(self, account: str, role: Mapping[str, Any]) -> None:
        iam = self.client("iam", account)
        kwargs: dict[str, Any] = {
            "RoleName": role["name"],
            "Path": role.get("path", "/"),
            "AssumeRolePolicyDocument": self.doc(role["trust_policy"]),
            "MaxSessionDuration": int(role.get("max_session_duration", 3600)),
            "Tags": [{"Key": k, "Value": v} for k, v in role.get("tags", {}).items()],
        }
        if role.get("permissions_boundary"):
            boundary = iam.create_policy(PolicyName=f"{role['name']}-boundary",
                                         PolicyDocument=self.doc(role["permissions_boundary"]))
            kwargs["PermissionsBoundary"] = boundary["Policy"]["Arn"]
        iam.create_role(**kwargs)
        for name, document in role.get("inline_policies", {}).items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=name, PolicyDocument=self.doc(document))
        for managed in role.get("managed_policies", []):
            arn = iam.create_policy(PolicyName=managed["name"], PolicyDocument=self.doc(managed["document"]))
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=arn["Policy"]["Arn"])

    def bucket(self, account: str, b: Mapping[str, Any]) -> None:
        region = b.get("region", "us-east-1")
        s3 = self.client("s3", account, region)
        name = b["name"]
        create: dict[str, Any] = {"Bucket": name, "ObjectLockEnabledForBucket": bool(b.get("object_lock"))}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**create)
        if "public_access_block" in b:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=b["public_access_block"])
        if b.get("ownership"):
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": b["ownership"]}]})
        if b.get("acl"):  # a canned ACL name, or PutBucketAcl grant headers ({"GrantWrite": "uri=..."})
            acl = b["acl"]
            s3.put_bucket_acl(Bucket=name, **({"ACL": acl} if isinstance(acl, str) else dict(acl)))
        if b.get("encryption"):
            enc = substitute(b["encryption"], self.t.resolve)
            default: dict[str, Any] = {"SSEAlgorithm": enc["algorithm"]}
            if enc.get("kms_key"):
                default["KMSMasterKeyID"] = enc["kms_key"]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(enc.get("bucket_key"))}]})
        if b.get("versioning") and not b.get("object_lock"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": b["versioning"]})
        lock = b.get("object_lock")
        if lock and lock.get("mode"):
            retention: dict[str, Any] = {"Mode": lock["mode"]}
            retention["Years" if "years" in lock else "Days"] = int(lock.get("years", lock.get("days", 1)))
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}})
        for obj in b.get("objects", []):
            s3.put_object(Bucket=name, Key=obj["key"], Body=obj.get("body", "").encode())
        if b.get("replication"):
            s3.put_bucket_replication(Bucket=name,
                                      ReplicationConfiguration=substitute(b["replication"], self.t.resolve))

    def bucket_late(self, account: str, b: Mapping[str, Any]) -> None:
        """Policies and logging go last: moto applies any bucket-policy Deny to every later put."""
        s3 = self.client("s3", account, b.get("region", "us-east-1"))
        if b.get("policy") is not None:
            policy = b["policy"]
            s3.put_bucket_policy(Bucket=b["name"], Policy=policy if isinstance(policy, str) else self.doc(policy))
        if b.get("logging"):
            self.logging(account, s3, b)

    @staticmethod
    def logging(account: str, s3: Any, b: Mapping[str, Any]) -> None:
        """Turn server access logging on as declared, also when it could no longer deliver.

        moto refuses PutBucketLogging unless the target exists in the same account and a policy statement or ACL
        grant for the log delivery service matches by string. A deployment may declare a logging configuration that
        stopped delivering after it was set (the target bucket deleted, re-created by another account, or its policy
        changed): that state is written into moto's S3 backend directly, as S3 keeps the configuration it accepted."""
        target = {"TargetBucket": b["logging"]["target_bucket"], "TargetPrefix": b["logging"].get("target_prefix", "")}
        try:
            s3.put_bucket_logging(Bucket=b["name"], BucketLoggingStatus={"LoggingEnabled": target})
        except AttributeError:
            pass  # moto 5.2 reads every target-policy Principal as an object and crashes on "Principal": "*"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("InvalidTargetBucketForLogging",
                                                                  "CrossLocationLoggingProhibitted",
                                                                  "CrossLocationLoggingProhibited"):
                raise
        else:
            return
        from moto.s3.models import s3_backends

        s3_backends[account]["aws"].get_bucket(b["name"]).logging = target

    def access_point(self, account: str, bucket: Mapping[str, Any], point: Mapping[str, Any]) -> None:
        s3control = self.client("s3control", account, bucket.get("region", "us-east-1"))
        kwargs: dict[str, Any] = {"AccountId": account, "Name": point["name"], "Bucket": bucket["name"]}
        if point.get("vpc_id"):
            kwargs["VpcConfiguration"] = {"VpcId": point["vpc_id"]}
        s3control.create_access_point(**kwargs)
        if point.get("policy") is not None:
            s3control.put_access_point_policy(AccountId=account, Name=point["name"], Policy=self.doc(point["policy"]))

    def multi_region_access_point(self, account: str, mrap: Mapping[str, Any]) -> None:
        """Multi-Region Access Point requests go to the us-west-2 control plane (S3 User Guide)."""
        s3control = self.client("s3control", account, "us-west-2")
        s3control.create_multi_region_access_point(AccountId=account, ClientToken=f"create-{mrap['name']}", Details={
            "Name": mrap["name"], "Regions": [{"Bucket": b} for b in mrap["buckets"]]})
        if mrap.get("policy") is not None:
            s3control.put_multi_region_access_point_policy(
                AccountId=account, ClientToken=f"policy-{mrap['name']}",
                Details={"Name": mrap["name"], "Policy": self.doc(mrap["policy"])})

    def organization_structure(self, org: Mapping[str, Any]) -> None:
        """The organization, its OUs and member accounts (policies come last, in `organization`)."""
        mgmt = org["management_account"]
        self.t.management_account = mgmt
        client = self.client("organizations", mgmt)
        organization = client.create_organization(FeatureSet="ALL")["Organization"]
        root = client.list_roots()["Roots"][0]["Id"]
        self.t.org_ids.update({"id": organization["Id"], "root": root})
        for account in org.get("accounts", []):  # members directly under the root
            with mock.patch("moto.organizations.utils.make_random_account_id", return_value=account):
                client.create_account(AccountName=f"account-{account}", Email=f"aws+{account}@example.com")
        for ou in org.get("ous", []):
            ou_id = client.create_organizational_unit(ParentId=root, Name=ou["name"])["OrganizationalUnit"]["Id"]
            self.t.org_ids[f"ou/{ou['name']}"] = ou_id
            for account in ou.get("accounts", []):
                with mock.patch("moto.organizations.utils.make_random_account_id", return_value=account):
                    client.create_account(AccountName=f"account-{account}", Email=f"aws+{account}@example.com")
                client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou_id)

    def organization(self, org: Mapping[str, Any]) -> None:
        client = self.client("organizations", org["management_account"])
        root = self.t.org_ids["root"]
        client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        policy_ids: dict[str, str] = {}
        for name, content in org.get("scps", {}).items():
            created = client.create_policy(Name=name, Description=name, Type="SERVICE_CONTROL_POLICY",
                                           Content=content if isinstance(content, str) else self.doc(content))
            policy_ids[name] = created["Policy"]["PolicySummary"]["Id"]
        for name in org.get("root_scps", []):
            client.attach_policy(PolicyId=policy_ids[name], TargetId=root)
        rcp_ids: dict[str, str] = {}
        if org.get("rcps"):
            client.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
        for name, content in org.get("rcps", {}).items():
            created = client.create_policy(Name=name, Description=name, Type="RESOURCE_CONTROL_POLICY",
                                           Content=content if isinstance(content, str) else self.doc(content))
            rcp_ids[name] = created["Policy"]["PolicySummary"]["Id"]
        for name in org.get("root_rcps", []):
            client.attach_policy(PolicyId=rcp_ids[name], TargetId=root)
        for ou in org.get("ous", []):
            ou_id = self.t.org_ids[f"ou/{ou['name']}"]
            for name in ou.get("scps", []):
                client.attach_policy(PolicyId=policy_ids[name], TargetId=ou_id)
            for name in ou.get("rcps", []):
                client.attach_policy(PolicyId=rcp_ids[name], TargetId=ou_id)
