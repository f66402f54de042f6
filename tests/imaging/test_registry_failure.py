"""Which daemon a failed build or pull is blamed on, from the words BuildKit
and the Docker engine use (fast tier: the lines are theirs, as seen in the
fault tests of tests/faults)."""

from __future__ import annotations

from pulumi_mlenv.compute.docker_target import pull_failure
from pulumi_mlenv.imaging.registry_failure import registry_failure

BK = "unix:///run/buildkit/buildkitd.sock"
PUSH = (
    "error: failed to solve: failed to push 127.0.0.1:41234/faults/mlenv/env:abc: failed to do"
    ' request: Head "http://127.0.0.1:41234/v2/faults/mlenv/env/blobs/sha256:0f": dial tcp'
    " 127.0.0.1:41234: connect: connection refused"
)
PULL = (
    "error: failed to solve: 127.0.0.1:41234/base:1: failed to resolve source metadata for"
    ' 127.0.0.1:41234/base:1: failed to do request: Head "http://127.0.0.1:41234/v2/base/'
    'manifests/1": dial tcp 127.0.0.1:41234: connect: connection refused'
)


def test_a_refused_push_blames_the_registry_by_address() -> None:
    found = registry_failure(PUSH, BK)
    assert found is not None
    assert (found.host, found.action, found.reason) == (
        "127.0.0.1:41234",
        "pushing the image",
        "connection refused",
    )
    assert found.message().startswith("registry 127.0.0.1:41234 did not answer while pushing")


def test_a_refused_pull_of_the_base_blames_the_registry() -> None:
    found = registry_failure(PULL, BK)
    assert found is not None and found.host == "127.0.0.1:41234"
    assert found.action == "pulling an image the build starts from"


def test_the_daemon_itself_or_a_build_error_is_not_the_registry() -> None:
    own = "dial tcp 127.0.0.1:1234: connect: connection refused"
    assert registry_failure(own, "tcp://127.0.0.1:1234") is None
    assert registry_failure("ERROR: No matching distribution found for nope", BK) is None


def test_a_pull_the_engine_could_not_make_names_the_registry() -> None:
    said = (
        "500 Server Error for http+docker://localhost/v1.41/images/create: Internal Server Error"
        ' ("Get "http://127.0.0.1:41234/v2/": dial tcp 127.0.0.1:41234: connect: connection'
        ' refused")'
    )
    line = pull_failure("127.0.0.1:41234/ns/env@sha256:" + "a" * 64, said)
    assert line.startswith("registry 127.0.0.1:41234 did not answer while the engine pulled")
    assert "(connection refused)" in line and "\n" not in line
    assert pull_failure("r/x@sha256:1", "manifest unknown").startswith("pulling r/x@sha256:1:")
    # Stopped in the middle: how far the pull got, and that it is worth a rerun.
    mid = pull_failure("127.0.0.1:41234/ns/env@sha256:" + "a" * 64, said, "2.8 MB of 30.0 MB")
    assert mid.startswith("registry 127.0.0.1:41234 stopped answering while the engine pulled")
    assert "(after 2.8 MB of 30.0 MB; connection refused): start it and run again" in mid
