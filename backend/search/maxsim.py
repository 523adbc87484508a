"""CLaMR's late-interaction scores, per modality, over many videos at once.

For a query of ``Q`` unit vectors and a video whose tokens of modality ``m`` are ``D_m``::

    s_m = (1/Q) * sum_q max_{d in D_m} <q, d>
    modality_max = max_m s_m          (CLaMR's default: the best single modality wins)
    token_max    = (1/Q) * sum_q max_{d in all tokens} <q, d>

A toy collection: video 0 has one ASR token and one OCR token, video 1 one ASR token.

>>> import torch
>>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])                   # (Q=2, D=2)
>>> docs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])    # (N=3, D=2)
>>> video = torch.tensor([0, 0, 1])
>>> modality = torch.tensor([0, 1, 0])                            # column 0: asr, 1: ocr
>>> s = maxsim_per_modality(q, docs, video, modality, n_videos=2, n_modalities=2)
>>> s                      # rows: videos; columns: modalities; NaN where a video has none
tensor([[0.5000, 0.5000],
        [0.7000,    nan]])
>>> modality_max(s)
tensor([0.5000, 0.7000])
>>> token_max(q, docs, video, n_videos=2)
tensor([1.0000, 0.7000])
"""

from __future__ import annotations

from typing import Literal

import torch

ScoringMode = Literal["modality_max", "token_max"]


def _segment_max(similarity: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """``(Q, N)`` similarities -> ``(Q, n_segments)`` maxima over the tokens of each segment.

    The ``-inf`` buffer is made where the similarities are: a CPU buffer scattered into by CUDA
    indices is the crash fine-tuning hit on a GPU (``losses.modality_scores`` calls this).
    """
    out = similarity.new_full((similarity.shape[0], n_segments), float("-inf"))
    index = segment.to(device=similarity.device, dtype=torch.int64)
    index = index.unsqueeze(0).expand_as(similarity)
    return out.scatter_reduce(1, index, similarity, reduce="amax", include_self=True)


def maxsim_per_modality(
    query: torch.Tensor,
    doc_vectors: torch.Tensor,
    doc_video: torch.Tensor,
    doc_modality: torch.Tensor,
    n_videos: int,
    n_modalities: int,
) -> torch.Tensor:
    """``s_m`` for every video and modality: ``(n_videos, n_modalities)``, NaN where empty.

    ``query`` is ``(Q, D)``; ``doc_vectors`` ``(N, D)`` holds the tokens of all videos, with
    ``doc_video`` ``(N,)`` in ``[0, n_videos)`` and ``doc_modality`` ``(N,)`` in
    ``[0, n_modalities)`` saying whose and which each token is.
    """
    similarity = query.to(doc_vectors.dtype) @ doc_vectors.T  # (Q, N)
    segment = (doc_video.to(torch.int64) * n_modalities + doc_modality.to(torch.int64)).to(
        similarity.device
    )
    best = _segment_max(similarity.float(), segment, n_videos * n_modalities)  # (Q, V*M)
    scores = best.mean(dim=0).view(n_videos, n_modalities)
    return torch.where(torch.isinf(scores), torch.nan, scores)


def token_max(
    query: torch.Tensor, doc_vectors: torch.Tensor, doc_video: torch.Tensor, n_videos: int
) -> torch.Tensor:
    """The max over all of a video's tokens, whatever their modality: ``(n_videos,)``."""
    similarity = query.to(doc_vectors.dtype) @ doc_vectors.T
    best = _segment_max(similarity.float(), doc_video.to(similarity.device), n_videos)
    scores = best.mean(dim=0)
    return torch.where(torch.isinf(scores), torch.nan, scores)


def modality_max(per_modality: torch.Tensor) -> torch.Tensor:
    """The best modality's score per video, from ``(n_videos, n_modalities)``; NaN if none.

    ``token_max`` cannot be recovered from the per-modality means (the max moves inside the
    mean), so it is computed from the tokens by :func:`token_max`.
    """
    filled = torch.nan_to_num(per_modality, nan=float("-inf"))
    best = filled.max(dim=1).values
    return torch.where(torch.isinf(best), torch.nan, best)
