"""CLaMR queries that are pictures, on the tiny random ColQwen2.5 and real corpus frames."""

from __future__ import annotations

import numpy as np
import pytest

from backend.encoders.base import Modality
from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.image_query import encode_image_query
from backend.search.query_kinds import video_scores
from backend.search.searcher import Searcher
from backend.store.video_store import VideoStore


@pytest.fixture
def encoder(model, processor) -> ClamrEncoder:
    return ClamrEncoder.from_model(model, processor, batch_size=8)


def test_picture_becomes_patch_tokens_then_the_query_text(processor, counter_video):
    image = counter_video.frames[0].image
    alone = encode_image_query(processor, image)
    with_text = encode_image_query(processor, image, "Frame = 22")
    pads = int((alone.ids == processor.token_ids["<|image_pad|>"]).sum())
    assert pads == alone.images[0].n_tokens > 0
    assert alone.labels[0] == "<|vision_start|>" and alone.labels[pads + 1] == "<|vision_end|>"
    assert len(alone) == pads + 2  # no "Query:" and no augmentation without text
    assert with_text.labels[: len(alone)] == alone.labels
    assert with_text.labels[len(alone)] == "Query:" and with_text.labels[-1] == "<|endoftext|>"
    height, width = image.shape[:2]
    boxes = alone.boxes[1 : pads + 1]
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width + 1e-3).all()
    assert (boxes[:, 3] <= height + 1e-3).all()
    assert (alone.modalities == int(Modality.PAD)).all()


def test_image_query_vectors_are_shared_space_query_tokens(encoder, counter_video, unit_norms):
    image = counter_video.frames[1].image
    query = encoder.encode_image_query(image, "Frame = 22")
    unit_norms(query.vectors)
    assert query.dim == 128 and (query.modalities == int(Modality.PAD)).all()
    again = encoder.encode_image_query(image, "Frame = 22")
    assert np.allclose(query.vectors, again.vectors, atol=1e-5)
    picture_only = encoder.encode_image_query(image)
    assert len(picture_only) < len(query)


def test_search_by_picture_scores_every_clamr_modality(
    encoder, grid_video, counter_video, tmp_path
):
    store = VideoStore.open(tmp_path / "store", encoder.identity, encoder.dim)
    videos = [grid_video, counter_video]
    tokens = dict(zip(("bbaf2n", "counter"), encoder.encode_videos(videos), strict=True))
    for video, encoded in zip(videos, tokens.values(), strict=True):
        store.add_video(video, encoded)
    searcher = Searcher(store, encoder)
    image = counter_video.frames[2].image
    hits = searcher.search_image(image, "Frame = 22", k=2, exact=True)
    assert {h.video_id for h in hits} == {"bbaf2n", "counter"}
    query = encoder.encode_image_query(image, "Frame = 22")
    for hit in hits:
        per_modality, _ = video_scores(query, tokens[hit.video_id])
        assert hit.scores["image"] is None
        for modality in ("video", "asr", "ocr", "description"):
            want = float(per_modality[int(Modality[modality.upper()])])
            got = hit.scores[modality]
            assert (got is None) == np.isnan(want)
            if got is not None:
                assert got == pytest.approx(want, abs=1e-4)
        assert hit.score == pytest.approx(max(v for v in hit.scores.values() if v is not None))
