"""Search by picture in headless Chromium: paste-or-upload a picture, "More like this" on a card,
and Explain's region pairs. Screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from backend.collection import Collection
from backend.config import Settings
from tests.app.conftest import AppServer
from tests.app.test_browser import browser, open_tab, page, search, snap  # noqa: F401


def test_upload_a_picture_then_more_like_this_then_explain(
    app_factory: Callable[..., AppServer],
    tmp_path: Path,
    page: Page,  # noqa: F811
    screenshots: Path,
    picture_videos,
) -> None:
    store = tmp_path / "store"
    collection = Collection(Settings(store=str(store)))
    for video in picture_videos:
        collection.store.add_video(video, collection.encoder.encode_video(video))
    server = app_factory(store, "--no-demo")
    page.goto(server.url)
    expect(page.locator("#status")).to_contain_text("4 videos", timeout=60_000)

    # a photo of the street video's frame, uploaded into the picture box, searches at once
    street = picture_videos[2]
    photo = tmp_path / "street.jpg"
    Image.fromarray(street.frames[6].image[20:-20, 40:-40]).save(photo, quality=50)
    open_tab(page, "Search")
    page.locator("#query-image input[type=file]").set_input_files(str(photo))
    first = page.locator("#results .vs-card").first
    expect(first).to_contain_text("bikes.mp4", timeout=60_000)
    expect(first).to_contain_text("looks like ★")
    snap(page, screenshots, "20-search-by-picture")

    # text search, then "More like this" on the parakeet's card searches with its frame
    page.locator("#query-image").get_by_role("button", name="Remove Image").click()
    search(page, "parakeet")
    parakeet = page.locator("#results .vs-card", has_text="parakeet.mp4").first
    expect(parakeet).to_be_visible(timeout=60_000)
    parakeet.locator("button.vs-more").click()
    expect(page.locator("#results .vs-card").first).to_contain_text("parakeet.mp4", timeout=60_000)
    expect(page.locator("#results .vs-card").first).to_contain_text("looks like ★")
    expect(page.locator("#query textarea, #query input").first).to_have_value("")
    snap(page, screenshots, "21-more-like-this")

    # Explain shows the picture's regions against the frame's
    open_tab(page, "Explain")
    expect(page.locator("#explain-matches")).to_contain_text("query whole", timeout=60_000)
    expect(page.locator("#heatmap-frame img")).to_be_visible(timeout=30_000)
    snap(page, screenshots, "22-explain-picture")
