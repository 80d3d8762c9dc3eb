"""One chain's Azure backup as the checks see it: the SAS, the probes, the posture — each read once.

`AzureBackup` never stores the SAS: `token()` reads it from the chain's `sas_env` variable each time.
Results are memoised per chain per process (per xdist worker), so the eighteen checks share one set of
requests.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import AzureError
from azure.storage.blob import ContainerClient

from compliance.azure import management, outside
from compliance.azure.analysis import EffectiveSas, PolicyState, StoredPolicy, resolve
from compliance.azure.posture import Posture, emulator_posture, from_container_properties
from compliance.azure.probes import CLIENT_OPTIONS, ProbeOperation, ProbeResult, SasProber
from compliance.azure.sas import SasFormatError, SasToken, parse_sas, parse_time
from compliance.config import AzureConfig
from compliance.errors import ComplianceError
from compliance.targets.azure_emulated import EmulatedAzure


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why a derived input is missing (malformed SAS, management SDK missing...). One sentence."""

    reason: str


class AzureBackup:
    def __init__(self, chain_id: str, config: AzureConfig, *, emulator: EmulatedAzure | None,
                 write_probe_allowed: bool, verify: str | bool = True) -> None:
        self.chain_id = chain_id
        self.config = config
        self.emulator = emulator
        self.emulated = emulator is not None
        self.account_url = emulator.account_url if emulator is not None else config.account_url.rstrip("/")
        self.verify = emulator.verify if emulator is not None else verify
        self.write_probe_allowed = write_probe_allowed or self.emulated
        self.management = (management.ManagementSession(config.management)
                           if config.management is not None and emulator is None else None)
        self._memo: dict[str, Any] = {}

    def __repr__(self) -> str:  # never show anything token-like
        return f"AzureBackup({self.chain_id!r}, {self.resource})"

    @property
    def resource(self) -> str:
        return f"{self.account_url}/{self.config.container}"

    @property
    def target_name(self) -> str:
        return "Azurite (embedded)" if self.emulated else "live Azure"

    def token(self) -> str:
        return os.environ.get(self.config.sas_env, "")

    def _once(self, key: str, make: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # ---- static view ----

    def sas(self) -> SasToken | Unavailable:
        def make() -> SasToken | Unavailable:
            token = self.token()
            if not token:
                return Unavailable(f"No SAS: environment variable {self.config.sas_env} is not set.")
            try:
                return parse_sas(token)
            except SasFormatError as exc:
                return Unavailable(f"The SAS in {self.config.sas_env} is malformed: {exc}")

        result: SasToken | Unavailable = self._once("sas", make)
        return result

    def effective(self) -> EffectiveSas | Unavailable:
        def make() -> EffectiveSas | Unavailable:
            token = self.sas()
            if isinstance(token, Unavailable):
                return token
            policies, why = None, None
            if token.policy_id is not None and self.emulator is not None:
                policies = emulated_policies(self.emulator.container_access_policy(self.config.container))
            elif token.policy_id is not None and self.management is not None:
                try:
                    policies, why = management.read_stored_policies(self.management, self.account_url,
                                                                    self.config.container, self.verify)
                except management.ManagementUnavailable as exc:
                    why = str(exc)
            return resolve(token, policies, why)

        result: EffectiveSas | Unavailable = self._once("effective", make)
        return result

    # ---- probes ----

    def prober(self) -> SasProber:
        return SasProber(self.account_url, self.config.container, self.token, verify=self.verify,
                         canary_prefix=self.config.canary_prefix)

    def probe(self, operation: ProbeOperation) -> ProbeResult | Unavailable:
        """One probe, made once per chain (the anonymous read tries the blob the write probe left)."""
        def make() -> ProbeResult | Unavailable:
            token = self.sas()
            if operation in (ProbeOperation.ANONYMOUS_LIST, ProbeOperation.ANONYMOUS_READ):
                return self._anonymous(operation)
            if isinstance(token, Unavailable):
                return Unavailable(f"Not probed: {token.reason}")
            prober = self.prober()
            if operation is ProbeOperation.WRITE:
                if not self.write_probe_allowed:
                    return Unavailable("The write path was not probed: live mode writes a canary blob only with "
                                       "--azure-write-probe.")
                return prober.write_canary()
            if operation is ProbeOperation.READ_OVER_HTTP:
                if self.emulator is None:
                    return Unavailable("live mode never sends the SAS over plain HTTP")
                return prober.read_over(self.emulator.http_account_url())
            reads = {ProbeOperation.READ: prober.read, ProbeOperation.DELETE: prober.delete,
                     ProbeOperation.LIST: prober.list}
            return reads[operation]()

        result: ProbeResult | Unavailable = self._once(f"probe:{operation.value}", make)
        return result

    def _anonymous(self, operation: ProbeOperation) -> ProbeResult | Unavailable:
        prober = self.prober()
        if operation is ProbeOperation.ANONYMOUS_LIST:
            return prober.anonymous_list()
        canary = self.probe(ProbeOperation.WRITE)
        if isinstance(canary, Unavailable) or not canary.succeeded:
            return Unavailable("no canary blob was written, so blob-level anonymous access could not be tried")
        return prober.anonymous_read(canary.target)

    # ---- posture ----

    def posture(self) -> Posture | Unavailable:
        return self._once("posture", self._read_posture)  # type: ignore[no-any-return]

    def _read_posture(self) -> Posture | Unavailable:
        if self.emulator is not None:
            try:
                props = self.emulator.container_admin(self.config.container).get_container_properties()
            except AzureError as exc:
                return Unavailable(f"Azurite container properties could not be read ({type(exc).__name__}).")
            return emulator_posture(props)
        if self.management is not None:
            try:
                posture = management.read_posture(self.management, self.config.container)
            except ComplianceError as exc:  # the SDK is missing, or a non-GET request was refused
                return Unavailable(str(exc))
        else:
            try:
                client = ContainerClient(self.account_url, self.config.container, credential=self.token(),
                                         connection_verify=self.verify, **CLIENT_OPTIONS)
                posture = from_container_properties(client.get_container_properties(),
                                                    "container properties read with the SAS")
            except (AzureError, ValueError):
                posture = Posture()  # a write-only SAS cannot read container properties
        return self._outside_view(posture)

    def _outside_view(self, posture: Posture) -> Posture:
        """Fill what the credentials could not read from unauthenticated requests (compliance.azure.outside)."""
        prober = outside.OutsideProber(self.account_url, self.config.container, self.verify)
        answers: list[outside.OutsideAnswer] = []
        listing, read = prober.anonymous_list(), prober.anonymous_read_absent()
        answers += [listing, read]
        posture = replace(posture, anonymous_view=outside.anonymous_access(listing, read))
        if posture.https_only.unreadable is not None:
            plain = prober.plain_http()
            answers.append(plain)
            posture = posture.filled(https_only=outside.secure_transfer(plain))
        if posture.min_tls.unreadable is not None:
            legacy = [prober.legacy_tls(ssl.TLSVersion.TLSv1), prober.legacy_tls(ssl.TLSVersion.TLSv1_1)]
            answers += legacy
            posture = posture.filled(min_tls=outside.minimum_tls(legacy))
        return replace(posture, requests=tuple(a.to_json() for a in answers))

    @property
    def policy_unreadable(self) -> bool:
        effective = self.effective()
        return isinstance(effective, EffectiveSas) and effective.policy_state is PolicyState.UNREADABLE


def emulated_policies(acl: dict[str, Any] | None) -> dict[str, StoredPolicy] | None:
    """Azurite's Get Container ACL answer as stored policies (None: it could not be read)."""
    if acl is None:
        return None
    policies: dict[str, StoredPolicy] = {}
    for ident in acl.get("signed_identifiers", []):
        access = ident.access_policy
        policies[ident.id] = StoredPolicy(ident.id, getattr(access, "permission", None) or None,
                                          _as_time(getattr(access, "start", None)),
                                          _as_time(getattr(access, "expiry", None)))
    return policies


def _as_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_time("policy time", str(value))
