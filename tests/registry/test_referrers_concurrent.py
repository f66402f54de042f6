"""Attaching to one image from many clients at once (two Environments of
one hash in one `pulumi up` attach their SBOM and provenance together), on
the real registry: every referrer ends in the image's index, though the
registry has no compare-and-swap and answers 500 to a read of a tag being
rewritten."""

from __future__ import annotations

import threading
import uuid

import pytest
from registry_helpers import PushImage

from pulumi_mlenv.registry.referrers import Referrer, ReferrersClient

pytestmark = pytest.mark.docker

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def test_eight_clients_attaching_at_once_all_end_in_the_index(
    registry_address: str, namespace: str, push_image: PushImage
) -> None:
    repository = f"{namespace}/env"
    digest = push_image(repository, "v1", content=uuid.uuid4().bytes)
    with ReferrersClient(registry_address) as probe:
        size = len(probe.raw_manifest(repository, digest)[2])  # type: ignore[index]
    subject = {"mediaType": MANIFEST, "digest": digest, "size": size}
    start = threading.Barrier(8)
    made: list[Referrer] = []
    failed: list[BaseException] = []

    def attach(i: int) -> None:
        try:
            with ReferrersClient(registry_address) as client:  # one client a process would have
                start.wait()
                made.append(
                    client.attach(
                        repository,
                        subject,
                        artifact_type="application/vnd.test+json",
                        payload=f'{{"n": {i}}}'.encode(),
                        media_type="application/json",
                        annotations={"n": str(i)},
                    )
                )
        except BaseException as exc:  # the test reports any failure of a thread
            failed.append(exc)

    threads = [threading.Thread(target=attach, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == [] and len(made) == 8
    with ReferrersClient(registry_address) as client:
        listed = client.referrers(repository, digest, prefer_tag=True)
    assert sorted(r.digest for r in listed) == sorted(r.digest for r in made)
