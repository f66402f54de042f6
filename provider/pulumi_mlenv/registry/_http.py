"""HTTP plumbing for the registry client: scheme choice, auth, counting, error text.

Auth follows the distribution spec: a request goes out anonymously (or with a
cached token); a 401 carries a ``WWW-Authenticate`` challenge, either
``Basic`` (retry with the credentials) or ``Bearer realm=...,service=...,
scope=...`` (fetch a token from the realm, with Basic credentials when given,
and retry with it). Credentials live only in this object and in request
headers: they are never logged, never put in an exception, never in a repr.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, BinaryIO

import requests

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry._count import count as _count
from pulumi_mlenv.registry._count import request_count
from pulumi_mlenv.registry.hosts import is_insecure_host

__all__ = ["Transport", "is_insecure_host", "one_line_reason", "request_count"]

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def one_line_reason(exc: BaseException) -> str:
    """A short, single-line reason for a transport failure (no URLs, no headers)."""
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        inner = re.search(r"SSLError\((?:\d+, )?['\"]?([^'\"]+)", text)
        return "TLS error: " + (inner.group(1) if inner else "handshake failed").strip()
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(1).strip().lower()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """Parse ``Bearer realm="x",service="y"`` into ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


class Transport:
    """One registry host: base URL, a session, credentials and token cache."""

    def __init__(
        self,
        host: str,
        *,
        username: str | None,
        password: str | None,
        timeout: float,
        ca_bundle: str | None,
        scheme: str | None = None,
    ) -> None:
        self.host = host
        # Docker Hub's API answers on another name than the one in references.
        api_host = "registry-1.docker.io" if host == "docker.io" else host
        scheme = scheme or ("http" if is_insecure_host(host) else "https")
        self.base_url = f"{scheme}://{api_host}"
        self._auth = (username, password or "") if username is not None else None
        self._timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = True
        if ca_bundle:
            self._session.verify = ca_bundle
        self._tokens: dict[str, str] = {}
        self._basic = False

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r}, auth={'yes' if self._auth else 'no'})"

    @property
    def has_credentials(self) -> bool:
        """Whether a username was given (the values themselves stay private)."""
        return self._auth is not None

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        _count()
        try:
            return self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise RegistryError(
                f"registry {self.host} unreachable (tried {url}): {one_line_reason(exc)}"
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str = "",
        headers: Mapping[str, str] | None = None,
        data: bytes | BinaryIO | None = None,
        anonymous_401_ok: bool = False,
        stream: bool = False,
    ) -> requests.Response:
        """Send ``method path`` and answer one auth challenge if the registry asks.

        ``scope`` is the token scope to ask for when the challenge names none
        (``repository:team/env:pull``). Returns the final response, whatever
        its status; transport failures raise ``RegistryError``. With
        ``anonymous_401_ok`` and no credentials, a 401 is returned as is
        instead of being answered. ``stream`` leaves the body unread (large
        blobs go to a file in chunks).
        """
        url = self.base_url + path
        hdrs = dict(headers or {})
        cached = self._tokens.get(scope)
        kwargs: dict[str, Any] = {"headers": hdrs, "data": data, "stream": stream}
        if cached:
            hdrs["Authorization"] = f"Bearer {cached}"
        elif self._basic and self._auth:
            kwargs["auth"] = self._auth
        response = self._send(method, url, **kwargs)
        if response.status_code != 401 or (anonymous_401_ok and not self._auth):
            return response
        scheme, params = _challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            return self._with_basic(method, url, hdrs, data, stream)
        if scheme == "bearer" and params.get("realm"):
            token = self._token(params, params.get("scope") or scope)
            self._tokens[scope] = token
            hdrs["Authorization"] = f"Bearer {token}"
            response = self._send(method, url, headers=hdrs, data=data, stream=stream)
            if response.status_code == 401:
                raise RegistryError(
                    f"registry {self.host} refused access to {url} "
                    f"({'with' if self._auth else 'without'} credentials)"
                )
            return response
        raise RegistryError(
            f"registry {self.host} answered 401 for {url} with an auth scheme we do not "
            f"support ({scheme or 'none'})"
        )

    def _with_basic(
        self, method: str, url: str, hdrs: dict[str, str], data: Any, stream: bool
    ) -> requests.Response:
        """The request again with the login (Basic auth), kept for the next ones."""
        if not self._auth:
            raise RegistryError(
                f"registry {self.host} requires credentials (Basic auth) for {method} "
                f"{url} and none were given"
            )
        self._basic = True
        response = self._send(method, url, headers=hdrs, data=data, auth=self._auth, stream=stream)
        if response.status_code == 401:
            raise RegistryError(f"registry {self.host} refused the credentials for {url}")
        return response

    def _token(self, params: Mapping[str, str], scope: str) -> str:
        query = {"service": params.get("service", "")}
        if scope:
            query["scope"] = scope
        realm = params["realm"]
        _count()
        try:
            answer = self._session.get(realm, params=query, auth=self._auth, timeout=self._timeout)
        except requests.RequestException as exc:
            raise RegistryError(
                f"registry {self.host}: token service unreachable (tried {realm}): "
                f"{one_line_reason(exc)}"
            ) from None
        if answer.status_code in (401, 403):
            raise RegistryError(
                f"registry {self.host}: token service {realm} refused "
                f"{'the credentials' if self._auth else 'anonymous access'} "
                f"(HTTP {answer.status_code})"
            )
        try:
            body = answer.json()
            token = body.get("token") or body.get("access_token")
        except ValueError:
            token = None
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            raise RegistryError(
                f"registry {self.host}: token service {realm} gave no token "
                f"(HTTP {answer.status_code})"
            )
        return token
