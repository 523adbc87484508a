"""The real app in headless Chromium (Debian's, never a downloaded one), as a user drives it:
upload real videos, watch them index, search, open the heatmap, label, restart, find the label;
then label, fine-tune, watch, switch the index to the new adapter, search again, roll back.

Screenshots of each step go to ``test-artifacts/screenshots/``. With ``UPDATE_DOCS_IMAGES=1``
the Search, Explain and Train ones are also copied to ``docs/images/`` for the README (not by
default, so that a test run leaves the checkout as it found it).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.app.conftest import AppServer, copy_store
from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_IMAGES = REPO_ROOT / "docs" / "images"
SPOKEN = "bin blue at f two now"  # the sentence spoken in grid_lipnet/bbaf2n.mpg
UPLOADS = ("corpus/grid_lipnet/bbaf2n.mpg", "corpus/pyscenedetect/counter.mp4")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def search(page: Page, text: str) -> None:
    open_tab(page, "Search")
    page.locator("#query textarea, #query input").first.fill(text)
    page.locator("#search-button").click()


def snap(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_app_opens_on_an_empty_store(
    app_factory: Callable[..., AppServer], tmp_path: Path, page: Page, screenshots: Path
) -> None:
    server = app_factory(tmp_path / "store", "--no-demo")
    page.goto(server.url)
    expect(page.locator("#status")).to_contain_text("0 videos", timeout=30_000)
    search(page, "anything at all")
    expect(page.locator("#results")).to_contain_text("No results", timeout=30_000)
    snap(page, screenshots, "00-empty-store")


def test_upload_search_explain_label_and_restart(
    app_factory: Callable[..., AppServer],
    tmp_path: Path,
    page: Page,
    screenshots: Path,
    shared_data: Path,
) -> None:
    store = tmp_path / "store"
    server = app_factory(store, "--no-demo")
    page.goto(server.url)
    expect(page.locator("#status")).to_contain_text("0 videos", timeout=30_000)

    # upload two real videos and index them, watching the progress per file
    open_tab(page, "Upload & index")
    page.locator("#upload input[type=file]").set_input_files(
        [str(shared_data / name) for name in UPLOADS]
    )
    expect(page.locator("#upload").get_by_role("row")).to_have_count(2, timeout=30_000)
    page.locator("#index-button").click()
    files = page.locator("#index-files")
    expect(files).to_contain_text("indexing", timeout=60_000)
    expect(page.locator("#index-progress")).to_contain_text("stages", timeout=60_000)
    snap(page, screenshots, "01-indexing")
    done = """() => document.querySelector('#index-files').innerText.split('\\n')
        .filter(cell => cell.trim() === 'indexed').length === 2"""
    page.wait_for_function(done, timeout=240_000)
    expect(page.locator("#collection")).to_contain_text("counter.mp4", timeout=30_000)
    snap(page, screenshots, "02-indexed")

    # search a phrase spoken in one of them: it comes first
    search(page, SPOKEN)
    first = page.locator("#results .vs-card").first
    expect(first).to_contain_text("bbaf2n.mpg", timeout=30_000)
    expect(first).to_have_attribute("data-rank", "1")
    ready = "() => [...document.querySelectorAll('#results video')].every(v => v.readyState >= 2)"
    page.wait_for_function(ready, timeout=30_000)  # the players show their first picture
    publish(snap(page, screenshots, "03-search"), "search.png")

    # its heatmap
    open_tab(page, "Explain")
    chosen = page.locator("#explain-result input").first
    expect(chosen).to_have_value(re.compile(r"^#1 bbaf2n\.mpg"), timeout=30_000)
    expect(page.locator("#heatmap img")).to_be_visible(timeout=30_000)
    expect(page.locator("#explain-matches")).to_contain_text("bin", timeout=30_000)
    publish(snap(page, screenshots, "04-explain"), "explain.png")

    # label it relevant
    open_tab(page, "Label")
    expect(page.locator("#label-query textarea, #label-query input").first).to_have_value(SPOKEN)
    expect(page.locator("#label-result input[type=radio]").first).to_be_checked()
    page.locator("#label-relevant").click()
    expect(page.locator("#label-message")).to_contain_text("Saved", timeout=30_000)
    expect(page.locator("#labels")).to_contain_text("bbaf2n.mpg")
    snap(page, screenshots, "05-labelled")

    # restart on the same store: the label is still there
    server.stop()
    server = app_factory(store, "--no-demo")
    page.goto(server.url)
    expect(page.locator("#status")).to_contain_text("2 videos", timeout=30_000)
    search(page, SPOKEN)
    expect(page.locator("#results .vs-card").first).to_contain_text("bbaf2n.mpg", timeout=30_000)
    open_tab(page, "Label")
    labels = page.locator("#labels")
    expect(labels).to_contain_text("bbaf2n.mpg", timeout=30_000)
    expect(labels).to_contain_text("relevant")
    expect(labels).not_to_contain_text("not relevant")
    snap(page, screenshots, "06-label-after-restart")


def test_label_train_watch_switch_and_search_again(
    app_factory: Callable[..., AppServer],
    tmp_path: Path,
    page: Page,
    screenshots: Path,
    indexed_pair: Path,
) -> None:
    server = app_factory(copy_store(indexed_pair, tmp_path / "store"), "--no-demo")
    page.goto(server.url)
    expect(page.locator("#status")).to_contain_text("2 videos", timeout=30_000)

    # a label for the spoken sentence
    search(page, SPOKEN)
    expect(page.locator("#results .vs-card").first).to_contain_text("bbaf2n.mpg", timeout=30_000)
    open_tab(page, "Label")
    expect(page.locator("#label-result input[type=radio]").first).to_be_checked(timeout=30_000)
    page.locator("#label-relevant").click()
    expect(page.locator("#label-message")).to_contain_text("Saved", timeout=30_000)

    # what training would use, tiny settings, start, and watch it run
    open_tab(page, "Train")
    preview = page.locator("#train-preview")
    expect(preview).to_contain_text("1 label", timeout=30_000)
    expect(preview).to_contain_text("synthetic queries")
    progress = page.locator("#train-progress")
    expect(progress).to_contain_text("No training run", timeout=30_000)
    page.locator("#train-epochs input").fill("1")
    page.locator("#train-start").click()
    expect(progress).to_contain_text(re.compile(r"Training job \d{8}-\d{6}"), timeout=30_000)
    expect(page.locator("#train-cancel")).to_be_enabled(timeout=30_000)
    job_id = re.search(r"\d{8}-\d{6}-\w+", progress.inner_text()).group()
    snap(page, screenshots, "07-training")

    # a reload while it runs attaches to the same job and goes on following it
    page.reload()
    open_tab(page, "Train")
    expect(progress).to_contain_text(job_id, timeout=30_000)
    expect(progress).to_contain_text("completed", timeout=240_000)
    expect(progress).to_contain_text(re.compile(r"step (\d+)/\1"))
    metrics = page.locator("#train-metrics")
    expect(metrics).to_contain_text("R@1", timeout=30_000)
    expect(metrics).to_contain_text("loss")
    expect(page.locator("#train-loss canvas, #train-loss svg").first).to_be_visible()
    expect(page.locator("#train-start")).to_be_enabled()
    expect(page.locator("#train-cancel")).to_be_disabled()
    publish(snap(page, screenshots, "08-trained"), "train.png")

    # and after it has finished, a reload shows its result
    page.reload()
    open_tab(page, "Train")
    expect(progress).to_contain_text("completed", timeout=30_000)
    expect(metrics).to_contain_text("R@1", timeout=30_000)

    # switch the index to the new adapter: it re-encodes, then switches
    switch = page.locator("#train-switch")
    expect(switch).to_be_enabled(timeout=30_000)
    switch.click()
    expect(progress).to_contain_text("Switched to version v1", timeout=180_000)
    versions = page.locator("#train-versions")
    expect(versions).to_contain_text("v1", timeout=30_000)
    expect(page.locator("#status")).to_contain_text("lora", timeout=30_000)
    expect(switch).to_be_disabled()  # its adapter is the one in use now
    snap(page, screenshots, "09-switched")

    # search again: the new version answers
    search(page, SPOKEN)
    expect(page.locator("#results .vs-card").first).to_contain_text("bbaf2n.mpg", timeout=30_000)
    expect(page.locator("#results .vs-card")).to_have_count(2)
    snap(page, screenshots, "10-search-after-switch")

    # roll back to the version first indexed
    open_tab(page, "Train")
    page.locator("#train-version input").click()
    page.get_by_role("option", name=re.compile(r"^v0")).click()
    page.locator("#train-activate").click()
    expect(page.locator("#train-message")).to_contain_text("v0", timeout=60_000)
    expect(page.locator("#status")).not_to_contain_text("lora", timeout=30_000)
    expect(switch).to_be_enabled()  # and it can be switched to again
    search(page, SPOKEN)
    expect(page.locator("#results .vs-card").first).to_contain_text("bbaf2n.mpg", timeout=30_000)


def publish(screenshot: Path, name: str) -> None:
    """Copy a step's screenshot to ``docs/images/name`` when asked (``UPDATE_DOCS_IMAGES=1``)."""
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, DOCS_IMAGES / name)
