"""Labels through the app's functions: stored with who and when, exported, imported back."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from app.context import AppContext
from app.settings import AppSettings
from app.tabs.label import add_label, export_labels, import_labels
from backend.config import Settings
from tests.helpers import make_video


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> AppContext:
    store = tmp_path_factory.mktemp("label") / "store"
    ctx = AppContext(AppSettings(backend=Settings(store=str(store))))
    for video_id in ("rain", "bread"):
        video = make_video(video_id, f"a clip about {video_id}")
        ctx.collection.store.add_video(video, ctx.collection.encoder.encode_video(video))
    return ctx


def test_labels_round_trip_through_jsonl(ctx: AppContext, tmp_path: Path) -> None:
    add_label(ctx, "will it rain", "rain", True, "asr", 3.5, user="ann")
    add_label(ctx, "will it rain", "bread", False, user="ann")
    stored = add_label(ctx, "  will it   rain ", "bread", False, user="bob")
    assert len(stored["labels"]) == 3  # one per (query, video, user); spacing ignored

    exported = export_labels(ctx)
    line = json.loads(exported.read_text().splitlines()[0])
    assert line["query"] == "will it rain" and line["relevant"] == ["rain.mp4"]
    assert line["query_type"] == "asr" and len(line["judgements"]) == 3

    fresh = AppContext(AppSettings(backend=Settings(store=str(tmp_path / "other"))))
    for video_id in ("rain", "bread"):
        video = make_video(video_id, f"a clip about {video_id}")
        fresh.collection.store.add_video(video, fresh.collection.encoder.encode_video(video))
    assert import_labels(fresh, exported) == 3
    assert import_labels(fresh, exported) == 0  # the same judgements are not added twice
    assert {(lab.user, lab.video_id) for lab in fresh.collection.store.labels.current()} == {
        ("ann", "rain"),
        ("ann", "bread"),
        ("bob", "bread"),
    }


def test_plain_retrieval_dev_lines_are_imported_by_file_name(ctx: AppContext, tmp_path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"qid": "q1", "query": "bread", "relevant": ["x/bread.mp4"]}))
    assert import_labels(ctx, path, user="importer") == 1
    path.write_text(json.dumps({"qid": "q2", "query": "cake", "relevant": ["cake.mp4"]}))
    with pytest.raises(ValueError, match="not in this collection"):
        import_labels(ctx, path)


def test_labels_need_a_query_and_a_known_video(ctx: AppContext) -> None:
    with pytest.raises(gr.Error, match="needs a query"):
        add_label(ctx, "  ", "rain", True)
    with pytest.raises(gr.Error, match="not in the collection"):
        add_label(ctx, "rain", "nope", True)
    with pytest.raises(gr.Error, match="Unknown modality"):
        add_label(ctx, "rain", "rain", True, modality="smell")
