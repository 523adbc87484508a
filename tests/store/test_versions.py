"""Token versions: a new encoder fills its own table, the switch is atomic, rollback is a switch."""

from __future__ import annotations

import pytest

from backend.config import EncoderSettings, Settings
from backend.encoders.base import Modality
from backend.store.rows import token_table
from backend.store.versions import StoreVersions, follow_active_version
from backend.store.video_store import StoreError, VideoStore
from tests.helpers import make_video, random_tokens

COUNTS = {Modality.ASR: 3, Modality.OCR: 2}


def _store(tmp_path, n_videos: int = 2) -> VideoStore:
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    for i in range(n_videos):
        store.add_video(make_video(f"v{i}", "red fox"), random_tokens(i, COUNTS))
    return store


def _fill(store: VideoStore, table: str, dim: int, seed: int = 100) -> None:
    for i, video_id in enumerate(store.video_ids()):
        tokens = random_tokens(seed + i, {Modality.DESCRIPTION: 4}, dim)
        store.add_token_rows(table, token_table(video_id, tokens, dim))


def test_a_new_version_switches_atomically_and_rolls_back(tmp_path):
    store = _store(tmp_path)
    versions = StoreVersions(store)
    assert [v.name for v in versions.list()] == ["v0"]  # the first table, not yet registered
    versions.register_active(EncoderSettings(name="default"))
    new = versions.begin("enc:b", 16, EncoderSettings(name="default", adapter="/x/adapter"))
    assert (new.name, new.table, new.state) == ("v1", "tokens_v1", "building")
    with pytest.raises(StoreError, match="not complete"):
        versions.activate("v1")
    assert versions.missing_videos("v1") == ["v0", "v1"]
    _fill(store, new.table, 16)
    versions.mark_complete("v1")
    # searching goes on from v0 until the switch
    assert VideoStore.open(store.uri, "enc:a", 8).tokens_table == "tokens"
    assert versions.activate("v1") == []

    reopened = VideoStore.open(store.uri, "enc:b", 16)
    assert reopened.tokens_table == "tokens_v1"
    assert {r["modality"] for r in reopened.token_rows().to_pylist()} == {int(Modality.DESCRIPTION)}
    with pytest.raises(StoreError, match="versions"):
        VideoStore.open(store.uri, "enc:a", 8)  # the old encoder is refused, and told why

    versions.activate("v0")  # rollback
    assert VideoStore.open(store.uri, "enc:a", 8).token_rows().num_rows == 4  # 2 videos x 2


def test_videos_added_later_are_missing_from_an_older_version(tmp_path):
    store = _store(tmp_path, 1)
    versions = StoreVersions(store)
    new = versions.begin("enc:b", 16, EncoderSettings(name="default"))
    _fill(store, new.table, 16)
    versions.mark_complete("v1")
    versions.activate("v1")
    store.add_video(make_video("late", "blue hen"), random_tokens(7, {Modality.ASR: 2}, 16))
    assert versions.activate("v0") == ["late"]  # told which videos v0 cannot find
    assert versions.missing_videos("v1") == []


def test_deleted_videos_leave_no_tokens_in_the_version_switched_to(tmp_path):
    store = _store(tmp_path)
    versions = StoreVersions(store)
    new = versions.begin("enc:b", 16, EncoderSettings(name="default"))
    _fill(store, new.table, 16)
    versions.mark_complete("v1")
    store.delete_video("v0")  # deleted while v0 is active: v1 still holds its tokens
    versions.activate("v1")
    assert {r["video_id"] for r in store.token_rows().to_pylist()} == {"v1"}


def test_an_unfinished_version_is_resumed_and_the_active_one_cannot_be_deleted(tmp_path):
    store = _store(tmp_path)
    versions = StoreVersions(store)
    first = versions.begin("enc:b", 16, EncoderSettings(name="default"))
    assert versions.begin("enc:b", 16, EncoderSettings(name="default")) == first
    with pytest.raises(StoreError, match="active"):
        versions.delete("v0")
    versions.delete("v1")
    assert [v.name for v in versions.list()] == ["v0"]
    assert "tokens_v1" not in store.table_names()


def test_settings_follow_the_active_version_unless_an_adapter_is_named(tmp_path):
    store = _store(tmp_path)
    adapter = tmp_path / "s" / "training" / "run" / "adapter"
    adapter.mkdir(parents=True)
    versions = StoreVersions(store)
    new = versions.begin("enc:b", 16, EncoderSettings(name="default", adapter=str(adapter)))
    _fill(store, new.table, 16)
    versions.mark_complete("v1")
    versions.activate("v1")
    assert "training/run/adapter" in versions.get("v1").settings_json  # relative to the store

    settings = Settings(store=str(tmp_path / "s"))
    assert follow_active_version(settings).encoder.adapter == str(adapter)
    chosen = Settings(store=str(tmp_path / "s"), encoder=EncoderSettings(adapter="none"))
    assert follow_active_version(chosen).encoder.adapter == "none"
    clamr = Settings(store=str(tmp_path / "s"), encoder=EncoderSettings(name="clamr"))
    assert follow_active_version(clamr).encoder.adapter is None
    assert follow_active_version(Settings(store=str(tmp_path / "none"))).encoder.adapter is None
