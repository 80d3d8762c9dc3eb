"""Posture seen from outside: unauthenticated requests whose answers Azure documents, no credential at all.

Nothing secret is sent: no SAS, no key, no token, so even the plain-HTTP request exposes nothing. Only
answers that Azure documents as meaning one setting are read as that setting; anything else leaves
the fact unreadable (the check reports ERROR and says what would settle it).

* Anonymous access ("Prevent anonymous read access to containers and blobs",
  https://learn.microsoft.com/azure/storage/blobs/anonymous-read-access-prevent; "Blob service error
  codes", https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes; "Common REST
  API error codes", .../common-rest-api-error-codes). With anonymous access disallowed on the account,
  every anonymous request gets 409 PublicAccessNotPermitted. Otherwise an anonymous List Blobs succeeds
  only on a container with public access "container"; an anonymous read of a blob name that does not
  exist gets 404 BlobNotFound on a container with public access "blob" or "container", and 404
  ResourceNotFound on a private one (Azure does not reveal what it may not show).
* Secure transfer ("Require secure transfer to ensure secure connections",
  https://learn.microsoft.com/azure/storage/common/storage-require-secure-transfer; Blob service error
  codes): with "secure transfer required", every plain-HTTP request is refused with 400
  AccountRequiresHttps. A plain-HTTP request that gets an ordinary anonymous answer
  (PublicAccessNotPermitted, ResourceNotFound, BlobNotFound, 200) was processed: the account accepts HTTP.
* Minimum TLS ("Enforce a minimum required version of TLS for requests to a storage account",
  https://learn.microsoft.com/azure/storage/common/transport-layer-security-configure-minimum-version):
  a request over a TLS version below the account's minimum gets 400 TlsVersionNotPermitted. Since
  3 February 2026 Azure Storage refuses TLS 1.0 and 1.1 on every account ("Migrate to TLS 1.2 for Azure
  Blob Storage", .../transport-layer-security-configure-migrate-to-tls2): such a handshake then fails
  before any HTTP answer, whatever the account's minimumTlsVersion says. A handshake refusal therefore
  shows that TLS 1.0/1.1 cannot be used, never which minimum the account is set to; the finding says so.
"""

from __future__ import annotations

import http.client
import os
import ssl
import uuid
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from compliance.azure.posture import Fact

X_MS_VERSION = "2025-11-05"
TIMEOUT_S = 10.0
# Answers that show the storage service processed the request as an ordinary anonymous request.
PROCESSED = frozenset({"PublicAccessNotPermitted", "ResourceNotFound", "BlobNotFound", "ContainerNotFound",
                       "NoAuthenticationInformation"})
HANDSHAKE_REFUSED = "TLS 1.0 and 1.1 refused at the handshake"
SETTLE_MGMT = ("configure [azure.management] with Reader on the storage account so Resource Manager shows "
               "the setting")


@dataclass(frozen=True, slots=True)
class OutsideAnswer:
    """One unauthenticated request and what came back. `failure`: why there was no HTTP answer."""

    request: str
    status: int | None
    error_code: str | None
    failure: str | None = None
    tls_version: str | None = None

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def processed(self) -> bool:
        """The service handled it as an ordinary anonymous request (it did not refuse the transport)."""
        return self.status is not None and (200 <= self.status < 300 or self.error_code in PROCESSED)

    @property
    def outcome(self) -> str:
        if self.status is None:
            return f"no HTTP answer ({self.failure})"
        return f"HTTP {self.status} {self.error_code or 'OK'}"

    def to_json(self) -> dict[str, Any]:
        return {"request": self.request, "status": self.status, "error_code": self.error_code,
                "failure": self.failure, "tls_version": self.tls_version}


def _ca_file(verify: str | bool) -> str | None:
    if isinstance(verify, str):
        return verify
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def _context(verify: str | bool, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=_ca_file(verify))
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if version is not None:
        with warnings.catch_warnings():  # the ssl module deprecates TLS 1.0/1.1; offering them is the point here
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = version
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 needs this to offer TLS 1.0/1.1 at all
    return context


def _error_code(response: http.client.HTTPResponse, body: bytes) -> str | None:
    code = response.getheader("x-ms-error-code")
    if code:
        return code
    text = body.decode("utf-8", errors="replace")
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6:end].strip() if 0 <= start < end else None


class OutsideProber:
    """Unauthenticated requests to one container endpoint (`account_url` + container)."""

    def __init__(self, account_url: str, container: str, verify: str | bool = True) -> None:
        parts = urlsplit(account_url.rstrip("/"))
        self.host = parts.hostname or ""
        self.port = parts.port
        self.base_path = f"{parts.path}/{container}"
        self.verify = verify

    def _send(self, label: str, path: str, *, scheme: str, version: ssl.TLSVersion | None = None) -> OutsideAnswer:
        conn: http.client.HTTPConnection
        if scheme == "https":
            try:
                context = _context(self.verify, version)
            except (ssl.SSLError, ValueError) as exc:
                return OutsideAnswer(label, None, None, f"this machine cannot offer it: {type(exc).__name__}")
            conn = http.client.HTTPSConnection(self.host, self.port or 443, timeout=TIMEOUT_S, context=context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port or 80, timeout=TIMEOUT_S)
        try:
            conn.request("GET", path, headers={"x-ms-version": X_MS_VERSION})
            response = conn.getresponse()
            body = response.read(65536)
            sock: Any = conn.sock
            negotiated = sock.version() if isinstance(sock, ssl.SSLSocket) else None
            return OutsideAnswer(label, response.status, _error_code(response, body), tls_version=negotiated)
        except ssl.SSLError as exc:
            return OutsideAnswer(label, None, None, f"TLS {exc.reason or type(exc).__name__}")
        except (OSError, http.client.HTTPException) as exc:
            return OutsideAnswer(label, None, None, type(exc).__name__)
        finally:
            conn.close()

    def anonymous_list(self) -> OutsideAnswer:
        return self._send("anonymous List Blobs over HTTPS", f"{self.base_path}?restype=container&comp=list"
                          "&maxresults=1", scheme="https")

    def anonymous_read_absent(self) -> OutsideAnswer:
        name = f"compliance-outside-view-{uuid.uuid4().hex}"
        return self._send(f"anonymous Get Blob of a name that does not exist ({name}) over HTTPS",
                          f"{self.base_path}/{name}", scheme="https")

    def plain_http(self) -> OutsideAnswer:
        return self._send("anonymous List Blobs over plain HTTP (nothing secret sent)",
                          f"{self.base_path}?restype=container&comp=list&maxresults=1", scheme="http")

    def legacy_tls(self, version: ssl.TLSVersion) -> OutsideAnswer:
        label = {ssl.TLSVersion.TLSv1: "TLS 1.0", ssl.TLSVersion.TLSv1_1: "TLS 1.1"}.get(version, str(version))
        return self._send(f"anonymous List Blobs over {label} only", f"{self.base_path}?restype=container&comp=list"
                          "&maxresults=1", scheme="https", version=version)


# ---- what the answers mean ----

def secure_transfer(answer: OutsideAnswer) -> Fact:
    if answer.error_code == "AccountRequiresHttps":
        return Fact.of(True, f"outside view: {answer.request} was refused with {answer.outcome}, Azure's answer "
                             f"when secure transfer is required")
    if answer.processed:
        return Fact.of(False, f"outside view: {answer.request} got {answer.outcome} instead of 400 "
                              f"AccountRequiresHttps, so the account processes plain-HTTP requests")
    return Fact.unknown(f"not verifiable from outside: {answer.request} got {answer.outcome}, which is not Azure's "
                        f"documented answer for either setting (400 AccountRequiresHttps when required); "
                        f"{SETTLE_MGMT}")


def minimum_tls(answers: list[OutsideAnswer]) -> Fact:
    accepted = [a for a in answers if a.processed]
    if accepted:
        first = accepted[0]
        setting = {"TLSv1": "TLS1_0", "TLSv1.1": "TLS1_1"}.get(first.tls_version or "", "TLS1_0")
        return Fact.of(setting, f"outside view: {first.request} got {first.outcome}, so the account accepts it")
    named = [a for a in answers if a.error_code == "TlsVersionNotPermitted"]
    refused = [a for a in answers if a.status is None and a.failure and "ALERT_PROTOCOL_VERSION" in a.failure]
    if len(named) == len(answers):
        return Fact.of("TLS1_2", "outside view: " + "; ".join(f"{a.request} was refused with {a.outcome}"
                                                              for a in answers)
                       + ", Azure's answer when the account's minimum TLS version is higher")
    if len(named) + len(refused) == len(answers):
        return Fact.of(HANDSHAKE_REFUSED, "outside view: " + "; ".join(f"{a.request}: {a.outcome}" for a in answers))
    detail = "; ".join(f"{a.request}: {a.outcome}" for a in answers)
    return Fact.unknown(f"not verifiable from outside: {detail}, which is neither 400 TlsVersionNotPermitted nor a "
                        f"protocol-version refusal; {SETTLE_MGMT}")


def anonymous_access(listing: OutsideAnswer, read: OutsideAnswer) -> Fact:
    """Fact value: 'disallowed' | None (private) | 'container' | 'blob'."""
    if "PublicAccessNotPermitted" in (listing.error_code, read.error_code):
        which = listing if listing.error_code == "PublicAccessNotPermitted" else read
        return Fact.of("disallowed", f"outside view: {which.request} got {which.outcome}, Azure's answer when "
                                     f"the account disallows anonymous access")
    if listing.status is not None and 200 <= listing.status < 300:
        return Fact.of("container", f"outside view: {listing.request} got {listing.outcome}")
    if read.error_code == "BlobNotFound" or (read.status is not None and 200 <= read.status < 300):
        return Fact.of("blob", f"outside view: {read.request} got {read.outcome}: anonymous reads are authorized")
    if listing.error_code == "ResourceNotFound" and read.error_code == "ResourceNotFound":
        return Fact.of(None, f"outside view: {listing.request} and {read.request} both got 404 ResourceNotFound, "
                             f"Azure's answer to anonymous requests on a private container")
    return Fact.unknown(f"not verifiable from outside: {listing.request} got {listing.outcome} and {read.request} "
                        f"got {read.outcome}, which are not Azure's documented answers; {SETTLE_MGMT}")

