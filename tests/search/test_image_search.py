"""Search by picture end to end on real videos: altered frames find their video, pictures and
words combine, "more like this", the command line, and stores indexed before pictures existed."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pyarrow.compute as pc
import pytest
from PIL import Image

from backend.collection import Collection, QueryError
from backend.config import Settings
from backend.encoders.base import Modality
from bench.image_queries import alter, frames_at
from tests.conftest import REPO_ROOT, run_cli

ALTERATIONS = ("crop", "rescale", "jpeg", "brightness", "all four")


@pytest.fixture(scope="module")
def collection(picture_videos, tmp_path_factory) -> Collection:
    store = tmp_path_factory.mktemp("pictures") / "store"
    collection = Collection(Settings(store=str(store)))
    for video in picture_videos:
        collection.store.add_video(video, collection.encoder.encode_video(video))
    return collection


@pytest.fixture(scope="module")
def queries(picture_videos) -> list[tuple[str, float, np.ndarray]]:
    """For each video, the picture shown at a random time between two sampled frames."""
    rng = np.random.default_rng(7)
    out = []
    for video in picture_videos:
        time_s = float(rng.uniform(0.2, (video.probe.duration_s or 2.0) - 0.5))
        (image,) = frames_at(video.probe.path, [time_s]).values()
        out.append((video.probe.video_id, time_s, image))
    return out


@pytest.mark.parametrize("alteration", ALTERATIONS)
def test_an_altered_frame_finds_its_video(collection, queries, alteration):
    rng = np.random.default_rng(11)
    for video_id, time_s, image in queries:
        hits = collection.search_image(alter(image, alteration, rng), k=4)
        assert hits[0].video_id == video_id, (alteration, time_s, [h.video_id for h in hits])
        assert hits[0].best_modality == "image"
        if alteration != "all four":  # a 60-pixel-high remnant: right, but barely ahead
            assert hits[0].scores["image"] > hits[1].scores["image"] + 0.1
        assert {k for k, v in hits[0].scores.items() if v is not None} == {"image"}


def test_the_moment_is_where_the_picture_was_taken(collection, queries):
    """The moment is the frame nearest the picture's time, or one that looks the same (a still
    shot repeats itself)."""
    for video_id, time_s, image in queries:
        hit = collection.search_image(image, k=1)[0]
        assert hit.video_id == video_id
        frame_times = [r.time_s for r in _video(collection, video_id).frame_regions]
        nearest = min(frame_times, key=lambda t: abs(t - time_s))
        if abs(hit.moment_s - nearest) <= 1.01:
            continue
        at_moment = collection.encoder.encode_image_query(
            collection.moment_frame(video_id, hit.moment_s)
        )
        at_time = collection.encoder.encode_image_query(collection.moment_frame(video_id, nearest))
        assert float(at_moment.vectors[0] @ at_time.vectors[0]) > 0.9, (time_s, hit.moment_s)


def test_picture_and_words_are_scored_in_their_own_spaces(collection, queries):
    video_id, _, image = queries[1]  # the parakeet
    hits = collection.search_image(image, "a bird on a ladder", k=4)
    top = hits[0]
    assert top.video_id == video_id and top.best_modality == "image"
    assert top.scores["video"] is not None and top.scores["image"] is not None
    assert all(m.query_token.startswith("query ") for m in top.matches["image"])
    assert {m.query_token for m in top.matches["video"]} == {"bird", "ladder"}
    words_only = collection.search("a bird on a ladder", k=4)
    assert all(h.scores["image"] is None for h in words_only)
    # the words' scores do not change when a picture comes with them
    by_id = {h.video_id: h for h in hits}
    for hit in words_only:
        assert by_id[hit.video_id].scores["video"] == pytest.approx(hit.scores["video"], abs=1e-5)


def test_more_like_this_searches_with_the_frame_at_the_moment(collection, queries):
    video_id, _, image = queries[2]
    hit = collection.search_image(image, k=1)[0]
    frame = collection.moment_frame(video_id, hit.moment_s)
    assert frame.ndim == 3 and frame.shape[2] == 3
    more = collection.more_like_this(video_id, hit.moment_s, k=4)
    assert more[0].video_id == video_id and more[0].scores["image"] > 0.9
    with pytest.raises(KeyError):
        collection.moment_frame("no-such-video", 1.0)


def test_filters_and_a_flat_picture(collection, queries):
    _, _, image = queries[0]
    assert collection.search_image(image, k=4, modalities=["asr"]) == []
    with pytest.raises(QueryError, match="flat colour"):
        collection.search_image(np.zeros((120, 160, 3), np.uint8), k=4)
    hits = collection.search_image(np.zeros((120, 160, 3), np.uint8), "bird", k=2)
    assert hits and all(h.scores["image"] is None for h in hits)


def test_command_line_search_by_picture(collection, queries, tmp_path):
    video_id, _, image = queries[3]
    picture = tmp_path / "query.jpg"
    Image.fromarray(image).save(picture, quality=60)
    store = collection.store.uri
    done = run_cli("search", "--image", str(picture), "--store", store, "-k", "2", "--json")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert hits[0]["video_id"] == video_id and hits[0]["best_modality"] == "image"
    both = run_cli("search", "gymnastics", "--image", str(picture), "--store", store, "-k", "1")
    assert both.returncode == 0 and "[image]" in both.stdout, both.stderr
    nothing = run_cli("search", "--store", store)
    assert nothing.returncode == 2 and "--image" in nothing.stderr
    broken = tmp_path / "not-a-picture.png"
    broken.write_text("hello")
    failed = run_cli("search", "--image", str(broken), "--store", store)
    assert failed.returncode == 2 and "not-a-picture.png" in failed.stderr


def test_a_store_indexed_before_pictures_gains_them_by_re_encoding(picture_videos, tmp_path):
    settings = Settings(store=str(tmp_path / "old"))
    old = Collection(settings)
    for video in picture_videos[:2]:
        before = replace(video, frame_regions=[])  # as ingest made videos before
        old.store.add_video(before, old.encoder.encode_video(before))
    image = picture_videos[1].frames[3].image
    with pytest.raises(QueryError, match="add-images"):
        old.search_image(image, k=2)
    text_before = old.search("a bird", k=2)
    listed_before = {r.video_id: (r.n_tokens, r.modalities) for r in old.videos()}
    assert all("image" not in modalities for _, modalities in listed_before.values())
    report = old.add_pictures()
    assert report.activated and report.encoded == 2
    # the collection's list describes the tokens searched now: picture tokens counted
    tokens = old.store.token_rows()
    for record in old.videos():
        rows = tokens.filter(pc.equal(tokens["video_id"], record.video_id)).to_pylist()
        assert record.n_tokens == sum(len(r["times"]) for r in rows)
        assert record.n_tokens > listed_before[record.video_id][0]
        assert "image" in record.modalities
    assert old.search_image(image, k=2)[0].video_id == picture_videos[1].probe.video_id
    text_after = old.search("a bird", k=2)
    assert [h.video_id for h in text_after] == [h.video_id for h in text_before]
    assert [h.score for h in text_after] == pytest.approx([h.score for h in text_before])
    assert Collection(settings).add_pictures().version == ""  # nothing left to do
    reopened = Collection(settings)
    tokens = reopened.store.token_rows()
    assert int(Modality.IMAGE) in tokens["modality"].to_pylist()
    versions = [v["name"] for v in reopened.describe_versions()]
    assert len(versions) == 2  # the old version stays, for rollback


def test_the_demo_collection_is_searchable_by_picture(tmp_path):
    """Without ../shared/data: a frame of a demo video finds it among the demo videos."""
    from tests.pictures import ingest_pictures

    demo = sorted((REPO_ROOT / "assets" / "demo").glob("*.mp4"))[:3]
    videos = ingest_pictures(demo)
    collection = Collection(Settings(store=str(tmp_path / "demo")))
    for video in videos:
        collection.store.add_video(video, collection.encoder.encode_video(video))
    for video in videos:
        image = alter(video.frames[len(video.frames) // 2].image, "jpeg", np.random.default_rng(0))
        assert collection.search_image(image, k=3)[0].video_id == video.probe.video_id


def _video(collection: Collection, video_id: str):
    from backend.picture_tokens import active_tokens, regions_from_tokens

    return replace(
        collection.video(video_id).ingested(),
        frame_regions=regions_from_tokens(active_tokens(collection.store, video_id)),
    )
