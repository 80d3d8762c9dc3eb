"""The live AWS target: boto3's default credential chain, read-only, optionally via an audit role."""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from compliance.config import Chain
from compliance.targets.aws_reader import AwsReader, CallLog, instrument_session, new_session
from compliance.targets.canary import CanaryMode
from compliance.targets.snapshot import AwsSnapshot, Read, ReadFailure

SESSION_NAME = "export-chain-compliance"


class LiveAwsTarget:
    """Reads live accounts. Honours AWS_PROFILE, SSO profiles and AWS_ENDPOINT_URL through boto3."""

    name = "live"
    canary_mode = CanaryMode.NEVER_WRITES
    """No vendor credentials, and the suite never writes to a live account: there is no `canary_export`."""

    def __init__(self, base_session: boto3.Session | None = None) -> None:
        self.base_session = base_session

    def snapshot(self, chain: Chain) -> AwsSnapshot:
        log = CallLog()
        try:
            session = self.base_session or new_session(region_name=chain.aws.region)
        except BotoCoreError as exc:
            return unreadable(chain, self.name, ReadFailure("boto3.Session", type(exc).__name__, str(exc)), log)
        instrument_session(session, log, read_only=True)
        if chain.aws.audit_role_arn:
            try:
                creds = session.client("sts", region_name=chain.aws.region).assume_role(
                    RoleArn=chain.aws.audit_role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
            except ClientError as exc:
                error = exc.response.get("Error", {})
                return unreadable(chain, self.name, ReadFailure(
                    "sts:AssumeRole", str(error.get("Code", "Unknown")), str(error.get("Message", exc))), log)
            except BotoCoreError as exc:
                return unreadable(chain, self.name, ReadFailure("sts:AssumeRole", type(exc).__name__, str(exc)), log)
            session = new_session(
                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"], region_name=chain.aws.region)
            instrument_session(session, log, read_only=True)
        org_session: boto3.Session | None = None
        org_failure: ReadFailure | None = None
        if chain.aws.organizations_role_arn:
            org_session, org_failure = self._assume(session, chain, chain.aws.organizations_role_arn, log)
        return AwsReader(session, org_session=org_session, org_failure=org_failure).snapshot(
            chain, target=self.name, calls=log)

    @staticmethod
    def _assume(session: boto3.Session, chain: Chain, role_arn: str,
                log: CallLog) -> tuple[boto3.Session | None, ReadFailure | None]:
        """Assume a read-only role (for example in the management account); a failure is kept, not raised."""
        try:
            creds = session.client("sts", region_name=chain.aws.region).assume_role(
                RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return None, ReadFailure("sts:AssumeRole", str(error.get("Code", "Unknown")),
                                     str(error.get("Message", exc)))
        except BotoCoreError as exc:
            return None, ReadFailure("sts:AssumeRole", type(exc).__name__, str(exc))
        assumed = new_session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=chain.aws.region)
        instrument_session(assumed, log, read_only=True)
        return assumed, None


def unreadable(chain: Chain, target: str, failure: ReadFailure, log: CallLog) -> AwsSnapshot:
    """A snapshot in which every read failed the same way: every dependent check reports ERROR."""
    return AwsSnapshot(
        chain_id=chain.id, target=target, account_id=chain.aws.account, region=chain.aws.region,
        caller=Read(failure.api, failure=failure), role=Read(failure.api, failure=failure),
        bucket=Read(failure.api, failure=failure), account_public_access_block=Read(failure.api, failure=failure),
        scps=Read(failure.api, failure=failure), api_calls=tuple(log.calls))
