"""The judging screen's keys on a small real store: the screen is blind, keys grade and move,
undo goes back, the next query follows, each assessor has their own progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.context import AppContext
from app.judging_session import act, open_query
from app.judging_view import render_screen
from app.settings import AppSettings
from backend.config import Settings
from tests.judging.conftest import tiny_store, tiny_template  # noqa: F401 - fixtures

QUERIES = "q1\tbring an umbrella for the rain\tspeech\nq2\tbanana bread\n"


@pytest.fixture
def ctx(tiny_store: Path) -> AppContext:  # noqa: F811
    ctx = AppContext(AppSettings(backend=Settings(store=str(tiny_store))))
    ctx.collection.judging.add_typed_queries(QUERIES)
    ctx.collection.judging.pool(depth=2)
    return ctx


def press(ctx: AppContext, screen, action: str, **data):
    return act(ctx, screen, screen.assessor, {"action": action, **data}, None)


def test_the_screen_is_blind_and_keys_grade_move_and_undo(ctx: AppContext) -> None:
    assert "Type your name" in open_query(ctx, "").message
    screen = open_query(ctx, "ann")
    assert screen.qid == "q1" and screen.index == 0 and screen.judged == 0
    page = render_screen(screen)
    for hidden in ("score", "rank", "modality_max", "bm25", "rrf"):
        assert hidden not in page.lower()  # blind: nothing says who proposed it or how high
    first = screen.current.video_id
    assert f'data-video-id="{first}"' in page

    screen, page, status = press(ctx, screen, "grade", grade=2, video_id=first, qid="q1",
                                 moment=1.5, modality="asr")  # fmt: skip
    assert "Saved" in status and screen.grades == {first: 2} and screen.index == 1
    label = ctx.collection.judging.grades_of("q1", "ann")[first]
    assert (label.grade, label.moment_s, label.modality, label.source) == (2, 1.5, "asr", "judge")
    screen, _, _ = press(ctx, screen, "previous")
    assert screen.index == 0 and "your grade: 2" in render_screen(screen)
    screen, _, status = press(ctx, screen, "undo")
    assert "Undone" in status and screen.grades == {} and screen.current.video_id == first

    for candidate in list(screen.candidates):
        screen, page, _ = press(ctx, screen, "grade", grade=1, video_id=candidate.video_id,
                                qid="q1")  # fmt: skip
    assert screen.done and 'data-state="done"' in page and "next query (1 left)" in page
    screen, page, _ = press(ctx, screen, "next_query")
    assert screen.qid == "q2" and screen.judged == 0
    bob = open_query(ctx, "bob")
    assert bob.qid == "q1" and bob.grades == {}  # each assessor has their own progress
