"""The CLaMR encoder end to end on real videos: tokens, batching, PEFT adapters, loading errors."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import Qwen2_5_VLForConditionalGeneration

from backend.config import EncoderSettings
from backend.encoders import build_encoder
from backend.encoders.base import DOCUMENT_MODALITIES, Modality, comparable_modalities
from backend.encoders.clamr import build
from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.loading import ClamrLoadError
from backend.encoders.clamr.modeling_clamr import CLAMR_LORA_TARGETS, ClamrModel
from backend.encoders.clamr.tiny import build_tiny_tokenizer, save_tiny_checkpoint, tiny_config

QUERIES = ["bin blue at f two now", "Frame = 22", "a man speaking"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> dict[str, Path]:
    """A tiny base checkpoint folder, a LoRA adapter for it, and the adapter in old key names."""
    root = tmp_path_factory.mktemp("clamr")
    base = save_tiny_checkpoint(root / "base")
    model = ClamrModel.from_pretrained(base)
    config = LoraConfig(
        r=8, lora_alpha=8, target_modules=CLAMR_LORA_TARGETS, task_type="FEATURE_EXTRACTION"
    )
    adapted = get_peft_model(model, config)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # LoRA starts as a no-op (B = 0); make it change the vectors
        for name, parameter in adapted.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    adapted.save_pretrained(root / "adapter")
    old = root / "adapter_pre_4_52"  # as transformers < 4.52 named Qwen2.5-VL's text layers
    old.mkdir()
    (old / "adapter_config.json").write_text((root / "adapter" / "adapter_config.json").read_text())
    weights = load_file(root / "adapter" / "adapter_model.safetensors")
    renamed = {
        k.replace("model.model.language_model.", "model.model.").replace(
            "model.model.visual.", "model.visual."
        ): v
        for k, v in weights.items()
    }
    assert any(".model.layers." in k for k in renamed)
    save_file(renamed, old / "adapter_model.safetensors")
    return {"base": base, "adapter": root / "adapter", "old_adapter": old}


def _encoder(checkpoint, adapter: str, batch_size: int = 8) -> ClamrEncoder:
    settings = EncoderSettings(
        name="clamr",
        model=str(checkpoint["base"]),
        adapter=adapter,
        device="cpu",
        batch_size=batch_size,
    )
    return build_encoder(settings)


@pytest.fixture
def encoder(model, processor) -> ClamrEncoder:
    return ClamrEncoder.from_model(model, processor, batch_size=8)


def test_video_tokens_are_modality_tokens_with_unit_vectors(
    encoder, grid_video, counter_video, unit_norms
):
    grid, counter = encoder.encode_videos([grid_video, counter_video])
    for tokens in (grid, counter):
        assert tokens.dim == 128 and len(tokens) > 0
        unit_norms(tokens.vectors)
        assert set(np.unique(tokens.modalities)) <= {int(m) for m in DOCUMENT_MODALITIES}
        assert int(Modality.PAD) not in tokens.modalities
    # every modality of CLaMR's one space (IMAGE is the default encoder's picture features)
    assert {int(m) for m in comparable_modalities(Modality.PAD)} == set(np.unique(grid.modalities))
    spoken = grid.modalities == Modality.ASR
    assert list(np.asarray(grid.labels)[spoken]).count("two") >= 1
    video = counter.modalities == Modality.VIDEO
    assert all(label.startswith("frame @ ") for label in np.asarray(counter.labels)[video])
    assert not np.isnan(counter.boxes[video]).any() and not np.isnan(counter.times[video]).any()


def test_query_keeps_prefix_words_and_augmentation(encoder, unit_norms):
    (query,) = encoder.encode_queries(["bin blue"])
    unit_norms(query.vectors)
    assert query.labels[0] == "Query:" and query.labels[-1] == "<|endoftext|>"
    assert (query.modalities == Modality.PAD).all()
    assert np.isnan(query.times).all() and np.isnan(query.boxes).all()


def test_batch_equals_one_by_one(model, processor, grid_video, counter_video):
    batched = ClamrEncoder.from_model(model, processor, batch_size=4)
    single = ClamrEncoder.from_model(model, processor, batch_size=1)
    for a, b in zip(
        batched.encode_videos([grid_video, counter_video]),
        single.encode_videos([grid_video, counter_video]),
        strict=True,
    ):
        assert a.labels == b.labels
        assert np.allclose(a.vectors, b.vectors, atol=1e-5)
    for a, b in zip(batched.encode_queries(QUERIES), single.encode_queries(QUERIES), strict=True):
        assert np.allclose(a.vectors, b.vectors, atol=1e-5)


def test_encoding_is_deterministic(encoder, grid_video):
    first, second = encoder.encode_video(grid_video), encoder.encode_video(grid_video)
    assert np.array_equal(first.vectors, second.vectors)


def test_adapter_saved_and_reloaded_gives_identical_vectors(checkpoint, grid_video):
    from peft import PeftModel

    base = ClamrModel.from_pretrained(checkpoint["base"])
    processor_encoder = _encoder(checkpoint, "none")
    in_memory = PeftModel.from_pretrained(copy.deepcopy(base), checkpoint["adapter"])
    reference = ClamrEncoder.from_model(in_memory, processor_encoder.processor)
    loaded = _encoder(checkpoint, str(checkpoint["adapter"]))
    old_names = _encoder(checkpoint, str(checkpoint["old_adapter"]))

    expected = reference.encode_video(grid_video).vectors
    assert np.array_equal(loaded.encode_video(grid_video).vectors, expected)
    assert np.array_equal(old_names.encode_video(grid_video).vectors, expected)
    without = processor_encoder.encode_video(grid_video).vectors
    assert not np.allclose(without, expected, atol=1e-3)  # the adapter really was applied
    assert np.array_equal(
        loaded.encode_query(QUERIES[0]).vectors, reference.encode_query(QUERIES[0]).vectors
    )


def test_build_by_name_is_lazy_and_names_its_weights(checkpoint):
    encoder = build(
        EncoderSettings(name="clamr", model=str(checkpoint["base"]), adapter="none", device="cpu")
    )
    assert encoder._model is None  # nothing loaded until the first query or video
    assert encoder.name == "clamr" and encoder.dim == 128
    assert str(checkpoint["base"]) in encoder.identity and "no-adapter" in encoder.identity


def test_missing_projection_is_seeded_the_same_every_time(tmp_path, caplog):
    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)  # a plain Qwen2.5-VL checkpoint: no custom_text_proj in it
    Qwen2_5_VLForConditionalGeneration(tiny_config(tokenizer)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    from backend.encoders.clamr.tiny import tiny_image_processor

    tiny_image_processor().save_pretrained(tmp_path)
    settings = EncoderSettings(name="clamr", model=str(tmp_path), adapter="none", device="cpu")
    with caplog.at_level(logging.WARNING):
        first = build(settings).encode_query("seed")
    assert "custom_text_proj" in caplog.text
    torch.manual_seed(123)  # the global seed must not matter
    second = build(settings).encode_query("seed")
    assert np.array_equal(first.vectors, second.vectors)


def test_four_bit_on_cpu_is_refused_clearly():
    settings = EncoderSettings(name="clamr", device="cpu", load_in_4bit=True)
    with pytest.raises(ClamrLoadError, match=r"4-bit.*CUDA GPU"):
        build(settings)


def test_missing_local_model_or_adapter_says_how_to_provide_it(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ClamrLoadError, match=r"does not exist.*local folder.*Hugging Face name"):
        build(EncoderSettings(name="clamr", model=str(missing), device="cpu"))
    with pytest.raises(ClamrLoadError, match="adapter folder does not exist"):
        build(EncoderSettings(name="clamr", adapter=str(missing), device="cpu"))


def test_unknown_hub_names_offline_fail_with_instructions(checkpoint, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    encoder = build(EncoderSettings(name="clamr", device="cpu"))  # meetdavidwan/clamr, not cached
    with pytest.raises(ClamrLoadError, match=r"meetdavidwan/clamr.*local folder.*internet"):
        encoder.encode_query("anything")
    settings = EncoderSettings(
        name="clamr", model="no-such-org/no-model", adapter="none", device="cpu"
    )
    with pytest.raises(ClamrLoadError, match=r"no-such-org/no-model.*hf download"):
        build(settings).encode_query("anything")


def test_store_and_search_take_clamr_tokens_unchanged(encoder, grid_video, counter_video, tmp_path):
    from backend.search.searcher import Searcher
    from backend.store.video_store import VideoStore

    store = VideoStore.open(tmp_path / "store", encoder.identity, encoder.dim)
    for video, tokens in zip(
        (grid_video, counter_video), encoder.encode_videos([grid_video, counter_video]), strict=True
    ):
        store.add_video(video, tokens)
    hits = Searcher(store, encoder).search("bin blue at f two now", k=2)
    assert {h.video_id for h in hits} == {"bbaf2n", "counter"}
    grid = next(h for h in hits if h.video_id == "bbaf2n")
    assert set(grid.scores) == {"video", "asr", "ocr", "description", "image"}
    assert grid.scores["image"] is None  # CLaMR stores no picture-feature tokens
    assert all(grid.scores[m] is not None for m in ("video", "asr", "ocr", "description"))
    query_labels = {m.query_token for m in grid.matches["asr"]}
    assert "Query:" in query_labels and "<|endoftext|>" in query_labels
    asr_words = {m.label for m in grid.matches["asr"]}
    assert asr_words <= {"ASR:", "bin", "blue", "at", "f", "two", "now"}
