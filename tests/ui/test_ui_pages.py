"""The pages as served (Starlette's test client, in-process): every value
escaped, no secret shown, read-only, this machine only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pulumi_mlenv.service import models
from pulumi_mlenv.ui import create_app
from support.fakes import FakeWorld
from support.ui_workspace import LOG_LINE, SECRET, Filled, fill

HOSTILE = "<script>alert('x')</script>"
PAGES = [
    "/",
    "/environments/train",
    "/environments/train/1",
    "/environments/train/2",
    "/compare?old=train:1&new=train:2",
    "/runs",
    "/runs/a1b2c3d4e5f6",
    "/models",
    "/models/iris/1",
    "/models/evil/1",
    "/deployments",
    "/lineage",
    "/lineage?focus=model:iris:1",
]


@pytest.fixture
def filled(tmp_path: Path) -> Filled:
    filled = fill(FakeWorld(tmp_path))
    # Untrusted text everywhere a page shows it: a log line, an output's
    # name, a model's description and file name.
    with open(filled.run.logs_path, "a") as log:
        log.write(f"{HOSTILE}\n")
    (Path(filled.run.outputs_path) / "<b onmouseover=alert(1)>.txt").write_text("x")
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "<img src=x onerror=alert(1)>.pkl").write_text("m")
    models.register_model(
        "evil", evil, settings=filled.settings, workspace_url=filled.workspace_url,
        description=HOSTILE,
    )  # fmt: skip
    return filled


@pytest.fixture
def client(filled: Filled) -> Iterator[TestClient]:
    with TestClient(create_app(filled.workspace_url), base_url="http://127.0.0.1") as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_escaped_with_no_secret(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.text
    assert "<script" not in page.text
    assert "<img" not in page.text
    assert "<b " not in page.text
    assert SECRET not in page.text
    assert "pa55word" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_untrusted_text_is_shown_as_text(client: TestClient) -> None:
    run = client.get("/runs/a1b2c3d4e5f6").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in run
    assert "epoch 3 &lt;done&gt; &amp; loss=0.25" in run
    model = client.get("/models/evil/1").text
    assert "&lt;img src=x onerror=alert(1)&gt;.pkl" in model
    assert "&lt;b onmouseover=alert(1)&gt;.txt" in run
    assert LOG_LINE not in run  # only in its escaped form


def test_the_run_page_shows_status_log_outputs_and_masked_compute(client: TestClient) -> None:
    page = client.get("/runs/a1b2c3d4e5f6").text
    assert 'class="status-completed"' in page
    assert "model.txt" in page
    assert "tcp://***@engine.example:2376" in page
    assert "GREETING" in page and "API_TOKEN" in page  # names only
    assert 'href="/models/iris/1"' in page


def test_the_environment_page_says_what_changed(client: TestClient) -> None:
    page = client.get("/environments/train").text
    assert "pip: six==1.16.0 -&gt; six==1.17.0" in page
    assert "six 1.16.0 -&gt; 1.17.0" in page
    assert 'href="/environments/train/2"' in page


def test_the_endpoint_shows_its_weights(client: TestClient) -> None:
    page = client.get("/deployments").text
    assert "90%" in page and "10%" in page
    assert "http://127.0.0.1:41010/score" in page


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_nothing_but_reading(client: TestClient, method: str) -> None:
    answer = getattr(client, method)("/runs")
    assert answer.status_code == 405
    assert "read-only" in answer.text


def test_unknown_things_are_a_404_with_the_reason(client: TestClient) -> None:
    answer = client.get("/runs/" + "%3Cb%3Ezz")
    assert answer.status_code == 404
    assert "&lt;b&gt;zz" in answer.text and "<b>zz" not in answer.text
    assert client.get("/environments/nope").status_code == 404
    assert client.get("/models/iris/9").status_code == 404
    assert client.get("/compare?old=train:1&new=train:9").status_code == 404


def test_another_host_name_is_refused(filled: Filled) -> None:
    # A site that points its own name at 127.0.0.1 cannot read the pages.
    with TestClient(create_app(filled.workspace_url), base_url="http://evil.example") as other:
        assert other.get("/").status_code == 400


def test_a_missing_workspace_file_is_named_not_created(tmp_path: Path) -> None:
    from pulumi_mlenv.errors import MlenvError
    from pulumi_mlenv.service.browse import check_exists

    path = tmp_path / "nothing.db"
    with pytest.raises(MlenvError, match=r"no workspace at .*nothing\.db"):
        check_exists(f"sqlite:///{path}")
    assert not path.exists()


def test_many_versions_show_the_newest_changes_and_say_so(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi_mlenv.ui import app

    monkeypatch.setattr(app, "CHANGES_SHOWN", 0)
    page = client.get("/environments/train").text
    assert "six==1.16.0 -&gt; six==1.17.0" not in page
    assert "compare older versions with the form below" in page
    assert 'action="/compare"' in page and 'method="get"' in page


def test_a_failed_run_shows_why_without_credentials(filled: Filled, client: TestClient) -> None:
    from dataclasses import replace

    from pulumi_mlenv.workspace import RunStatus, RunStore

    store = RunStore(filled.workspace_url)
    try:
        store.add(replace(filled.run, id="f00dfeed0001", status=RunStatus.QUEUED, created_at=""))
        store.finish(
            "f00dfeed0001", RunStatus.FAILED, None,
            "registry https://bot:hunter2@registry.example unreachable",
        )  # fmt: skip
    finally:
        store.close()
    page = client.get("/runs/f00dfeed0001").text
    assert 'class="status-failed"' in page
    assert "https://***@registry.example unreachable" in page and "hunter2" not in page
    listed = client.get("/runs").text
    assert listed.index("f00dfeed0001") < listed.index("a1b2c3d4e5f6")  # newest first


def test_a_running_run_reloads_until_it_ends(filled: Filled, client: TestClient) -> None:
    from dataclasses import replace

    from pulumi_mlenv.workspace import RunStatus, RunStore

    store = RunStore(filled.workspace_url)
    try:
        store.add(replace(filled.run, id="beefbeef0002", status=RunStatus.QUEUED, created_at=""))
        store.mark_running("beefbeef0002")
    finally:
        store.close()
    assert '<meta http-equiv="refresh" content="5">' in client.get("/runs/beefbeef0002").text
    assert "http-equiv" not in client.get("/runs/a1b2c3d4e5f6").text  # completed


def test_the_workspace_url_is_shown_without_its_password() -> None:
    # No page here reads the database: the 404 page shows the header alone.
    url = "postgresql+psycopg://mlenv:hunter2@db.example:5432/mlenv"
    with TestClient(create_app(url), base_url="http://127.0.0.1") as client:
        page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "postgresql+psycopg://***@db.example:5432/mlenv" in page.text
    assert "hunter2" not in page.text


def test_a_team_workspace_is_shown_the_same(tmp_path: Path, workspace_url: str) -> None:
    """SQLite, and PostgreSQL in the docker tier (the server setup starts)."""
    filled = fill(FakeWorld(tmp_path), workspace_url=workspace_url)
    with TestClient(create_app(filled.workspace_url), base_url="http://127.0.0.1") as client:
        home = client.get("/").text
        assert 'href="/environments/train"' in home and 'href="/models/iris/1"' in home
        changes = client.get("/environments/train").text
        assert "pip: six==1.16.0 -&gt; six==1.17.0" in changes
