"""A local stand-in for Microsoft Entra ID, Azure Resource Manager and a Blob endpoint, on one port.

* Entra ID: the OpenID configuration and token endpoint MSAL calls (with instance discovery off).
* Resource Manager: replays Azure's published REST API examples (tests/azure/data/arm-examples/,
  each with its source path and commit in SOURCES.json); tests mutate `FakeAzure.arm` to produce each
  posture. Only GET is served: anything else is recorded and answered 405.
* Blob service: Get Container ACL (Bearer), and anonymous answers as Azure documents them
  (compliance/azure/outside.py cites the pages): PublicAccessNotPermitted / ResourceNotFound /
  BlobNotFound / a listing, AccountRequiresHttps over plain HTTP, TlsVersionNotPermitted or a
  handshake refusal for TLS 1.0/1.1.

Plain HTTP and TLS share the port: the first byte of a connection (0x16, a TLS handshake) decides.
"""

from __future__ import annotations

import copy
import json
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

EXAMPLES = Path(__file__).parent / "data" / "arm-examples" / "2025-06-01"
API_VERSION = "2025-06-01"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OPERATIONS = {  # operation -> example file
    "account": "StorageAccountGetProperties.json",
    "blob_service": "BlobServicesGet.json",
    "container": "BlobContainersGet.json",
    "immutability_policy": "BlobContainersGetImmutabilityPolicy.json",
}


def example(operation: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / OPERATIONS[operation]).read_text(encoding="utf-8"))
    return data


def example_bodies() -> dict[str, dict[str, Any]]:
    return {op: copy.deepcopy(example(op)["responses"]["200"]["body"]) for op in OPERATIONS}


@dataclass
class BlobBehaviour:
    """How the fake Blob endpoint answers what carries no credential."""

    anonymous: str = "private"  # "disallowed" | "private" | "blob" | "container"
    https_required: bool = True
    # "retired": handshake refused below TLS 1.2 | "account-min": 400 TlsVersionNotPermitted | "accepts"
    tls: str = "retired"
    acl_xml: str | None = None  # Get Container ACL body; None answers 403 AuthorizationPermissionMismatch


@dataclass
class Recorded:
    scheme: str
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str
    body: str = ""


@dataclass
class FakeAzure:
    arm: dict[str, dict[str, Any]] = field(default_factory=example_bodies)
    arm_status: dict[str, int] = field(default_factory=dict)  # operation -> error status to answer instead
    blob: BlobBehaviour = field(default_factory=BlobBehaviour)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    ca_path: Path | None = None
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def account_url(self, account: str = "sto6217") -> str:
        return f"{self.url}/{account}"

    def start(self, workdir: Path) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = workdir / "fake-azure-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            modern = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            modern.minimum_version = ssl.TLSVersion.TLSv1_2
            legacy = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            legacy.minimum_version = ssl.TLSVersion.TLSv1
            legacy.set_ciphers("DEFAULT:@SECLEVEL=0")
        cert.configure_cert(modern)
        cert.configure_cert(legacy)
        fake = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, addr = self.socket.accept()
                sock.settimeout(5)
                try:
                    first = sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    first = b""
                if first != b"\x16":
                    return sock, addr
                context = modern if fake.blob.tls == "retired" else legacy
                return context.wrap_socket(sock, server_side=True), addr

        self._server = Server(("127.0.0.1", 0), _handler(self))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def env(self) -> dict[str, str]:
        """The environment a live run needs: the authority, a service principal, the test CA."""
        return {"AZURE_AUTHORITY_HOST": self.url, "AZURE_TENANT_ID": TENANT,
                "AZURE_CLIENT_ID": "00000000-1111-2222-3333-444444444444",
                "AZURE_CLIENT_SECRET": "fake-azure-client-secret-0b7e", "REQUESTS_CA_BUNDLE": str(self.ca_path)}

    def arm_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/subscriptions/")]


def _arm_operation(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) < 8 or parts[0] != "subscriptions" or parts[5:7] != ["Microsoft.Storage", "storageAccounts"]:
        return None
    tail = parts[8:]
    if not tail:
        return "account"
    if tail == ["blobServices", "default"]:
        return "blob_service"
    if len(tail) == 4 and tail[:3] == ["blobServices", "default", "containers"]:
        return "container"
    if len(tail) == 6 and tail[4:] == ["immutabilityPolicies", "default"]:
        return "immutability_policy"
    return None


LISTING = ('<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{url}" '
           'ContainerName="{c}"><Blobs /><NextMarker /></EnumerationResults>')


def _handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _record(self) -> Recorded:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
            scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
            auth = self.headers.get("Authorization") or ""
            kind = "bearer" if auth.startswith("Bearer ") else ("other" if auth else "")
            query = parse_qs(parts.query)
            if "sig" in query:
                kind = "sas"
            rec = Recorded(scheme, self.command, parts.path, query, kind, body)
            fake.requests.append(rec)
            return rec

        def _send(self, status: int, body: str | bytes = b"", content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000000")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _storage_error(self, status: int, code: str) -> None:
            xml = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>m</Message></Error>'
            self._send(status, xml, "application/xml", {"x-ms-error-code": code})

        def do_GET(self) -> None:
            rec = self._record()
            if rec.path.endswith("/.well-known/openid-configuration"):
                tenant = rec.path.strip("/").split("/")[0]
                base = f"{fake.url}/{tenant}"
                self._send(200, json.dumps({
                    "token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode"}))
                return
            operation = _arm_operation(rec.path)
            if rec.path.startswith("/subscriptions/"):
                self._arm(rec, operation)
                return
            self._blob(rec)

        def _arm(self, rec: Recorded, operation: str | None) -> None:
            if rec.authorization != "bearer":
                self._send(401, json.dumps({"error": {"code": "AuthenticationFailed", "message": "m"}}))
                return
            if rec.query.get("api-version") != [API_VERSION]:
                self._send(400, json.dumps({"error": {"code": "InvalidApiVersionParameter", "message": "m"}}))
                return
            if operation is None or operation not in fake.arm:
                self._send(404, json.dumps({"error": {"code": "ResourceNotFound", "message": "m"}}))
                return
            status = fake.arm_status.get(operation)
            if status is not None:
                code = "AuthorizationFailed" if status == 403 else "InternalError"
                self._send(status, json.dumps({"error": {"code": code, "message": "m"}}))
                return
            body = fake.arm[operation]
            headers = {"ETag": body["etag"]} if "etag" in body else {}
            self._send(200, json.dumps(body), headers=headers)

        def _blob(self, rec: Recorded) -> None:
            behaviour = fake.blob
            if rec.scheme == "http" and behaviour.https_required:
                self._storage_error(400, "AccountRequiresHttps")
                return
            version = self.connection.version() if isinstance(self.connection, ssl.SSLSocket) else None
            if version in ("TLSv1", "TLSv1.1") and behaviour.tls == "account-min":
                self._storage_error(400, "TlsVersionNotPermitted")
                return
            if rec.query.get("comp") == ["acl"]:
                if rec.authorization == "bearer":
                    if behaviour.acl_xml is None:
                        self._storage_error(403, "AuthorizationPermissionMismatch")
                    else:
                        self._send(200, behaviour.acl_xml, "application/xml")
                    return
                self._storage_error(401, "NoAuthenticationInformation")
                return
            if rec.authorization == "sas":
                self._storage_error(403, "AuthorizationPermissionMismatch")
                return
            listing = rec.query.get("comp") == ["list"]
            mode = behaviour.anonymous
            if mode == "disallowed":
                self._storage_error(409, "PublicAccessNotPermitted")
            elif listing and mode == "container":
                parts = rec.path.strip("/").split("/")
                self._send(200, LISTING.format(url=fake.url, c=parts[-1]), "application/xml")
            elif not listing and mode in ("blob", "container"):
                self._storage_error(404, "BlobNotFound")
            else:
                self._storage_error(404, "ResourceNotFound")

        def do_POST(self) -> None:
            rec = self._record()
            if rec.path.endswith("/oauth2/v2.0/token"):
                self._send(200, json.dumps({"access_token": "fake-access-token-for-tests", "token_type": "Bearer",
                                            "expires_in": 3600, "ext_expires_in": 3600}))
                return
            self._refuse(rec)

        def _refuse(self, rec: Recorded) -> None:
            self._send(405, json.dumps({"error": {"code": "MethodNotAllowed", "message": rec.method}}))

        def do_PUT(self) -> None:
            self._refuse(self._record())

        def do_PATCH(self) -> None:
            self._refuse(self._record())

        def do_DELETE(self) -> None:
            self._refuse(self._record())

        def do_HEAD(self) -> None:
            self._refuse(self._record())

    return Handler


def acl_xml(policies: dict[str, tuple[str, str, str]]) -> str:
    """SignedIdentifiers XML for Get Container ACL: {id: (permissions, start, expiry)}."""
    items = "".join(f"<SignedIdentifier><Id>{pid}</Id><AccessPolicy><Start>{start}</Start><Expiry>{expiry}</Expiry>"
                    f"<Permission>{perm}</Permission></AccessPolicy></SignedIdentifier>"
                    for pid, (perm, start, expiry) in policies.items())
    return f'<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers>{items}</SignedIdentifiers>'
