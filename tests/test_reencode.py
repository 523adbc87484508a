"""Re-encoding a collection into a new store version: the default encoder with an adapter reads
only stored ingest results; CLaMR re-reads frames from the file, or from thumbnails if it moved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from peft import LoraConfig, get_peft_model

from backend.collection import Collection
from backend.config import EncoderSettings, Settings
from backend.encoders.base import Modality
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.encoders.default.encoder import DefaultEncoder
from backend.encoders.default.token_model import load_minilm
from backend.ingest.frames import sample_frames
from backend.ingest.probe import probe_video
from backend.reencode import reencode
from backend.store.versions import StoreVersions
from backend.store.video_store import VideoStore
from backend.train.backbones.minilm import MINILM_LORA_TARGETS
from tests.helpers import make_video


@pytest.fixture
def store(tmp_path, shared_data: Path) -> VideoStore:
    """Two videos indexed with the default encoder: a real file, and one whose file is gone."""
    encoder = DefaultEncoder()
    store = VideoStore.open(tmp_path / "store", encoder.identity, encoder.dim)
    path = shared_data / "corpus" / "moviepy" / "doc_medias_example.mp4"
    probe = probe_video(path)
    frames = sample_frames(probe, Settings().frames)
    real = replace(make_video("x", "a short clip of a beach"), probe=probe, frames=frames)
    gone = make_video("gone", "the file of this video was moved", n_frames=2)
    for video in (real, gone):
        store.add_video(video, encoder.encode_video(video))
    return store


def test_an_adapter_version_needs_no_decoding_and_rolls_back(store, tmp_path):
    _, model = load_minilm()
    adapter = tmp_path / "adapter"
    get_peft_model(model, LoraConfig(r=2, target_modules=MINILM_LORA_TARGETS)).save_pretrained(
        adapter
    )
    settings = Settings(store=store.uri, encoder=EncoderSettings(adapter=str(adapter)))
    report = reencode(store, settings, current=EncoderSettings())
    assert (report.version, report.encoded, report.activated) == ("v1", 2, True)
    assert report.warnings == []  # the moved file did not matter: nothing was decoded
    searched = Collection(Settings(store=store.uri))  # follows the new version's adapter
    assert "+lora:adapter@" in searched.encoder.identity
    assert {h.video_id for h in searched.search("moved file", k=2)} == set(store.video_ids())
    again = reencode(store, settings, current=EncoderSettings())
    assert (again.version, again.encoded, again.activated) == ("v1", 0, False)  # nothing to do
    StoreVersions(store).activate("v0")
    assert Collection(Settings(store=store.uri)).encoder.identity == DefaultEncoder().identity


def test_clamr_reads_frames_from_the_file_or_else_from_thumbnails(store, tmp_path):
    tiny = save_tiny_checkpoint(tmp_path / "tiny")
    clamr = EncoderSettings(name="clamr", model=str(tiny), adapter="none", device="cpu")
    report = reencode(store, Settings(store=store.uri, encoder=clamr), EncoderSettings())
    assert report.activated and report.encoded == 2
    assert len(report.warnings) == 1 and "/videos/gone.mp4" in report.warnings[0]
    assert "moved or changed" in report.warnings[0] and "thumbnails" in report.warnings[0]
    reopened = VideoStore.open(store.uri)
    assert (reopened.dim, reopened.tokens_table) == (128, "tokens_v1")
    rows = reopened.token_rows().to_pylist()
    with_frames = {r["video_id"] for r in rows if r["modality"] == int(Modality.VIDEO)}
    assert with_frames == set(store.video_ids())  # the real file's frames and the thumbnails
    hits = Collection(Settings(store=store.uri, encoder=clamr)).search("beach", k=2)
    assert len(hits) == 2
