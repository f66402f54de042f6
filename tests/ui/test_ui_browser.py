"""`mlenv ui` end to end, as a person sees it: the real command serves a
real SQLite workspace (filled through the service, with a real run of a
script on this host), and Debian's headless Chromium loads the pages,
follows their links and reads what they show. The image builds are in
memory (the pages read records, never images); deployments and endpoints
are recorded without starting containers (the pages read what the
workspace says, not what runs). A screenshot of each page visited is kept
in test-artifacts/ui/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from support.browser import CHROMIUM_ARGS
from support.fakes import FakeWorld
from support.ui_workspace import LOG_LINE, SECRET, Filled, fill

pytestmark = pytest.mark.browser


@pytest.fixture
def filled(tmp_path: Path) -> Filled:
    return fill(FakeWorld(tmp_path), run_source=tmp_path / "project")


@pytest.fixture
def served(filled: Filled) -> Iterator[str]:
    """``mlenv ui --port 0`` over the workspace; its URL from stdout."""
    cli = [str(Path(sys.executable).parent / "mlenv"), "ui", "--port", "0"]
    process = subprocess.Popen(
        [*cli, "--workspace", filled.workspace_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MLENV_CACHE_DIR": str(filled.settings.cache_dir)},
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
        assert not url.endswith(":0/")
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate()
        assert process.returncode == 0, err


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[BrowserContext]:
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile for every test
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _cells(page: Page, table: str) -> list[list[str]]:
    rows = page.locator(f"table.{table} tr")
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
        if rows.nth(i).locator("td").count()
    ]


def test_a_person_walks_from_an_environment_to_its_endpoint(
    served: str, filled: Filled, browser: BrowserContext, artifacts: Path
) -> None:
    page = browser.new_page()
    run_id = filled.run.id
    assert filled.run.status.value == "completed"

    page.goto(served)
    expect(page.locator("h1")).to_have_text("Workspace")
    [row] = _cells(page, "environments")
    assert row[:4] == ["train", "2", "2", "train:2"]
    _shot(page, artifacts, "1-workspace")

    # The environment: its versions and what changed between them.
    page.get_by_role("link", name="train", exact=True).click()
    expect(page.locator("h1")).to_have_text("Environment train")
    assert [r[0] for r in _cells(page, "versions")] == ["train:1", "train:2"]
    expect(page.locator("ul.definition")).to_have_text("pip: six==1.16.0 -> six==1.17.0")
    expect(page.locator("ul.installed")).to_have_text("six 1.16.0 -> 1.17.0")
    _shot(page, artifacts, "2-environment")
    page.select_option("select[name=old]", "train:2")
    page.select_option("select[name=new]", "train:1")
    page.get_by_role("button", name="compare").click()
    expect(page.locator("h1")).to_have_text("train:2 → train:1")
    expect(page.locator("ul.definition")).to_have_text("pip: six==1.17.0 -> six==1.16.0")
    page.go_back()

    # A version: packages, lock, variables by name only; then its run, in
    # the lineage picture.
    page.locator("table.versions").get_by_role("link", name="train:1").click()
    expect(page.locator("h1")).to_have_text("Environment version train:1")
    expect(page.locator("ul.packages")).to_contain_text("pip: six==1.16.0")
    expect(page.locator("pre.lock")).to_have_text("six==1.16.0")
    assert _cells(page, "variables") == [
        ["API_TOKEN", "secret: read from $API_TOKEN when a run starts"],
        ["GREETING", "hello"],
    ]
    assert SECRET not in page.content()
    node = page.locator(f'svg.lineage g.node[data-id="run:{run_id}"]')
    expect(node.locator("text.label")).to_have_text(f"run {run_id[:8]}")
    _shot(page, artifacts, "3-version")
    node.locator("a").click()

    # The run: status, log and outputs, and the model it made.
    expect(page.locator("h1")).to_have_text(f"Run {run_id}")
    expect(page.locator("table.fields")).to_contain_text("completed")
    expect(page.locator("pre.log")).to_contain_text(LOG_LINE)
    assert _cells(page, "outputs") == [["model.txt", "8 B"]]
    _shot(page, artifacts, "4-run")
    page.locator("table.models").get_by_role("link", name="iris:1").click()

    # The model: lineage back to the run and the environment's digest.
    expect(page.locator("h1")).to_have_text("Model iris:1")
    lineage = page.locator("table.lineage-fields")
    expect(lineage).to_contain_text(run_id)
    expect(lineage).to_contain_text("train:1")
    expect(lineage).to_contain_text(filled.images[0].rsplit("@", 1)[1])
    _shot(page, artifacts, "5-model")

    # Serving: the endpoint's weights.
    page.get_by_role("link", name="deployments", exact=True).first.click()
    assert [r[:4] for r in _cells(page, "deployments")] == [
        ["blue", "blue-0001", "iris:1", "train:1"],
        ["green", "green-0001", "iris:1", "train:1"],
    ]
    traffic = [[r[0], r[2], r[3]] for r in _cells(page, "traffic")]
    assert traffic == [["blue", "90", "90%"], ["green", "10", "10%"]]
    _shot(page, artifacts, "6-deployments")

    # The whole picture: one box per thing, each linked to its page.
    page.get_by_role("link", name="lineage", exact=True).click()
    labels = page.locator("svg.lineage g.node text.label").all_text_contents()
    assert sorted(labels) == sorted(
        ["train:1", "train:2", f"run {run_id[:8]}", "iris:1", "blue", "green", "scoring"]
    )
    shares = page.locator("svg.lineage text.edge-label").all_text_contents()
    assert sorted(shares) == ["10%", "90%"]
    _shot(page, artifacts, "7-lineage")
    page.locator('svg.lineage g.node[data-id="model:iris:1"] a').click()
    expect(page.locator("h1")).to_have_text("Model iris:1")
