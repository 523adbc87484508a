"""The Judge tab's views on a small real store: agreement, disagreements and qrels are what the
store says."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.context import AppContext
from app.settings import AppSettings
from app.tabs.judge import agreement_view, export_qrels
from backend.config import Settings
from tests.judging.conftest import tiny_store, tiny_template  # noqa: F401 - fixtures

QUERIES = "q1\tbring an umbrella for the rain\tspeech\nq2\tbanana bread\n"


@pytest.fixture
def ctx(tiny_store: Path) -> AppContext:  # noqa: F811
    ctx = AppContext(AppSettings(backend=Settings(store=str(tiny_store))))
    ctx.collection.judging.add_typed_queries(QUERIES)
    ctx.collection.judging.pool(depth=2)
    return ctx


def test_agreement_view_and_qrels(ctx: AppContext) -> None:
    judging = ctx.collection.judging
    for user, grades in (("ann", {"rain": 2, "sun": 0}), ("bob", {"rain": 2, "sun": 1})):
        for video, grade in grades.items():
            judging.judge("q1", video, grade, user)
    assessors, text, rows, choices = agreement_view(ctx)
    assert [row[0] for row in assessors] == ["ann", "bob"]
    assert "cohen_kappa" in text and "on 2 pairs" in text
    assert rows == [["q1", "bring an umbrella for the rain", "sun.mp4", "ann 0, bob 1", "—"]]
    assert choices == [("q1 · sun.mp4 · ann 0, bob 1", "q1|sun")]
    judging.adjudicate("q1", "sun", 1, "cy")
    assert agreement_view(ctx)[2][0][-1] == "1 (cy)"
    path, text = export_qrels(ctx)
    assert text == path.read_text() == "q1 0 rain.mp4 2\nq1 0 sun.mp4 1\n"
