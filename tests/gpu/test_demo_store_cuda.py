"""The demo collection indexed with ``--encoder clamr`` on CUDA, searched and explained; then
three training steps switched into a new store version, and searched again. Needs the whole
requirements.txt (the store and the ingest stack), else it skips saying what is missing."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.gpu.conftest import DEMO, needs

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def demo_store(tiny_checkpoint, tmp_path_factory):
    needs("lancedb", "av", "faster_whisper", "rapidocr", "scenedetect")
    from backend.cli import main as cli

    store = tmp_path_factory.mktemp("gpu-demo") / "store"
    flags = ["--encoder", "clamr", "--model", str(tiny_checkpoint), "--adapter", "none"]
    assert cli(["index", "--store", str(store), *flags, str(DEMO)]) == 0
    return store, flags


def test_indexed_on_cuda_searched_and_explained(demo_store, tiny_checkpoint):
    from backend.collection import Collection
    from backend.config import EncoderSettings, Settings

    store, _ = demo_store
    encoder = EncoderSettings(name="clamr", model=str(tiny_checkpoint), adapter="none")
    collection = Collection(Settings(store=str(store), encoder=encoder))
    assert next(collection.encoder.model.parameters()).is_cuda
    hits = collection.search("bake the loaf for 50 minutes", k=6)
    assert len(hits) == 6 and all(h.matches for h in hits)
    explanation = collection.explain("bake the loaf for 50 minutes", hits[0].video_id)
    assert explanation.modalities


def test_three_steps_switched_into_a_new_version_then_searched(demo_store, tmp_path, capsys):
    from backend.cli import main as cli

    store, flags = demo_store
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    code = cli(
        ["train", "--store", str(copy), *flags, "--max-steps", "3", "--synthetic", "40", "--switch"]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli(["versions", "--store", str(copy), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["active"] for r in rows] == [False, True]
    clamr = flags[:4]  # --encoder clamr --model TINY; no --adapter: the active version's
    assert cli(["search", "--store", str(copy), *clamr, "--json", "heavy rain on Tuesday"]) == 0
    assert json.loads(capsys.readouterr().out)
