"""CLaMR's inputs: a query as ``"Query: " + text + 10 x <|endoftext|>``; a video as ONE chat turn.

A document is the sequence CLaMR's ``process_combined`` builds with Qwen2.5-VL's chat template::

    <|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n
    <|vision_start|><|video_pad|> x T<|vision_end|> OCR: ... ASR: ... Description: ...<|im_end|>\\n

(frames first, then the texts in CLaMR's collator order: OCR, ASR, description). Every token is
labelled with its modality id (``Modality``: VIDEO for vision tokens, OCR/ASR/DESCRIPTION for a
text *including its tag*, PAD for template and padding tokens), a readable label, a time and a
box. Limits are CLaMR's: queries 64 tokens, each text 256 tokens (paper, App. B.1), 2048 in all,
at most 10 frames of at most 224x224 pixels.

The sequence is assembled from token ids rather than by calling transformers' processor on the
template string: the ids are the same, each token's origin is known exactly, and no video
processor (torchvision) is needed. Batches are padded on the left, as ColQwen2.5 does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerFast, Qwen2VLImageProcessor

from backend.encoders.base import Modality
from backend.encoders.clamr import frames as vision
from backend.encoders.clamr.texts import (
    NO_BOX,
    LabelledWord,
    TokenRun,
    asr_words,
    description_words,
    ocr_words,
    run_arrays,
    tokenize_template,
    tokenize_words,
)
from backend.ingest.types import Frame, IngestedVideo

SYSTEM_PROMPT = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
TURN_END = "<|im_end|>\n"
QUERY_PREFIX = "Query: "
QUERY_AUGMENTATION = "<|endoftext|>"
#: CLaMR's tags: ``m.upper()`` for ocr/asr, ``m.capitalize()`` for description.
TAGS = {Modality.OCR: " OCR: ", Modality.ASR: " ASR: ", Modality.DESCRIPTION: " Description: "}
MIN_TEXT_TOKENS = 32  # each text keeps at least this much when frames compete for the total


@dataclass(frozen=True)
class ClamrProcessingConfig:
    """CLaMR's length limits and frame handling; the defaults are the released model's."""

    query_max_tokens: int = 64
    query_augmentation_tokens: int = 10  # CLaMR's code appends 10 (the paper says five)
    text_max_tokens: int = 256  # per text modality, tag included (paper: 256; code default 512)
    max_total_tokens: int = 2048
    max_frames: int = 10
    frame_max_pixels: int = 224 * 224
    frame_min_pixels: int = 4 * 28 * 28  # qwen_vl_utils' MIN_PIXELS
    frames_as: Literal["video", "images"] = "video"  # CLaMR: one video clip
    video_fps: float = 1.0  # CLaMR passes fps=1: 2 s per temporal patch in M-RoPE
    text_order: tuple[Modality, ...] = (Modality.OCR, Modality.ASR, Modality.DESCRIPTION)
    keep_empty_texts: bool = True  # CLaMR always writes every tag, even with nothing after it


@dataclass(frozen=True)
class EncodedSequence:
    """One query or document before padding: ``(L,)`` arrays plus its vision inputs."""

    ids: np.ndarray  # (L,) int64
    modalities: np.ndarray  # (L,) int8
    labels: tuple[str, ...]
    times: np.ndarray  # (L,) float32
    boxes: np.ndarray  # (L, 4) float32
    videos: tuple[vision.VisionTokens, ...] = ()
    images: tuple[vision.VisionTokens, ...] = ()

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass
class ClamrBatch:
    """Padded model inputs and the sequences they came from (sequence ``i`` ends row ``i``)."""

    inputs: dict[str, torch.Tensor]
    sequences: list[EncodedSequence] = field(default_factory=list)

    def rows(self, output: torch.Tensor) -> list[torch.Tensor]:
        """Per sequence, its ``(L_i, ...)`` slice of a ``(B, L, ...)`` output (left padding)."""
        return [output[i, output.shape[1] - len(s) :] for i, s in enumerate(self.sequences)]


def share_budget(lengths: Sequence[int], budget: int) -> list[int]:
    """Cut lengths to fit ``budget``, the longest first, so short texts stay whole.

    >>> share_budget([10, 300, 500], 400)
    [10, 195, 195]
    >>> share_budget([10, 20], 100)
    [10, 20]
    """
    if sum(lengths) <= budget:
        return list(lengths)
    kept = [0] * len(lengths)
    remaining, left = max(budget, 0), len(lengths)
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        kept[i] = min(lengths[i], remaining // left)
        remaining -= kept[i]
        left -= 1
    return kept


class ClamrProcessor:
    """Builds CLaMR's query and document sequences and pads them into model batches."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerFast,
        geometry: vision.PatchGeometry,
        config: ClamrProcessingConfig | None = None,
    ) -> None:
        if not tokenizer.is_fast:
            raise TypeError("CLaMR's processor needs a fast tokenizer (for word offsets)")
        self.tokenizer = tokenizer
        self.geometry = geometry
        self.config = config or ClamrProcessingConfig()
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _SPECIAL}
        missing = [t for t, i in ids.items() if i is None or i == tokenizer.unk_token_id]
        if missing:
            raise ValueError(f"tokenizer lacks Qwen2.5-VL's special tokens {missing}")
        self.token_ids = ids
        self.pad_token_id = (
            tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else ids[QUERY_AUGMENTATION]
        )
        self._header = tokenize_template(tokenizer, SYSTEM_PROMPT)
        self._footer = tokenize_template(tokenizer, TURN_END)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, config: ClamrProcessingConfig | None = None
    ) -> ClamrProcessor:
        """Tokenizer and (slow, torchvision-free) image-processor settings of a checkpoint."""
        tokenizer = AutoTokenizer.from_pretrained(str(path), use_fast=True)
        images = Qwen2VLImageProcessor.from_pretrained(str(path))
        geometry = vision.PatchGeometry(
            patch_size=images.patch_size,
            merge_size=images.merge_size,
            temporal_patch_size=images.temporal_patch_size,
            image_mean=tuple(images.image_mean),
            image_std=tuple(images.image_std),
            rescale_factor=images.rescale_factor,
        )
        return cls(tokenizer, geometry, config)

    # ------------------------------------------------------------------ queries
    def query_text_run(self, text: str) -> TokenRun:
        """A query's words after the ``Query: `` prefix, with the augmentation tokens, cut to
        ``query_max_tokens``."""
        words = [LabelledWord(w) for w in text.split()]
        run = tokenize_words(self.tokenizer, QUERY_PREFIX, words, Modality.PAD)
        n_aug = self.config.query_augmentation_tokens
        run.ids += [self.token_ids[QUERY_AUGMENTATION]] * n_aug
        run.labels += [QUERY_AUGMENTATION] * n_aug
        run.times += [math.nan] * n_aug
        run.boxes += [NO_BOX] * n_aug
        return run.head(self.config.query_max_tokens)

    def encode_query(self, text: str) -> EncodedSequence:
        return EncodedSequence(**run_arrays([self.query_text_run(text)]))

    def process_queries(self, texts: Sequence[str]) -> ClamrBatch:
        return self.collate([self.encode_query(t) for t in texts])

    # ---------------------------------------------------------------- documents
    def _text_runs(self, video: IngestedVideo) -> list[TokenRun]:
        sources = {
            Modality.OCR: ocr_words(video.text_spans),
            Modality.ASR: asr_words(video.transcript),
            Modality.DESCRIPTION: description_words(video),
        }
        runs = []
        for modality in self.config.text_order:
            words = sources[modality]
            if words or self.config.keep_empty_texts:
                run = tokenize_words(self.tokenizer, TAGS[modality], words, modality)
                runs.append(run.head(self.config.text_max_tokens))
        return runs

    def _vision_length(self, n_frames: int, per_group: int) -> int:
        if n_frames == 0:
            return 0
        if self.config.frames_as == "images":
            return n_frames * (per_group + 2)
        return math.ceil(n_frames / self.geometry.temporal_patch_size) * per_group + 2

    def _frames_that_fit(
        self, video: IngestedVideo, room: int
    ) -> tuple[list[Frame], tuple[int, int] | None]:
        """The frames to use (fewer when ``room`` tokens cannot hold them) and their size."""
        frames = vision.select_frames(video.frames, self.config.max_frames)
        if not frames:
            return [], None
        height, width = frames[0].image.shape[:2]
        size = vision.resized_size(
            height, width, self.geometry, self.config.frame_min_pixels, self.config.frame_max_pixels
        )
        if size is None:
            return [], None
        per_group = vision.tokens_per_group(size, self.geometry)
        count = len(frames)
        while count and self._vision_length(count, per_group) > room:
            count -= 1
        if count < len(frames):
            frames = vision.select_frames(frames, count)
        return frames, size

    def _vision_runs(
        self, frames: list[Frame], size: tuple[int, int]
    ) -> tuple[list[TokenRun], list[vision.VisionTokens], list[vision.VisionTokens]]:
        """Marker and vision-token runs, and the clips as videos (CLaMR) or as images."""
        start, end = self.token_ids["<|vision_start|>"], self.token_ids["<|vision_end|>"]
        if self.config.frames_as == "images":
            clips, pad = [[f] for f in frames], self.token_ids["<|image_pad|>"]
        else:
            clips, pad = [list(frames)], self.token_ids["<|video_pad|>"]
        runs, encoded = [], []
        for clip in clips:
            tokens = vision.vision_tokens(clip, size, self.geometry)
            encoded.append(tokens)
            n = tokens.n_tokens
            runs += [
                TokenRun(Modality.PAD, [start], ["<|vision_start|>"], [math.nan], [NO_BOX]),
                TokenRun(
                    Modality.VIDEO,
                    [pad] * n,
                    *map(list, (tokens.labels, tokens.times, tokens.boxes)),
                ),
                TokenRun(Modality.PAD, [end], ["<|vision_end|>"], [math.nan], [NO_BOX]),
            ]
        if self.config.frames_as == "images":
            return runs, [], encoded
        return runs, encoded, []

    def encode_document(self, video: IngestedVideo) -> EncodedSequence:
        cfg = self.config
        fixed = len(self._header) + len(self._footer)
        texts = self._text_runs(video)
        reserve = sum(min(len(r), MIN_TEXT_TOKENS) for r in texts)
        frames, size = self._frames_that_fit(video, cfg.max_total_tokens - fixed - reserve)
        vision_runs, videos, images = self._vision_runs(frames, size) if frames else ([], [], [])
        vision_len = sum(len(r) for r in vision_runs)
        budget = cfg.max_total_tokens - fixed - vision_len
        kept = share_budget([len(r) for r in texts], budget)
        texts = [run.head(n) for run, n in zip(texts, kept, strict=True)]
        runs = [self._header, *vision_runs, *texts, self._footer]
        return EncodedSequence(**run_arrays(runs), videos=tuple(videos), images=tuple(images))

    def process_videos(self, videos: Sequence[IngestedVideo]) -> ClamrBatch:
        return self.collate([self.encode_document(v) for v in videos])

    # ------------------------------------------------------------------ batches
    def collate(self, sequences: Sequence[EncodedSequence]) -> ClamrBatch:
        """Left-pad to the longest sequence; stack vision patches in sequence order."""
        longest = max(len(s) for s in sequences)
        input_ids = torch.full((len(sequences), longest), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(sequences), longest), dtype=torch.long)
        for row, seq in enumerate(sequences):
            input_ids[row, longest - len(seq) :] = torch.from_numpy(seq.ids)
            attention[row, longest - len(seq) :] = 1
        inputs = {"input_ids": input_ids, "attention_mask": attention}
        videos = [v for s in sequences for v in s.videos]
        if videos:
            seconds = self.geometry.temporal_patch_size / self.config.video_fps
            inputs["pixel_values_videos"] = torch.from_numpy(
                np.concatenate([v.patches for v in videos])
            )
            inputs["video_grid_thw"] = torch.tensor([v.grid_thw for v in videos], dtype=torch.long)
            inputs["second_per_grid_ts"] = torch.full((len(videos),), seconds, dtype=torch.float32)
        images = [v for s in sequences for v in s.images]
        if images:
            inputs["pixel_values"] = torch.from_numpy(np.concatenate([v.patches for v in images]))
            inputs["image_grid_thw"] = torch.tensor([v.grid_thw for v in images], dtype=torch.long)
        return ClamrBatch(inputs, list(sequences))


_SPECIAL = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
