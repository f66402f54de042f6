"""Image references: Docker's grammar, Docker Hub's library/ rule, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.registry import ImageRef, InvalidImageRef

D = "sha256:" + "ab" * 32

PARSED = [
    # (text, registry, repository, tag, digest)
    ("python", "docker.io", "library/python", None, None),
    ("python:3.11", "docker.io", "library/python", "3.11", None),
    ("bitnami/python:3.11", "docker.io", "bitnami/python", "3.11", None),
    ("docker.io/python:3.11", "docker.io", "library/python", "3.11", None),
    ("index.docker.io/library/python", "docker.io", "library/python", None, None),
    ("127.0.0.1:5000/mlenv/python:3.11-bookworm", "127.0.0.1:5000", "mlenv/python",
     "3.11-bookworm", None),
    ("localhost/env", "localhost", "env", None, None),
    ("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", None),
    ("ghcr.io/org/img@" + D, "ghcr.io", "org/img", None, D),
    ("ghcr.io/org/img:v1@" + D, "ghcr.io", "org/img", "v1", D),
    ("[::1]:5000/env:x", "[::1]:5000", "env", "x", None),
    ("registry.example.com/a.b/c_d/e__f/g-h---i", "registry.example.com", "a.b/c_d/e__f/g-h---i",
     None, None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), PARSED)
def test_parse(text: str, registry: str, repository: str, tag: str | None, digest: str | None):
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ImageRef.parse(str(ref)) == ref
    assert ref.is_pinned == (digest is not None)


INVALID = [
    ("", "empty"),
    ("Python:3.11", "repository name 'Python'"),
    ("python:", "tag ''"),
    ("python:-x", "tag '-x'"),
    ("python@sha256:abc", "digest 'sha256:abc'"),
    ("python@" + D + "@" + D, "more than one '@'"),
    ("127.0.0.1:5000/", "repository name (empty)"),
    ("a b", "spaces"),
    ("ghcr.io/org//img", "repository name (empty)"),
    ("python:" + "x" * 129, "tag"),
]


@pytest.mark.parametrize(("text", "says"), INVALID)
def test_invalid_refs_say_which_part(text: str, says: str):
    with pytest.raises(InvalidImageRef) as info:
        ImageRef.parse(text)
    assert says in str(info.value)
    assert isinstance(info.value, MlenvError)
    assert isinstance(info.value, ValueError)


def test_by_digest_drops_the_tag_and_pins():
    ref = ImageRef.parse("127.0.0.1:5000/mlenv/env:abc").by_digest(D)
    assert str(ref) == f"127.0.0.1:5000/mlenv/env@{D}"
    assert ref.is_pinned
    assert ref.reference == D
    with pytest.raises(InvalidImageRef):
        ref.by_digest("sha256:nothex")


def test_reference_defaults_to_latest():
    assert ImageRef.parse("python").reference == "latest"
    assert ImageRef.parse("python:3.12").with_tag("3.11").tag == "3.11"


_component = st.from_regex(r"[a-z0-9]{1,5}(?:[._-][a-z0-9]{1,4}){0,2}", fullmatch=True)
_hosts = st.sampled_from(["docker.io", "127.0.0.1:5000", "ghcr.io", "localhost", "reg.io:443"])


@given(
    host=_hosts,
    parts=st.lists(_component, min_size=1, max_size=3),
    tag=st.none() | st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    digest=st.none() | st.from_regex(r"sha256:[a-f0-9]{64}", fullmatch=True),
)
def test_str_parse_round_trip(host: str, parts: list[str], tag: str | None, digest: str | None):
    if host == "docker.io" and len(parts) == 1:
        parts = ["library", *parts]
    ref = ImageRef(host, "/".join(parts), tag, digest)
    assert ImageRef.parse(str(ref)) == ref
