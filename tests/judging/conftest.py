"""A small store of hand-made videos (real MiniLM tokens), built once and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.collection import Collection
from backend.config import Settings
from tests.helpers import make_video

CLIPS = {
    "rain": "heavy rain is expected on tuesday so bring an umbrella",
    "bread": "bake the banana bread for fifty minutes in the oven",
    "sun": "sunny on saturday with twenty four degrees",
    "train": "the train to the city leaves from platform nine",
}


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("judging") / "store"
    collection = Collection(Settings(store=str(store)))
    for video_id, text in CLIPS.items():
        video = make_video(video_id, text)
        collection.store.add_video(video, collection.encoder.encode_video(video))
    return store


@pytest.fixture
def tiny_store(tiny_template: Path, tmp_path: Path) -> Path:
    """A private copy: tests write queries, pools and labels into it."""
    return Path(shutil.copytree(tiny_template, tmp_path / "store"))
