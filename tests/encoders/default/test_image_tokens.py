"""Picture regions as IMAGE tokens of the default encoder, and query pictures, on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from backend.config import FrameSettings
from backend.encoders.base import Modality
from backend.encoders.default.encoder import DefaultEncoder
from backend.encoders.default.image_tokens import pad_to, region_tokens, video_image_tokens
from backend.ingest.frames import sample_frames
from backend.ingest.probe import probe_video
from backend.ingest.types import FrameRegions
from tests.helpers import make_video


@pytest.fixture(scope="module")
def encoder() -> DefaultEncoder:
    return DefaultEncoder()


@pytest.fixture(scope="module")
def cockatoo_frame(shared_data):
    path = shared_data / "corpus" / "imageio" / "cockatoo.mp4"
    return sample_frames(probe_video(path), FrameSettings())[8].image


def _regions(time_s: float, seed: int, n: int = 3) -> FrameRegions:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n, 320)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    boxes = np.tile(np.array([[0, 0, 32, 32]], np.float32), (n, 1))
    parts = ("whole", *(f"tile {i}" for i in range(1, n)))
    return FrameRegions(time_s, boxes, features, parts)


def test_padding_keeps_every_inner_product():
    a, b = _regions(0.0, 1).features, _regions(0.0, 2).features
    np.testing.assert_allclose(pad_to(a, 384) @ pad_to(b, 384).T, a @ b.T, atol=1e-6)
    assert pad_to(a, 384).shape == (3, 384)
    with pytest.raises(ValueError, match="do not fit"):
        pad_to(a, 128)


def test_region_tokens_say_when_and_where():
    tokens = region_tokens(_regions(12.0, 0), 384)
    assert (tokens.modalities == int(Modality.IMAGE)).all()
    assert tokens.labels == ("12.0s whole", "12.0s tile 1", "12.0s tile 2")
    assert (tokens.times == 12.0).all() and (tokens.boxes[:, 2] == 32).all()
    query = region_tokens(_regions(0.0, 0), 384, prefix="query")
    assert query.labels[0] == "query whole" and np.isnan(query.times).all()
    both = video_image_tokens([_regions(5.0, 1), _regions(1.0, 2, n=1)], 384)
    assert both.times.tolist() == [1.0, 5.0, 5.0, 5.0]  # in time order


def test_a_video_keeps_its_words_and_gains_its_regions(encoder):
    video = make_video("a", "hello world")
    words_only = encoder.encode_video(video)
    video.frame_regions.extend([_regions(0.0, 3), _regions(1.0, 4)])
    tokens = encoder.encode_video(video)
    picture = tokens.modalities == int(Modality.IMAGE)
    assert picture.sum() == 6 and int(Modality.IMAGE) not in words_only.modalities
    np.testing.assert_allclose(tokens.vectors[~picture], words_only.vectors, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0, atol=1e-5)


def test_a_query_picture_becomes_regions_then_words(encoder, cockatoo_frame):
    query = encoder.encode_image_query(cockatoo_frame, "a white bird")
    picture = query.modalities == int(Modality.IMAGE)
    height, width = cockatoo_frame.shape[:2]
    assert picture[0] and picture.sum() > 1 and query.labels[0] == "query whole"
    assert [label for label, p in zip(query.labels, picture) if not p] == ["white", "bird"]
    assert (query.modalities[~picture] == int(Modality.PAD)).all()
    assert (query.boxes[picture, 2] <= width + 1e-3).all()
    assert (query.boxes[picture, 3] <= height + 1e-3).all()
    np.testing.assert_allclose(np.linalg.norm(query.vectors, axis=1), 1.0, atol=1e-5)
    alone = encoder.encode_image_query(cockatoo_frame)
    assert (alone.modalities == int(Modality.IMAGE)).all()


def test_a_flat_picture_leaves_only_the_words(encoder):
    black = np.zeros((240, 320, 3), np.uint8)
    assert len(encoder.encode_image_query(black)) == 0
    words = encoder.encode_image_query(black, "red car")
    assert (words.modalities == int(Modality.PAD)).all() and words.labels == ("red", "car")
