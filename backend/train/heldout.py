"""Held-out retrieval metrics: every held-out query ranks the whole collection, as search does.

The model is wrapped as an ordinary :class:`Encoder` and scored with the backend's MaxSim
(``backend.search.maxsim``), so "before" and "after" measure exactly what a user's search would
return; metrics are trec_eval's through ``backend.eval.metrics`` (R@1, nDCG@10 ...).

When the store has a judged query set (queries imported or typed for a test collection, with
settled graded labels: ``backend.judging``), those queries are a group of their own, scored with
their grades (graded nDCG), and never trained on (``backend.train.data``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from backend.encoders.base import Encoder, Modality, TokenVectors
from backend.eval.metrics import mean, per_query_graded
from backend.ingest.types import IngestedVideo
from backend.judging.service import Judging
from backend.search.maxsim import maxsim_per_modality, modality_max, token_max
from backend.store.labels import query_text_key
from backend.store.video_store import VideoStore

N_MODALITY_IDS = len(Modality)
CHUNK = 16  # videos encoded at once
#: Query sets that are not a test collection: queries that joined when a search result was
#: labelled (they are training data like any label).
AD_HOC_SETS = frozenset({"search"})

Relevance = set[str] | Mapping[str, int]  # relevant video ids, or video id -> grade


def judged_relevance(store: VideoStore) -> dict[str, tuple[str, dict[str, int]]]:
    """The judged query set as ``{query key: (text, {video id: grade})}``: queries imported or
    typed into the query set that have at least one settled grade of 1 or more."""
    judging = Judging(store)
    snap = judging.snapshot()
    texts = {q.qid: q.text for q in snap.queries if q.set_name not in AD_HOC_SETS}
    out: dict[str, tuple[str, dict[str, int]]] = {}
    for settled in snap.settled.values():
        if settled.qid in texts:
            text = texts[settled.qid]
            out.setdefault(query_text_key(text), (text, {}))[1][settled.video_id] = settled.grade
    return {key: value for key, value in out.items() if any(g >= 1 for g in value[1].values())}


def _graded(relevant: Relevance) -> dict[str, int]:
    return dict(relevant) if isinstance(relevant, Mapping) else dict.fromkeys(relevant, 1)


def _pack(tokens: list[TokenVectors]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    vectors = torch.from_numpy(np.concatenate([t.vectors for t in tokens]).astype(np.float32))
    owner = torch.from_numpy(np.repeat(np.arange(len(tokens)), [len(t) for t in tokens]))
    modality = torch.from_numpy(np.concatenate([t.modalities for t in tokens]).astype(np.int64))
    return vectors, owner, modality


def evaluate_heldout(
    encoder: Encoder,
    videos: Mapping[str, IngestedVideo],
    groups: Mapping[str, Mapping[str, tuple[str, Relevance]]],
    aggregation: str = "modality_max",
) -> dict[str, dict[str, float]]:
    """Mean metrics per group of queries (``{key: (text, relevant ids or grades)}``); the
    collection is encoded once. Empty groups are left out."""
    groups = {name: queries for name, queries in groups.items() if queries}
    if not groups:
        return {}
    ids = sorted(videos)
    tokens: list[TokenVectors] = []
    for start in range(0, len(ids), CHUNK):
        tokens += encoder.encode_videos([videos[i] for i in ids[start : start + CHUNK]])
    vectors, owner, modality = _pack(tokens)
    texts = sorted({text for queries in groups.values() for text, _ in queries.values()})
    ranked: dict[str, list[tuple[str, float]]] = {}
    for text, query in zip(texts, encoder.encode_queries(texts)):
        q = torch.from_numpy(query.vectors)
        if aggregation == "token_max":
            scores = token_max(q, vectors, owner, len(ids))
        else:
            per_modality = maxsim_per_modality(
                q, vectors, owner, modality, len(ids), N_MODALITY_IDS
            )
            scores = modality_max(per_modality[:, 1:])  # column 0: PAD, never scored
        pairs = [(ids[i], float(s)) for i, s in enumerate(scores.tolist()) if not math.isnan(s)]
        ranked[text] = sorted(pairs, key=lambda p: -p[1])
    out = {}
    for name, queries in groups.items():
        grades = {key: _graded(rel) for key, (_, rel) in queries.items()}
        values = per_query_graded(grades, {key: ranked[t] for key, (t, _) in queries.items()})
        out[name] = {**mean(list(values.values())), "queries": float(len(values))}
    return out
