"""The standard library's manifest check asks only a plain-HTTP registry
without a proxy in the way; everything else is left to the registry client
(no request made). The answers themselves are compared with the client's on
the real registry (test_registry_resolve.py)."""

from __future__ import annotations

import pytest
from registry_helpers import free_port

from pulumi_mlenv.registry import request_count, reset_request_count
from pulumi_mlenv.registry.client import MANIFEST_MEDIA_TYPES
from pulumi_mlenv.registry.plain_head import MANIFEST_ACCEPT, plain_http_digest


def test_it_accepts_what_the_client_accepts():
    assert ", ".join(MANIFEST_MEDIA_TYPES) == MANIFEST_ACCEPT


@pytest.mark.parametrize("host", ["ghcr.io", "docker.io", "registry.example:443", "[::1]:5000"])
def test_a_tls_or_odd_host_is_left_to_the_client(host: str):
    reset_request_count()
    assert plain_http_digest(host, "team/base", "1") is None
    assert request_count() == 0


def test_a_proxy_in_the_environment_is_left_to_the_client(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    reset_request_count()
    assert plain_http_digest("127.0.0.1:5000", "team/base", "1") is None
    assert request_count() == 0


def test_nothing_listening_is_no_answer_not_an_error():
    assert plain_http_digest(f"127.0.0.1:{free_port()}", "team/base", "1") is None
