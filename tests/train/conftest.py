"""Eight short real videos from ../shared/data/corpus, indexed once with the CLI, and labels.

Five GRID speaking faces (their sentences are known from the file names; the ASR gets some
wrong: "BIMBLU F2 now." for "bin blue at f two now"), the counter test card (screen text), a
gymnast and a parakeet. The labels are what a user would give: the queries of
``retrieval_dev.jsonl`` for these videos plus a few more, some marked not relevant (hard
negatives: another GRID speaker with a similar sentence).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.cli import main as cli
from backend.store.labels import Label
from backend.store.video_store import VideoStore

VIDEOS = (
    "grid_lipnet/bbaf2n.mpg",
    "grid_lipnet/brbk7n.mpg",
    "grid_lipnet/lbax4n.mpg",
    "grid_lipnet/lbbc2a.mpg",
    "grid_lipnet/pwij3p.mpg",
    "pyscenedetect/counter.mp4",
    "msrvtt/video9771.mp4",
    "languagebind/parakeet.mp4",
)

#: (query, file name, relevant, modality)
LABELS = (
    ("Training a parakeet to climb up a ladder.", "parakeet.mp4", True, "description"),
    ("a little girl does gymnastics", "video9771.mp4", True, "video"),
    ("bin blue at f two now", "bbaf2n.mpg", True, "asr"),
    ("bin blue at f two now", "brbk7n.mpg", False, ""),
    ("bin red by k seven now", "brbk7n.mpg", True, "asr"),
    ("bin red by k seven now", "bbaf2n.mpg", False, ""),
    ("lay blue at x four now", "lbax4n.mpg", True, "asr"),
    ("lay blue at x four now", "lbbc2a.mpg", False, ""),
    ("lay blue by c two again", "lbbc2a.mpg", True, "asr"),
    ("lay blue by c two again", "lbax4n.mpg", False, ""),
    ("place white in j three please", "pwij3p.mpg", True, "asr"),
    ("Frame = 22", "counter.mp4", True, "ocr"),
    ("frame counter test", "counter.mp4", True, "ocr"),
    ("someone speaking to the camera", "bbaf2n.mpg", True, ""),
    ("someone speaking to the camera", "brbk7n.mpg", True, ""),
)


@pytest.fixture(scope="session")
def indexed_store(shared_data: Path, tmp_path_factory) -> Path:
    """The eight videos indexed with ``python -m backend index`` and labelled; do not modify
    (copy it with ``store_copy``)."""
    store = tmp_path_factory.mktemp("train") / "store"
    paths = [str(shared_data / "corpus" / v) for v in VIDEOS]
    assert cli(["index", "--store", str(store), "--every", "2", *paths]) == 0
    opened = VideoStore.open(store)
    ids = {record.file_name: record.video_id for record in opened.videos()}
    assert len(ids) == len(VIDEOS)
    opened.labels.add(
        Label(query, ids[name], relevant, modality, user="test")
        for query, name, relevant, modality in LABELS
    )
    return store


@pytest.fixture
def store_copy(indexed_store: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed store (without training runs), safe to change."""
    copy = tmp_path / "store"
    shutil.copytree(indexed_store, copy, ignore=shutil.ignore_patterns("training"))
    return copy
