"""Which region of a query picture matched which region of a frame, on real corpus frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backend.collection import Collection
from backend.config import Settings
from backend.encoders.base import Modality
from backend.explain import explain_hit
from backend.explain.regions import region_match, render_region_matches
from backend.picture_tokens import active_tokens


@pytest.fixture(scope="module")
def collection(picture_videos, tmp_path_factory) -> Collection:
    collection = Collection(Settings(store=str(tmp_path_factory.mktemp("regions") / "store")))
    for video in picture_videos:
        collection.store.add_video(video, collection.encoder.encode_video(video))
    return collection


def test_a_frame_as_the_query_pairs_every_region_with_itself(collection, picture_videos):
    video = picture_videos[2]  # the street
    frame = video.frames[5]
    query = collection.encoder.encode_image_query(frame.image)
    tokens = active_tokens(collection.store, video.probe.video_id)
    match = region_match(query, tokens.select(tokens.modalities == int(Modality.IMAGE)))
    assert match.time_s == pytest.approx(frame.time_s)
    assert match.best.tolist() == list(range(len(query)))  # whole -> whole, tile i -> tile i
    np.testing.assert_allclose(np.diag(match.similarity), 1.0, atol=1e-4)
    np.testing.assert_allclose(match.query_boxes, match.frame_boxes, atol=1e-3)
    assert match.pairs(3)[0][2] == pytest.approx(1.0, abs=1e-4)


def test_explaining_a_search_by_picture(collection, picture_videos):
    video = picture_videos[1]  # the parakeet
    image = video.frames[4].image[10:-20, 30:]  # cropped
    hit = collection.search_image(image, "bird", k=1)[0]
    assert hit.video_id == video.probe.video_id
    explanation = explain_hit(collection, "bird", hit.video_id, image=image)
    assert explanation.best_modality == hit.best_modality == "image"
    for key, item in explanation.modalities.items():
        assert item.score == pytest.approx(hit.scores[key], abs=1e-4)
        assert [m.label for m in item.matches] == [m.label for m in hit.matches[key]]
    picture = explanation.modalities["image"]
    assert picture.regions is not None and picture.frame is not None
    assert picture.frame_time_s == pytest.approx(picture.regions.time_s)
    assert picture.frame.width > image.shape[1]  # the picture and the frame, side by side
    assert picture.regions.similarity.shape[0] == len(picture.similarity.query_labels)
    assert set(picture.similarity.query_labels) == {m.query_token for m in hit.matches["image"]}
    words = explanation.modalities["video"]
    assert words.similarity.query_labels == ("bird",) and words.regions is None


def test_the_picture_draws_both_images_and_the_map(collection, picture_videos):
    video = picture_videos[0]
    query = collection.encoder.encode_image_query(video.frames[3].image)
    tokens = active_tokens(collection.store, video.probe.video_id)
    match = region_match(query, tokens.select(tokens.modalities == int(Modality.IMAGE)))
    frame = Image.fromarray(video.frames[3].image).resize((320, 180))
    picture = render_region_matches(
        Image.fromarray(video.frames[3].image), frame, match, frame_scale=320 / 1280
    )
    assert picture.mode == "RGB" and picture.width >= 2 * 300 and picture.height > 300
    # the strongest pair is outlined in red on both pictures
    pixels = np.asarray(picture)[:324]
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 90)
    left, right = red[:, : picture.width // 2].sum(), red[:, picture.width // 2 :].sum()
    assert left > 100 and right > 100
