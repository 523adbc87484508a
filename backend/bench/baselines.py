"""What our search is compared with, on the same data in the same run.

- torch einsum: plain MaxSim (one max over all of a video's tokens) over a dense
  ``(videos, tokens, D)`` float32 tensor, the brute force most late-interaction code does;
- maxsim-cpu (Mixedbread's Rust/BLAS kernel), the same computation, if it is installed;
- LanceDB's flat multivector search over the store's own ``tokens`` table: one row per video and
  modality, so its top rows give exactly our per-modality ``modality_max`` ranking.

Each returns the top-k video indices (einsum, maxsim-cpu) or ids (LanceDB) for one query.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow.compute as pc
import torch

from backend.store.token_stream import token_batches
from backend.store.video_store import VideoStore

Ranker = Callable[[np.ndarray], list[str]]


def dense_tokens(store: VideoStore, video_ids: list[str], tokens_per_video: int) -> np.ndarray:
    """All videos' tokens as one ``(V, T, D)`` float32 array (every video has ``T`` tokens)."""
    position = {video_id: i for i, video_id in enumerate(video_ids)}
    out = np.zeros((len(video_ids), tokens_per_video, store.dim), np.float32)
    filled = np.zeros(len(video_ids), np.int64)
    for batch in token_batches(store):
        column = batch.column("vectors")
        flat = column.flatten().flatten().to_numpy(zero_copy_only=False).reshape(-1, store.dim)
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        starts = np.cumsum(lengths) - lengths
        for video_id, start, length in zip(batch.column("video_id").to_pylist(), starts, lengths):
            i = position.get(video_id)
            if i is not None:
                out[i, filled[i] : filled[i] + length] = flat[start : start + length]
                filled[i] += length
    return out


def einsum_ranker(dense: np.ndarray, video_ids: list[str], k: int) -> Ranker:
    docs = torch.from_numpy(dense)

    def rank(query: np.ndarray) -> list[str]:
        scores = torch.einsum("qd,ntd->nqt", torch.from_numpy(query), docs).amax(dim=2).sum(1)
        return [video_ids[i] for i in torch.topk(scores, k).indices.tolist()]

    return rank


def maxsim_cpu_ranker(dense: np.ndarray, video_ids: list[str], k: int) -> Ranker | None:
    """None when the ``maxsim-cpu`` package is not installed."""
    try:
        import maxsim_cpu
    except ImportError:
        return None

    def rank(query: np.ndarray) -> list[str]:
        scores = maxsim_cpu.maxsim_scores(np.ascontiguousarray(query), dense)
        top = np.argpartition(-scores, k - 1)[:k]
        return [video_ids[i] for i in top[np.argsort(-scores[top])]]

    return rank


def lancedb_flat_ranker(store: VideoStore, k: int, n_modalities: int = 4) -> Ranker:
    """LanceDB's exhaustive multivector search (cosine; distance = Q - sum_q max cos)."""
    table = store.table(store.tokens_table)

    def rank(query: np.ndarray) -> list[str]:
        rows = (
            table.search(query, vector_column_name="vectors")
            .distance_type("cosine")
            .select(["video_id", "_distance"])
            .limit(k * n_modalities)
            .to_arrow()
        )
        ranked = dict.fromkeys(rows.sort_by("_distance")["video_id"].to_pylist())
        return list(ranked)[:k]

    return rank
