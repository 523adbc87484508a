"""Top-k videos for a text query, with every modality's score, the moment, and token matches."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from backend.encoders.base import DOCUMENT_MODALITIES, Encoder, Modality, TokenVectors
from backend.search.maxsim import ScoringMode, maxsim_per_modality, modality_max, token_max
from backend.search.moments import best_moment
from backend.search.token_matrix import TokenMatrix
from backend.store.video_store import VideoStore

N_MODALITY_IDS = max(int(m) for m in Modality) + 1


class QueryError(ValueError):
    """A query that cannot be searched; the message is for the user."""


@dataclass(frozen=True)
class TokenMatch:
    """A query token and the document token it matched best (the argmax of its MaxSim)."""

    query_token: str
    label: str
    similarity: float
    time_s: float | None
    box: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class SearchHit:
    rank: int
    video_id: str
    path: str
    score: float
    scores: dict[str, float | None]  # s_m for every modality (None: the video has none)
    best_modality: str | None
    moment_s: float | None
    matches: dict[str, list[TokenMatch]] = field(default_factory=dict)  # per modality


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _match(query_label: str, tokens: TokenVectors, index: int, similarity: float) -> TokenMatch:
    box = tokens.boxes[index]
    return TokenMatch(
        query_token=query_label,
        label=tokens.labels[index],
        similarity=round(float(similarity), 4),
        time_s=_optional(float(tokens.times[index])),
        box=None if np.isnan(box).any() else tuple(float(b) for b in box),
    )


class Searcher:
    """Exact MaxSim over the complete videos of a store; the packed tokens are cached."""

    def __init__(self, store: VideoStore, encoder: Encoder, moment_window_s: float = 2.0) -> None:
        self.store = store
        self.encoder = encoder
        self.moment_window_s = moment_window_s
        self._cache: tuple[tuple[int, int], TokenMatrix] | None = None
        self._lock = threading.Lock()

    def token_matrix(self) -> TokenMatrix:
        with self._lock:
            versions = self.store.versions()
            if self._cache is None or self._cache[0] != versions:
                complete = self.store.video_ids()  # read before tokens: see VideoStore
                rows = self.store.token_rows()
                self._cache = (versions, TokenMatrix.from_arrow(rows, self.store.dim, complete))
            return self._cache[1]

    def search(
        self,
        text: str,
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        return self.search_many([text], k, mode, modalities)[0]

    def search_many(
        self,
        texts: Sequence[str],
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
    ) -> list[list[SearchHit]]:
        if k < 1:
            raise QueryError(f"k must be at least 1, not {k}")
        if mode not in ("modality_max", "token_max"):
            raise QueryError(f"unknown scoring mode {mode!r}: use modality_max or token_max")
        self._allowed_modalities(modalities)  # a bad filter fails before any encoding
        queries = self.encoder.encode_queries(list(texts))
        for text, query in zip(texts, queries):
            if len(query) == 0:
                raise QueryError(f"the query {text!r} has no words to search for")
        return [self.search_vectors(query, k, mode, modalities) for query in queries]

    def search_vectors(
        self,
        query: TokenVectors,
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        """Search with query token vectors already encoded (``(Q, D)`` unit vectors)."""
        hits = self._rank(query, self.token_matrix(), k, mode, self._allowed_modalities(modalities))
        paths = {r.video_id: r.path for r in self.store.videos(h.video_id for h in hits)}
        return [replace(hit, path=paths.get(hit.video_id, "")) for hit in hits]

    @staticmethod
    def _allowed_modalities(names: Sequence[str] | None) -> list[Modality]:
        if not names:
            return list(DOCUMENT_MODALITIES)
        known = {m.key: m for m in DOCUMENT_MODALITIES}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise QueryError(f"unknown modality {unknown}: choose from {sorted(known)}")
        return [known[n] for n in names]

    def _rank(
        self,
        query: TokenVectors,
        matrix: TokenMatrix,
        k: int,
        mode: ScoringMode,
        allowed: list[Modality],
    ) -> list[SearchHit]:
        if matrix.n_videos == 0:
            return []
        q = torch.from_numpy(query.vectors)
        per_modality = maxsim_per_modality(
            q, matrix.vectors, matrix.video_index, matrix.modality, matrix.n_videos, N_MODALITY_IDS
        )
        columns = torch.tensor([int(m) for m in allowed])
        if mode == "modality_max":
            final = modality_max(per_modality[:, columns])
        else:
            keep = torch.isin(matrix.modality, columns)
            final = token_max(q, matrix.vectors[keep], matrix.video_index[keep], matrix.n_videos)
        order = [i for i in torch.argsort(torch.nan_to_num(final, nan=-2.0), descending=True)]
        order = [int(i) for i in order if not math.isnan(float(final[i]))][:k]
        return [
            self._hit(rank + 1, video, float(final[video]), per_modality[video], query, matrix, allowed)
            for rank, video in enumerate(order)
        ]

    def _hit(
        self,
        rank: int,
        video: int,
        score: float,
        per_modality: torch.Tensor,
        query: TokenVectors,
        matrix: TokenMatrix,
        allowed: list[Modality],
    ) -> SearchHit:
        _, tokens = matrix.tokens_of(video)
        similarity = query.vectors @ tokens.vectors.T  # (Q, n)
        scores = {m.key: _optional(float(per_modality[int(m)])) for m in DOCUMENT_MODALITIES}
        ranked = sorted(
            (m for m in allowed if scores[m.key] is not None),
            key=lambda m: scores[m.key],
            reverse=True,
        )
        matches: dict[str, list[TokenMatch]] = {}
        for modality in ranked:
            columns = np.flatnonzero(tokens.modalities == int(modality))
            best = columns[similarity[:, columns].argmax(axis=1)]
            matches[modality.key] = [
                _match(query.labels[q], tokens, int(d), similarity[q, d]) for q, d in enumerate(best)
            ]
        moment = None
        for modality in ranked:  # the best modality that has times says when
            columns = np.flatnonzero(tokens.modalities == int(modality))
            moment = best_moment(similarity[:, columns], tokens.times[columns], self.moment_window_s)
            if moment is not None:
                break
        return SearchHit(
            rank=rank,
            video_id=matrix.video_ids[video],
            path="",
            score=score,
            scores=scores,
            best_modality=ranked[0].key if ranked else None,
            moment_s=moment,
            matches=matches,
        )
