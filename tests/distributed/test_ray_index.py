"""Ingest on a local Ray cluster, one worker killed mid-run: the same store as a plain run.

Slow (a Ray cluster, three workers' model loads, two indexing runs): python -m pytest -m slow.
Skipped where Ray is not installed.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import numpy as np
import pytest

from backend.collection import Collection
from backend.config import RaySettings, Settings
from backend.store.video_store import VideoStore

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

FILES = [
    "grid_lipnet/bbaf2n.mpg",
    "grid_lipnet/brbk7n.mpg",
    "grid_lipnet/lbax4n.mpg",
    "pyscenedetect/counter.mp4",
    "msrvtt/video7020.mp4",
]


def snapshot(store: VideoStore) -> dict:
    """What a store holds, in a form two stores can be compared by."""
    videos = store.table("videos").to_arrow().to_pylist()
    tokens = store.table(store.tokens_table).to_arrow().to_pylist()
    frames = store.table("frames").to_arrow().select(["video_id", "time_s"]).to_pylist()
    return {
        "video_rows": sorted(v["video_id"] for v in videos),
        "videos": {
            v["video_id"]: (v["n_tokens"], tuple(v["modalities"]), v["description"]) for v in videos
        },
        "token_rows": sorted((t["video_id"], t["modality"]) for t in tokens),
        "labels": {(t["video_id"], t["modality"]): t["labels"] for t in tokens},
        "vectors": {(t["video_id"], t["modality"]): np.array(t["vectors"]) for t in tokens},
        "frames": sorted((f["video_id"], round(f["time_s"], 3)) for f in frames),
        "failures": sorted(f["path"] for f in store.failures()),
    }


def test_a_killed_worker_loses_and_doubles_no_video(shared_data, tmp_path):
    paths = [shared_data / "corpus" / f for f in FILES]
    plain = Collection(Settings(store=str(tmp_path / "plain")))
    assert plain.index(paths).count("indexed") == len(FILES)

    settings = Settings(store=str(tmp_path / "ray"), ray=RaySettings(enabled=True, workers=2))
    collection = Collection(settings)
    from backend.distributed.ray_index import RayIndexer

    indexer = RayIndexer(collection.settings, collection.store)
    killed: list[int] = []

    def kill_a_busy_worker(path, stage):
        if stage == "done" and not killed and indexer.busy_worker_pids():
            killed.append(indexer.busy_worker_pids()[0])
            os.kill(killed[0], signal.SIGKILL)

    report = indexer.index(paths, on_progress=kill_a_busy_worker)
    assert killed, "no worker was busy when the first video finished"
    assert report.count("indexed") == len(FILES), [(r.path, r.reason) for r in report.results]

    a, b = snapshot(plain.store), snapshot(VideoStore.open(settings.store))
    assert b["video_rows"] == a["video_rows"]  # every video once: none lost, none doubled
    assert b["videos"] == a["videos"]
    assert b["token_rows"] == a["token_rows"]
    assert b["labels"] == a["labels"]
    assert b["frames"] == a["frames"]
    assert b["failures"] == a["failures"] == []
    for key, vectors in a["vectors"].items():  # other thread counts: last-bit differences only
        np.testing.assert_allclose(b["vectors"][key], vectors, atol=1e-4)

    # Indexing again through Ray finds everything there and changes nothing.
    again = RayIndexer(replace(collection.settings), VideoStore.open(settings.store))
    assert again.index(paths).count("skipped") == len(FILES)
    assert snapshot(VideoStore.open(settings.store))["video_rows"] == a["video_rows"]
