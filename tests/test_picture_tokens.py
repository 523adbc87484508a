"""Picture tokens through re-encoding: carried over unchanged with a new text adapter (nothing
decoded), and back from stored tokens to frame regions."""

from __future__ import annotations

import numpy as np
from peft import LoraConfig, get_peft_model

from backend.config import EncoderSettings, Settings
from backend.encoders.base import Modality
from backend.encoders.default.encoder import DefaultEncoder
from backend.encoders.default.token_model import load_minilm
from backend.picture_tokens import active_tokens, missing_pictures, regions_from_tokens
from backend.reencode import reencode
from backend.store.video_store import VideoStore
from backend.train.backbones.minilm import MINILM_LORA_TARGETS


def _pictures(tokens):
    return tokens.select(tokens.modalities == int(Modality.IMAGE))


def test_a_new_adapter_keeps_the_picture_tokens_as_they_are(picture_videos, tmp_path):
    encoder = DefaultEncoder()
    store = VideoStore.open(tmp_path / "store", encoder.identity, encoder.dim)
    video = picture_videos[1]
    store.add_video(video, encoder.encode_video(video))
    before = active_tokens(store, video.probe.video_id)
    regions = regions_from_tokens(before)
    assert [r.time_s for r in regions] == [r.time_s for r in video.frame_regions]
    np.testing.assert_allclose(regions[0].features[:, :320], video.frame_regions[0].features)
    assert regions[0].parts == video.frame_regions[0].parts
    _, model = load_minilm()
    adapter = tmp_path / "adapter"
    get_peft_model(model, LoraConfig(r=2, target_modules=MINILM_LORA_TARGETS)).save_pretrained(
        adapter
    )
    settings = Settings(store=store.uri, encoder=EncoderSettings(adapter=str(adapter)))
    report = reencode(store, settings, current=EncoderSettings())
    assert report.activated and report.warnings == []  # nothing decoded
    after = active_tokens(store, video.probe.video_id)
    np.testing.assert_allclose(_pictures(after).vectors, _pictures(before).vectors, atol=1e-6)
    assert _pictures(after).labels == _pictures(before).labels
    np.testing.assert_allclose(_pictures(after).boxes, _pictures(before).boxes)
    assert missing_pictures(store) == []
