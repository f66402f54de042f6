"""The Docker token (Bearer realm) flow, against a tiny local registry + token service.

docker-registry cannot issue tokens without a separate auth server, so this
test serves both roles from one http.server on a loopback port, following
the distribution auth spec: 401 + challenge, token from the realm with Basic
credentials, retry with the token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry import RegistryClient, request_count, reset_request_count

USER, PASSWORD = "robot", "tok3n-pa55word"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "x", "size": 2, "digest": "sha256:" + "c" * 64},
        "layers": [],
    }
).encode()
OCI = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


@dataclass
class Seen:
    token_queries: list[str] = field(default_factory=list)
    registry_auth: list[str] = field(default_factory=list)


def make_handler(port_box: list[int], seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _token(self) -> None:
            seen.token_queries.append(self.path)
            basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            auth = self.headers.get("Authorization")
            if auth == basic:
                self._send(200, json.dumps({"token": "good-token"}).encode())
            elif auth is None:
                self._send(200, json.dumps({"access_token": "anonymous-token"}).encode())
            else:
                self._send(401, b'{"details":"bad credentials"}')

        def _registry(self) -> None:
            auth = self.headers.get("Authorization", "")
            seen.registry_auth.append(auth)
            if auth != "Bearer good-token":
                scope = ""
                if "/manifests/" in self.path:
                    repo = self.path[len("/v2/") : self.path.index("/manifests/")]
                    scope = f',scope="repository:{repo}:pull"'
                realm = f"http://127.0.0.1:{port_box[0]}/token"
                challenge = f'Bearer realm="{realm}",service="mini-registry"{scope}'
                self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                           {"WWW-Authenticate": challenge})  # fmt: skip
                return
            if self.path == "/v2/":
                self._send(200, b"{}")
            elif self.path == "/v2/team/app/manifests/v1":
                self._send(200, MANIFEST, {"Docker-Content-Digest": MANIFEST_DIGEST, **OCI})
            elif self.path == "/v2/team/app/manifests/no-header":
                # Some registries omit the digest header: the client must hash the body.
                self._send(200, MANIFEST, OCI)
            else:
                self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')

        def do_GET(self) -> None:
            if self.path.startswith("/token"):
                self._token()
            else:
                self._registry()

        def do_HEAD(self) -> None:
            self._registry()

    return Handler


@pytest.fixture
def token_registry() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    port_box: list[int] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(port_box, seen))
    port_box.append(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port_box[0]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_token_flow_with_credentials(token_registry: tuple[str, Seen]):
    address, seen = token_registry
    client = RegistryClient(address, username=USER, password=PASSWORD)
    reset_request_count()
    assert client.digest_of("team/app", "v1") == MANIFEST_DIGEST
    # 401, token, retry: three requests, and the token was asked with the challenge's scope.
    assert request_count() == 3
    assert seen.token_queries == [
        "/token?service=mini-registry&scope=repository%3Ateam%2Fapp%3Apull"
    ]
    assert seen.registry_auth == ["", "Bearer good-token"]
    # The token is reused for the same scope: one request, no new token.
    assert client.digest_of("team/app", "absent") is None
    assert request_count() == 4
    assert len(seen.token_queries) == 1
    client.ping()


def test_missing_digest_header_is_computed_from_the_body(token_registry: tuple[str, Seen]):
    address, _ = token_registry
    client = RegistryClient(address, username=USER, password=PASSWORD)
    assert client.digest_of("team/app", "no-header") == MANIFEST_DIGEST


CASES = [
    # (username, password, message)
    (None, None, "refused access to .* \\(without credentials\\)"),
    (USER, "wrong-password", "token service .* refused the credentials \\(HTTP 401\\)"),
]


@pytest.mark.parametrize(("user", "password", "message"), CASES)
def test_token_flow_refusals_never_show_the_password(
    token_registry: tuple[str, Seen], user: str | None, password: str | None, message: str
):
    address, _ = token_registry
    client = RegistryClient(address, username=user, password=password)
    with pytest.raises(RegistryError, match=message) as info:
        client.digest_of("team/app", "v1")
    assert "\n" not in str(info.value)
    assert "wrong-password" not in str(info.value) and PASSWORD not in str(info.value)
