"""CLaMR's sequences from real frames: layout, labels, limits, and agreement with transformers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from backend.encoders.base import Modality
from backend.encoders.clamr import frames as vision
from backend.encoders.clamr.processing_clamr import (
    QUERY_AUGMENTATION,
    SYSTEM_PROMPT,
    TAGS,
    TURN_END,
    ClamrProcessingConfig,
    ClamrProcessor,
)
from backend.encoders.clamr.tiny import tiny_image_processor
from backend.ingest.types import Segment, Transcript


def _runs(modalities: np.ndarray) -> list[int]:
    """The modality of each maximal run of equal ids, in order."""
    change = np.flatnonzero(np.diff(modalities)) + 1
    return [int(modalities[i]) for i in np.concatenate([[0], change])]


def test_document_is_one_turn_frames_then_ocr_asr_description(processor, counter_video):
    seq = processor.encode_document(counter_video)
    pad, vid = int(Modality.PAD), int(Modality.VIDEO)
    ocr, asr, desc = int(Modality.OCR), int(Modality.ASR), int(Modality.DESCRIPTION)
    assert _runs(seq.modalities) == [pad, vid, pad, ocr, asr, desc, pad]
    # the template (system prompt, user header, vision markers, turn end) is all PAD
    assert seq.labels[0] == "<|im_start|>" and seq.modalities[0] == pad
    (video,) = seq.videos
    grid_t, grid_h, grid_w = video.grid_thw
    assert (seq.modalities == vid).sum() == grid_t * grid_h * grid_w // 4 == video.n_tokens
    assert grid_t == 2  # four frames -> two temporal patches of two frames


def test_ids_equal_the_whole_chat_string_tokenized(processor, tokenizer, grid_video):
    """Tokenizing part by part gives exactly the ids of CLaMR's templated string."""
    seq = processor.encode_document(grid_video)
    n_video = int((seq.modalities == Modality.VIDEO).sum())
    texts = {
        m: " ".join(processor.tokenizer.decode(seq.ids[seq.modalities == m]).split()) for m in TAGS
    }
    whole = (
        SYSTEM_PROMPT
        + "<|vision_start|>"
        + "<|video_pad|>" * n_video
        + "<|vision_end|>"
        + " OCR: "
        + " ASR: bin blue at f two now"
        + " Description: A man speaks a short command sentence to the camera."
        + TURN_END
    )
    assert tokenizer(whole, add_special_tokens=False)["input_ids"] == seq.ids.tolist()
    assert texts[Modality.ASR] == "ASR: bin blue at f two now"
    assert texts[Modality.OCR] == "OCR:"  # CLaMR writes every tag, even with no text after it


def test_text_tokens_carry_their_word_time_and_box(processor, grid_video, counter_video):
    seq = processor.encode_document(grid_video)
    asr = seq.modalities == Modality.ASR
    spoken = {w.text: w.start_s for w in grid_video.transcript.segments[0].words}
    for label, time in zip(np.asarray(seq.labels)[asr], seq.times[asr], strict=True):
        if label == "ASR:":
            assert np.isnan(time)
        else:
            assert time == pytest.approx(spoken[label])
    assert np.isnan(seq.boxes[asr]).all()

    seq = processor.encode_document(counter_video)
    ocr = np.flatnonzero(seq.modalities == Modality.OCR)
    spans = {s.text.split()[-1]: s for s in counter_video.text_spans}
    twenty_two = [i for i in ocr if seq.labels[i] == "22"]
    assert twenty_two, "the word '22' is among the OCR tokens"
    for i in twenty_two:
        assert seq.times[i] == pytest.approx(spans["22"].start_s)
        assert tuple(seq.boxes[i]) == spans["22"].box
    description = seq.modalities == Modality.DESCRIPTION
    assert np.isnan(seq.times[description]).all()


def test_frame_tokens_have_time_box_and_label(processor, counter_video):
    seq = processor.encode_document(counter_video)
    tokens = seq.modalities == Modality.VIDEO
    height, width = counter_video.frames[0].image.shape[:2]
    boxes = seq.boxes[tokens]
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width + 1e-3).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= height + 1e-3).all()
    # the merged 28x28 squares tile each temporal patch's frame exactly once
    per_group = tokens.sum() // 2
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[:per_group].sum()
    assert area == pytest.approx(width * height, rel=1e-4)
    times = sorted(set(seq.times[tokens].tolist()))
    frame_times = [f.time_s for f in counter_video.frames]
    assert times == pytest.approx(frame_times[::2])
    first = np.asarray(seq.labels)[tokens][0]
    assert first == f"frame @ {frame_times[0]:.1f}-{frame_times[1]:.1f} s (patch 0,0)"


def test_patches_equal_transformers_image_processor(counter_video):
    """Our patchify is transformers' slow Qwen2VLImageProcessor, video and image alike."""
    frames = counter_video.frames
    reference = tiny_image_processor()
    geometry = vision.PatchGeometry()
    size = vision.resized_size(*frames[0].image.shape[:2], geometry, 3136, 224 * 224)
    ours = vision.vision_tokens(frames, size, geometry)
    resized = [np.asarray(vision._resize(f.image, size)) for f in frames]
    video = reference(images=None, videos=[resized], return_tensors="np")
    assert tuple(video["video_grid_thw"][0]) == ours.grid_thw
    assert np.allclose(video["pixel_values_videos"], ours.patches, atol=1e-5)

    image = reference(
        images=[frames[0].image], min_pixels=3136, max_pixels=224 * 224, return_tensors="np"
    )
    single = vision.vision_tokens(frames[:1], size, geometry)
    assert tuple(image["image_grid_thw"][0]) == single.grid_thw
    assert np.allclose(image["pixel_values"], single.patches, atol=1e-5)


def test_query_is_prefixed_augmented_and_capped(processor):
    seq = processor.encode_query("bin blue at f two now")
    assert seq.labels[0] == "Query:"
    assert list(seq.labels[-10:]) == [QUERY_AUGMENTATION] * 10
    assert (seq.modalities == Modality.PAD).all()
    long = processor.encode_query(" ".join(["word"] * 200))
    assert len(long) == 64
    assert QUERY_AUGMENTATION not in long.labels  # truncation cuts the tail, as CLaMR's does


def test_per_modality_and_total_limits(tokenizer, grid_video):
    words = " ".join(f"w{i}" for i in range(600))
    chatty = replace(grid_video, transcript=Transcript("en", 1.0, (Segment(0.0, 3.0, words),)))
    seq = ClamrProcessor(tokenizer, vision.PatchGeometry()).encode_document(chatty)
    assert (seq.modalities == Modality.ASR).sum() == 256
    tight = ClamrProcessingConfig(max_total_tokens=200)
    seq = ClamrProcessor(tokenizer, vision.PatchGeometry(), tight).encode_document(chatty)
    assert len(seq) <= 200
    assert (seq.modalities == Modality.ASR).sum() > (seq.modalities == Modality.OCR).sum() > 0
    assert (seq.modalities == Modality.VIDEO).sum() > 0  # frames dropped, not all of them


def test_frames_as_images(tokenizer, counter_video):
    config = ClamrProcessingConfig(frames_as="images")
    seq = ClamrProcessor(tokenizer, vision.PatchGeometry(), config).encode_document(counter_video)
    assert not seq.videos and len(seq.images) == len(counter_video.frames)
    image_pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert ((seq.ids == image_pad) == (seq.modalities == Modality.VIDEO)).all()
    assert sorted(set(seq.times[seq.modalities == Modality.VIDEO].tolist())) == pytest.approx(
        [f.time_s for f in counter_video.frames]
    )


def test_select_frames_keeps_scene_changes_and_order(counter_video):
    frames = counter_video.frames
    chosen = vision.select_frames(frames, 2)
    assert len(chosen) == 2 and chosen[0].is_scene_change
    assert [f.time_s for f in chosen] == sorted(f.time_s for f in chosen)


def test_batches_pad_on_the_left(processor, grid_video, counter_video):
    batch = processor.process_videos([grid_video, counter_video])
    mask = batch.inputs["attention_mask"]
    lengths = [len(s) for s in batch.sequences]
    assert mask.sum(1).tolist() == lengths
    short = int(np.argmin(lengths))
    assert mask[short, 0] == 0 and mask[short, -1] == 1
    assert batch.inputs["video_grid_thw"].shape == (2, 3)
    assert batch.inputs["second_per_grid_ts"].tolist() == [2.0, 2.0]  # CLaMR's fps=1
