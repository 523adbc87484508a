"""The one interface every encoder implements, and the token vectors it returns.

A query becomes ``(Q, D)`` unit vectors. A video becomes ``(N, D)`` unit vectors, each with its
modality, a readable label (the word, or the frame time and what was seen), a timestamp and, where
it has one, a box in the frame. Nothing downstream knows which encoder made them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from backend.ingest.types import IngestedVideo


class Modality(IntEnum):
    """Token modality ids; 0 marks padding and system tokens, as in CLaMR (ids 0-4 are CLaMR's).

    ``IMAGE`` is what frames *look like*: an image model's features of frame regions (the
    default encoder's; CLaMR reads pixels into ``VIDEO`` instead). Those vectors live in the image
    model's space, not the text encoder's, so only query tokens of that same space are scored
    against them (see :func:`comparable_modalities`).
    """

    PAD = 0
    VIDEO = 1
    ASR = 2
    OCR = 3
    DESCRIPTION = 4
    IMAGE = 5

    @property
    def key(self) -> str:
        return self.name.lower()


#: The modalities a video document can have, in a fixed order (the columns of score tables).
DOCUMENT_MODALITIES: tuple[Modality, ...] = (
    Modality.VIDEO,
    Modality.ASR,
    Modality.OCR,
    Modality.DESCRIPTION,
    Modality.IMAGE,
)

#: Document modalities whose vectors are image-model features rather than the encoder's text
#: space: a query token is scored against them only if it carries that modality itself.
IMAGE_SPACE_MODALITIES: frozenset[Modality] = frozenset({Modality.IMAGE})


def comparable_modalities(query_modality: int) -> tuple[Modality, ...]:
    """The document modalities a query token of this modality may be scored against.

    A query token's modality says which space it lives in: ``PAD`` (words, or CLaMR's one shared
    space, images included) meets every document modality but the image-feature ones; a token
    of an image-feature modality (a region of the default encoder's query image) meets only its
    own.

    >>> [m.key for m in comparable_modalities(Modality.PAD)]
    ['video', 'asr', 'ocr', 'description']
    >>> [m.key for m in comparable_modalities(Modality.IMAGE)]
    ['image']
    """
    if query_modality in IMAGE_SPACE_MODALITIES:
        return (Modality(query_modality),)
    return tuple(m for m in DOCUMENT_MODALITIES if m not in IMAGE_SPACE_MODALITIES)


@dataclass(frozen=True)
class TokenVectors:
    """Token vectors with what each token is. All arrays share their first dimension ``N``."""

    vectors: np.ndarray  # (N, D) float32, unit length
    modalities: np.ndarray  # (N,) int8, Modality ids
    labels: tuple[str, ...]  # (N,) readable token labels
    times: np.ndarray  # (N,) float32 seconds, NaN where a token has no time
    boxes: np.ndarray  # (N, 4) float32 (x0, y0, x1, y1) in frame pixels, NaN where none

    def __post_init__(self) -> None:
        n = self.vectors.shape[0]
        sizes = (len(self.modalities), len(self.labels), len(self.times), len(self.boxes))
        if any(size != n for size in sizes):
            raise ValueError(f"token arrays disagree in length: {n} vectors, others {sizes}")

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def select(self, mask: np.ndarray) -> TokenVectors:
        """The tokens where ``mask`` is true (a boolean array or index array)."""
        return TokenVectors(
            vectors=self.vectors[mask],
            modalities=self.modalities[mask],
            labels=tuple(np.asarray(self.labels, dtype=object)[mask].tolist()),
            times=self.times[mask],
            boxes=self.boxes[mask],
        )

    @classmethod
    def empty(cls, dim: int) -> TokenVectors:
        return cls(
            vectors=np.zeros((0, dim), np.float32),
            modalities=np.zeros((0,), np.int8),
            labels=(),
            times=np.zeros((0,), np.float32),
            boxes=np.zeros((0, 4), np.float32),
        )

    @classmethod
    def concatenate(cls, parts: Sequence[TokenVectors], dim: int) -> TokenVectors:
        if not parts:
            return cls.empty(dim)
        return cls(
            vectors=np.concatenate([p.vectors for p in parts]).astype(np.float32, copy=False),
            modalities=np.concatenate([p.modalities for p in parts]).astype(np.int8, copy=False),
            labels=tuple(label for p in parts for label in p.labels),
            times=np.concatenate([p.times for p in parts]).astype(np.float32, copy=False),
            boxes=np.concatenate([p.boxes for p in parts]).astype(np.float32, copy=False),
        )


class Encoder(ABC):
    """Turns queries and ingested videos into token vectors of one shared space."""

    #: Registered name ("default", "clamr"); stored with every index it builds.
    name: str
    #: Vector dimension.
    dim: int

    @property
    def identity(self) -> str:
        """What must match for two stores to be comparable (name, weights, adapter)."""
        return self.name

    @abstractmethod
    def encode_queries(self, texts: Sequence[str]) -> list[TokenVectors]:
        """One ``(Q_i, D)`` set of unit vectors per query; modalities are ``PAD``."""

    def encode_image_query(self, image: np.ndarray, text: str = "") -> TokenVectors:
        """``(Q, D)`` unit vectors for a query that is a picture ``(H, W, 3)`` uint8 RGB, with
        optional text. A token's modality says what it may be scored against
        (:func:`comparable_modalities`): ``PAD`` for words (and for image tokens in a shared
        space), an image-feature modality for regions of the picture; boxes are in its pixels.
        """
        raise NotImplementedError(f"the {self.name} encoder cannot search by image")

    @abstractmethod
    def encode_videos(self, videos: Sequence[IngestedVideo]) -> list[TokenVectors]:
        """One ``(N_i, D)`` set of unit vectors per video, each token with its modality."""

    def encode_query(self, text: str) -> TokenVectors:
        return self.encode_queries([text])[0]

    def encode_video(self, video: IngestedVideo) -> TokenVectors:
        return self.encode_videos([video])[0]
