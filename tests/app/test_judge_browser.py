"""Building a test collection in the real app, by keyboard only, as two assessors would: import
a three-query set, pool it, judge every candidate (grades, a moment, a modality, an undo), see
the agreement and the disagreements, settle one, export qrels. The exported file and the kappa
are compared with values computed here from the keys that were pressed.

Nothing is clicked: fields and buttons are reached with focus (what Tab does) and used with
keys; the file to import is handed to the upload field (what a file dialog does).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from backend.store.labels import LabelStore
from tests.app.conftest import AppServer
from tests.app.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import REPO_ROOT, run_cli

DEMO = ("banana_bread.mp4", "weather_report.mp4")
QUERY_SET = (
    "j1\tset the oven to 200 degrees\tspeech\n"
    "j2\twill it rain heavily on Tuesday\tspeech\n"
    "j3\tsunny on Saturday with 24 degrees\tocr\n"
)
ANN = [2, 2, 1, 0, 1, 0, 2, 0, 1, 2]  # grades by the order candidates come
BOB = [2, 1, 1, 0, 0, 0, 2, 2, 1, 0]


@pytest.fixture(scope="module")
def demo_three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("judge") / "store"
    videos = [str(REPO_ROOT / "assets" / "demo" / name) for name in DEMO]
    done = run_cli("index", *videos, "--store", str(store))
    assert done.returncode == 0, done.stderr[-3000:]
    return store


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield browser
        browser.close()


def new_page(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(url)
    expect(page.locator("#status")).to_contain_text("videos", timeout=60_000)
    expect(page.locator("#assessor input")).to_be_editable()
    return page


def press(page: Page, target: Locator, key: str = "Enter") -> None:
    """Reach ``target`` as Tab would (focus), then press a key on it."""
    target.focus()
    page.keyboard.press(key)


def open_tab(page: Page, name: str) -> None:
    press(page, page.get_by_role("tab", name=name, exact=True))


def sign_in(page: Page, name: str) -> None:
    page.locator("#assessor input").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")


def judge_everything(page: Page, who: str, pattern: list[int]) -> dict[tuple[str, str], int]:
    """Grade every candidate of every query with keys; returns (qid, file) -> grade."""
    open_tab(page, "Judge")
    open_tab(page, "Judging")
    screen, status = page.locator("#judge-screen"), page.locator("#judge-status")
    expect(screen.locator(".jv-card")).to_be_visible(timeout=60_000)
    given: dict[tuple[str, str], int] = {}
    while True:
        card = screen.locator(".jv-card")
        if card.count() == 0:
            expect(screen.locator(".jv-done")).to_be_visible()
            if "Every pooled query is judged" in screen.inner_text():
                return given
            page.keyboard.press("q")
            expect(screen.locator(".jv-card")).to_be_visible(timeout=30_000)
            continue
        qid, name = card.get_attribute("data-qid"), card.get_attribute("data-file")
        grade = pattern[len(given) % len(pattern)]
        if not given:  # the first: a slip, undone, then the moment and modality marked
            page.keyboard.press("0")
            expect(status).to_contain_text(f"{qid} · {name} = 0 by {who}", timeout=30_000)
            page.keyboard.press("u")
            expect(status).to_contain_text("Undone", timeout=30_000)
            expect(card).to_have_attribute("data-file", name)
            page.keyboard.press("m")
            page.keyboard.press("a")
            expect(screen.locator(".jv-modality")).to_have_text("spoken")
        page.keyboard.press(str(grade))
        expect(status).to_contain_text(f"{qid} · {name} = {grade} by {who}", timeout=30_000)
        given[qid, name] = grade
        expect(screen.locator(".jv-card[data-file], .jv-done").first).to_be_visible()
        if card.count() and card.get_attribute("data-file") == name:  # (a refresh pending)
            expect(card).not_to_have_attribute("data-file", name, timeout=30_000)


def kappa(a: list[int], b: list[int]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    chance = sum(a.count(g) / n * b.count(g) / n for g in (0, 1, 2))
    return (observed - chance) / (1 - chance)


def test_two_assessors_build_a_test_collection_by_keyboard(
    app_factory: Callable[..., AppServer],
    browser: Browser,
    demo_three: Path,
    tmp_path: Path,
    screenshots: Path,
) -> None:
    store = Path(shutil.copytree(demo_three, tmp_path / "store"))
    server = app_factory(store, "--no-demo")
    queries = tmp_path / "three.tsv"
    queries.write_text(QUERY_SET)

    ann = new_page(browser, server.url)
    sign_in(ann, "ann")
    open_tab(ann, "Judge")
    open_tab(ann, "Queries")
    ann.locator("#judge-import input[type=file]").set_input_files(str(queries))
    message = ann.locator("#judge-queries-message")
    expect(message).to_contain_text("3 added", timeout=30_000)
    press(ann, ann.locator("#judge-pool"))
    expect(message).to_contain_text("Pooled 3 queries", timeout=120_000)
    expect(ann.locator("#judge-query-table")).to_contain_text("j3")

    by_ann = judge_everything(ann, "ann", ANN)
    assert {qid for qid, _ in by_ann} == {"j1", "j2", "j3"} and len(by_ann) == 6
    ann.screenshot(path=str(screenshots / "11-judged.png"), full_page=True)

    bob = new_page(browser, server.url)
    sign_in(bob, "bob")
    by_bob = judge_everything(bob, "bob", BOB)
    assert set(by_bob) == set(by_ann)

    # the agreement the app shows is the kappa of the keys pressed
    pairs = sorted(by_ann)
    expected = kappa([by_ann[p] for p in pairs], [by_bob[p] for p in pairs])
    open_tab(bob, "Agreement")
    agreement = bob.locator("#judge-agreement")
    expect(agreement).to_contain_text("cohen_kappa", timeout=30_000)
    shown = re.search(
        r"cohen_kappa \(ann vs bob\): (-?[0-9.]+) on (\d+) pairs", agreement.inner_text()
    )
    assert shown, agreement.inner_text()
    assert float(shown.group(1)) == pytest.approx(expected, abs=5e-4)
    assert int(shown.group(2)) == len(pairs)

    # the disagreements, and one settled by an adjudicator (bob, settling as grade 2)
    disputed = [p for p in pairs if by_ann[p] != by_bob[p]]
    assert disputed
    table = bob.locator("#judge-disagreements")
    for _, name in disputed:
        expect(table).to_contain_text(name)
    chosen = bob.locator("#judge-dispute input").input_value()  # the first open one
    settled = next(p for p in disputed if chosen.startswith(f"{p[0]} · {p[1]}"))
    press(bob, bob.locator("#judge-settle-2"))
    expect(bob.locator("#judge-settle-message")).to_contain_text("Settled", timeout=30_000)
    bob.screenshot(path=str(screenshots / "12-agreement.png"), full_page=True)

    # qrels: agreed pairs with their grade, the settled one with the adjudicator's
    press(bob, bob.locator("#judge-export-qrels"))
    qrels = bob.locator("#judge-qrels textarea")
    expect(qrels).not_to_have_value("", timeout=30_000)
    lines = [f"{q} 0 {n} {by_ann[q, n]}" for q, n in pairs if by_ann[q, n] == by_bob[q, n]]
    lines.append(f"{settled[0]} 0 {settled[1]} 2")
    assert sorted(qrels.input_value().splitlines()) == sorted(lines)

    # every key press is in the store: the undo as a row, the moment and the modality kept
    import lancedb

    history = LabelStore(lancedb.connect(str(store))).history()
    assert [lab.action for lab in history].count("undo") == 2
    marked = [lab for lab in history if lab.modality == "asr" and lab.action == "judge"]
    assert len(marked) == 2 and all(lab.moment_s is not None for lab in marked)


def test_search_results_are_judged_in_place(
    app_factory: Callable[..., AppServer], browser: Browser, demo_three: Path, tmp_path: Path
) -> None:
    store = Path(shutil.copytree(demo_three, tmp_path / "store"))
    page = new_page(browser, app_factory(store, "--no-demo").url)
    sign_in(page, "cy")
    page.locator("#query textarea, #query input").first.focus()
    page.keyboard.type("set the oven to 200 degrees")
    page.keyboard.press("Enter")
    first = page.locator("#results .vs-card").first
    expect(first).to_contain_text("banana_bread.mp4", timeout=60_000)
    press(page, first.locator('.vs-judge button[data-grade="1"]'))
    saved = page.get_by_text("Saved: banana_bread.mp4 = 1 (partly relevant) by cy")
    expect(saved.first).to_be_visible(timeout=30_000)  # a toast on the Search tab
    expect(first.locator(".vs-judge .vs-chosen")).to_have_attribute("data-grade", "1")

    import lancedb

    labels = LabelStore(lancedb.connect(str(store))).current()
    assert [(lab.query, lab.grade, lab.user, lab.source) for lab in labels] == [
        ("set the oven to 200 degrees", 1, "cy", "search")
    ]
    open_tab(page, "Judge")
    open_tab(page, "Queries")
    expect(page.locator("#judge-query-table")).to_contain_text("set the oven to 200 degrees")
