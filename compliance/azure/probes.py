"""Non-destructive probes of what a SAS can do, against Azurite or live Azure.

Every probe that tests a right the SAS should NOT have targets a blob name that does not exist
(a fresh UUID under the canary prefix), so a SAS that does have the right reads, deletes or lists
nothing. The only write is one small canary blob with a unique name, sent with If-None-Match: *
(`overwrite=False`), so it can never replace an existing backup. Error codes come from the
`x-ms-error-code` header; clients use `retry_total=0`. Exception texts are never kept: they can carry
the request URL and with it the SAS.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError
from azure.storage.blob import ContainerClient

# 403 codes that mean "this SAS does not carry the right" (the request itself was authenticated).
RIGHT_ABSENT = frozenset({"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch",
                          "AuthorizationServiceMismatch"})
# 403 codes that mean "the token as a whole was not accepted" (expired, not yet valid, bad signature,
# revoked policy, source IP): they say nothing about individual rights.
TOKEN_REJECTED = frozenset({"AuthenticationFailed", "AuthorizationFailure", "AuthorizationSourceIPMismatch"})
PROTOCOL_REFUSED = "AuthorizationProtocolMismatch"
CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 30}


class ProbeOperation(StrEnum):
    """What a probe tries; the value names it in evidence and messages."""

    WRITE = "write"
    """Upload one canary blob under a new unique name (never overwrites)."""
    READ = "read"
    DELETE = "delete"
    LIST = "list"
    READ_OVER_HTTP = "read over HTTP"
    """Read through the plain-HTTP endpoint (the emulator only: live mode never sends the SAS over HTTP)."""
    ANONYMOUS_LIST = "anonymous list"
    ANONYMOUS_READ = "anonymous read"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One request and its outcome. `status` None means no HTTP response (connection problem)."""

    operation: ProbeOperation
    target: str
    status: int | None
    error_code: str | None
    note: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def right_absent(self) -> bool:
        return self.status == 403 and self.error_code in RIGHT_ABSENT

    @property
    def token_rejected(self) -> bool:
        return self.status in (401, 403) and self.error_code in TOKEN_REJECTED

    @property
    def outcome(self) -> str:
        if self.status is None:
            return f"no response ({self.error_code})"
        return f"HTTP {self.status} {self.error_code or 'OK'}"

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation.value, "target": self.target, "status": self.status,
                "error_code": self.error_code, "note": self.note}


def _call(operation: ProbeOperation, target: str, action: Callable[[], object]) -> ProbeResult:
    try:
        action()
    except HttpResponseError as exc:
        response: Any = exc.response
        code = response.headers.get("x-ms-error-code") if response is not None else None
        status = exc.status_code if exc.status_code is not None else getattr(response, "status_code", None)
        return ProbeResult(operation, target, status, code or getattr(exc, "error_code", None) or None)
    except AzureError as exc:  # connection refused, TLS failure, timeout: keep the type, never the text
        return ProbeResult(operation, target, None, type(exc).__name__, "the request got no HTTP response")
    except ValueError as exc:  # the SDK refuses a malformed credential before sending anything
        return ProbeResult(operation, target, None, type(exc).__name__, "the SDK refused to send the request")
    return ProbeResult(operation, target, 201 if operation is ProbeOperation.WRITE else 200, None)


def unique_name(prefix: str, kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{kind}-{stamp}-{uuid.uuid4().hex}"


class SasProber:
    """Runs the probes for one container with one SAS. The token is read by `token()` when needed."""

    def __init__(self, account_url: str, container: str, token: Callable[[], str], *,
                 verify: str | bool = True, canary_prefix: str = "compliance-canary/") -> None:
        self.account_url = account_url
        self.container = container
        self._token = token
        self.verify = verify
        self.canary_prefix = canary_prefix

    def _client(self, account_url: str | None = None, *, anonymous: bool = False,
                verify: str | bool | None = None) -> ContainerClient:
        return ContainerClient(account_url or self.account_url, self.container,
                               credential=None if anonymous else self._token(),
                               connection_verify=self.verify if verify is None else verify, **CLIENT_OPTIONS)

    def write_canary(self) -> ProbeResult:
        name = unique_name(self.canary_prefix, "canary")
        body = f"export-chain-compliance canary written {datetime.now(UTC).isoformat()}\n".encode()
        result = _call(ProbeOperation.WRITE, name, lambda: self._client().upload_blob(name, body, overwrite=False))
        return ProbeResult(result.operation, name, result.status, result.error_code,
                           "new unique name, If-None-Match: * (never overwrites)")

    def absent_name(self) -> str:
        return unique_name(self.canary_prefix, "absent")

    def read(self) -> ProbeResult:
        name = self.absent_name()
        return _call(ProbeOperation.READ, name, lambda: self._client().download_blob(name).readall())

    def delete(self) -> ProbeResult:
        name = self.absent_name()
        return _call(ProbeOperation.DELETE, name, lambda: self._client().delete_blob(name))

    def list(self) -> ProbeResult:
        prefix = self.absent_name()

        def first_page() -> None:
            pages = self._client().list_blobs(name_starts_with=prefix, results_per_page=1).by_page()
            list(next(pages, []))

        return _call(ProbeOperation.LIST, f"{prefix}*", first_page)

    def read_over(self, account_url: str, verify: str | bool = True) -> ProbeResult:
        """Read a nonexistent name through another endpoint (the plain-HTTP one)."""
        name = self.absent_name()
        return _call(ProbeOperation.READ_OVER_HTTP, name,
                     lambda: self._client(account_url, verify=verify).download_blob(name).readall())

    def anonymous_list(self) -> ProbeResult:
        def first_page() -> None:
            pages = self._client(anonymous=True).list_blobs(results_per_page=1).by_page()
            list(next(pages, []))

        return _call(ProbeOperation.ANONYMOUS_LIST, self.container, first_page)

    def anonymous_read(self, name: str) -> ProbeResult:
        return _call(ProbeOperation.ANONYMOUS_READ, name,
                     lambda: self._client(anonymous=True).download_blob(name).readall())
