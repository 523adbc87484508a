"""Top-k videos for a query, with every modality's score, the moment, and token matches.

A query is text, a picture, or both (:meth:`Searcher.search_image`); its tokens of each kind are
scored only against the modalities of their own space (:mod:`backend.search.query_kinds`).

Large collections are searched in two stages (:mod:`backend.search.fast_path`): an index finds
candidates, and exact MaxSim ranks them. ``exact=True`` (or a collection under
``SearchSettings.fast_min_tokens`` tokens) scores every float32 token instead; it keeps one
packed matrix per token space, so a word query never multiplies against picture regions.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from backend.config import SearchSettings
from backend.encoders.base import (
    DOCUMENT_MODALITIES,
    IMAGE_SPACE_MODALITIES,
    Encoder,
    Modality,
    TokenVectors,
)
from backend.search.fast_path import FastSearch
from backend.search.index.rescore import final_scores, score_segments
from backend.search.maxsim import ScoringMode
from backend.search.moments import best_moment
from backend.search.query_kinds import (
    N_MODALITY_IDS,
    QueryPart,
    combine_token_max,
    query_parts,
    video_scores,
)
from backend.search.resident import ResidentIndex
from backend.search.threads import limited_threads
from backend.search.token_matrix import TokenMatrix
from backend.store.video_store import VideoStore


class QueryError(ValueError):
    """A query that cannot be searched; the message is for the user."""


#: A picture shows one moment: its regions are matched within one frame's time (0.5 s holds
#: one frame at the default sampling), not assembled from the frames of a 2 s window.
PICTURE_MOMENT_WINDOW_S = 0.5

#: What an image search on a store without picture tokens says (indexed before they existed).
NO_IMAGE_TOKENS = (
    "this collection has no picture features to search by image (it was indexed before search "
    "by image existed): re-encode it to enable it: python -m backend add-images --store STORE"
)


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


def _matches(
    query: TokenVectors, tokens: TokenVectors, best: np.ndarray, similarity: np.ndarray
) -> list[TokenMatch]:
    """One match per query token: ``best[q]`` is its most similar token of ``tokens``
    (``similarity`` ``(Q, n)``: these query tokens against all of the video's tokens)."""
    rows = np.arange(len(best))
    times = tokens.times[best].tolist()
    boxes = tokens.boxes[best]
    has_box = (~np.isnan(boxes).any(axis=1)).tolist()
    return [
        TokenMatch(
            query_token=query.labels[q],
            label=tokens.labels[d],
            similarity=round(value, 4),
            time_s=None if math.isnan(time) else time,
            box=tuple(box) if ok else None,
        )
        for q, d, value, time, box, ok in zip(
            rows.tolist(),
            best.tolist(),
            similarity[rows, best].astype(float).tolist(),
            times,
            boxes.astype(float).tolist(),
            has_box,
        )
    ]


class Searcher:
    """MaxSim over the complete videos of a store: two-stage when large, else exact.

    ``settings`` holds the fast path's knobs (defaults: :class:`SearchSettings`); the exact
    path's packed tokens and the fast path's index are cached and follow the store.
    """

    def __init__(
        self,
        store: VideoStore,
        encoder: Encoder,
        moment_window_s: float = 2.0,
        settings: SearchSettings | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.moment_window_s = moment_window_s
        self.settings = settings or SearchSettings(moment_window_s=moment_window_s)
        # (store versions, token rows, complete videos, packed matrix per token space)
        self._cache: tuple[tuple, pa.Table, list[str], dict] | None = None
        self._lock = threading.Lock()
        self._fast = FastSearch(store, self.settings)
        self._fast_state: tuple[tuple[int, int], bool] | None = None
        self._image_state: tuple[tuple, bool] | None = None
        self._resident: dict[int, tuple[TokenMatrix, ResidentIndex]] = {}  # settings.device

    def fast_search(self) -> FastSearch | None:
        """The fast path, refreshed to the store, when the collection is big enough for it."""
        with self._lock:
            versions = self.store.versions()
            if self._fast_state is None or self._fast_state[0] != versions:
                self._fast_state = (versions, self._fast.refresh())
            return self._fast if self._fast_state[1] else None

    def token_matrix(self, kind: Sequence[Modality] | None = None) -> TokenMatrix:
        """Every complete video's tokens of the modalities ``kind`` (None: all), packed. The
        matrices of all kinds list the same videos in the same order."""
        with self._lock:
            versions = self.store.versions()
            if self._cache is None or self._cache[0] != versions:
                complete = self.store.video_ids()  # read before tokens: see VideoStore
                self._cache = (versions, self.store.token_rows(), complete, {})
            _, rows, complete, matrices = self._cache
            key = tuple(kind) if kind is not None else None
            if key not in matrices:
                if key is not None:
                    ids = pa.array([int(m) for m in key], rows.schema.field("modality").type)
                    rows = rows.filter(pc.is_in(rows["modality"], ids))
                matrices[key] = TokenMatrix.from_arrow(rows, self.store.dim, complete)
            return matrices[key]

    def search(
        self,
        text: str,
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
        exact: bool | None = None,
    ) -> list[SearchHit]:
        return self.search_many([text], k, mode, modalities, exact)[0]

    def search_image(
        self,
        image: np.ndarray,
        text: str = "",
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
        exact: bool | None = None,
    ) -> list[SearchHit]:
        """Search by a picture ``(H, W, 3)`` uint8 RGB, with optional text: the picture's
        tokens meet the modalities of their space, the words theirs, and the best one wins."""
        self._check(k, mode, modalities)
        try:
            query = self.encoder.encode_image_query(image, text or "")
        except NotImplementedError as error:
            raise QueryError(str(error)) from error
        if len(query) == 0:
            raise QueryError("the picture is one flat colour and there is no text to search for")
        if self._image_space_needed(query) and not self.has_image_tokens():
            raise QueryError(NO_IMAGE_TOKENS)
        return self.search_vectors(query, k, mode, modalities, exact)

    @staticmethod
    def _image_space_needed(query: TokenVectors) -> bool:
        return bool(np.isin(query.modalities, [int(m) for m in IMAGE_SPACE_MODALITIES]).any())

    def has_image_tokens(self) -> bool:
        """Whether any video of the store has picture-feature tokens (cached per version)."""
        versions = self.store.versions()
        if self._image_state is None or self._image_state[0] != versions:
            ids = ", ".join(str(int(m)) for m in IMAGE_SPACE_MODALITIES)
            table = self.store.table(self.store.tokens_table)
            self._image_state = (versions, table.count_rows(f"modality IN ({ids})") > 0)
        return self._image_state[1]

    def _check(self, k: int, mode: str, modalities: Sequence[str] | None) -> None:
        if k < 1:
            raise QueryError(f"k must be at least 1, not {k}")
        if mode not in ("modality_max", "token_max"):
            raise QueryError(f"unknown scoring mode {mode!r}: use modality_max or token_max")
        self._allowed_modalities(modalities)  # a bad filter fails before any encoding

    def search_many(
        self,
        texts: Sequence[str],
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
        exact: bool | None = None,
    ) -> list[list[SearchHit]]:
        self._check(k, mode, modalities)
        queries = self.encoder.encode_queries(list(texts))
        for text, query in zip(texts, queries):
            if len(query) == 0:
                raise QueryError(f"the query {text!r} has no words to search for")
        return [self.search_vectors(query, k, mode, modalities, exact) for query in queries]

    def search_vectors(
        self,
        query: TokenVectors,
        k: int = 10,
        mode: ScoringMode = "modality_max",
        modalities: Sequence[str] | None = None,
        exact: bool | None = None,
    ) -> list[SearchHit]:
        """Search with query token vectors already encoded (``(Q, D)`` unit vectors, each
        token's modality saying what it may meet: :mod:`backend.search.query_kinds`).

        ``exact`` (default: the settings') skips the index and scores every token.
        """
        allowed = self._allowed_modalities(modalities)
        exact = self.settings.exact if exact is None else exact
        fast = None if (exact or self.settings.device) else self.fast_search()
        with limited_threads(self.settings.threads if fast is not None else None):
            return self._search(query, k, mode, allowed, fast)

    def _search(self, query, k, mode, allowed, fast: FastSearch | None) -> list[SearchHit]:
        parts = query_parts(query, allowed)
        if not parts:
            return []
        if fast is not None:
            return self._two_stage(query, parts, k, mode, allowed, fast)
        hits = self._rank(query, parts, k, mode, allowed)
        paths = {r.video_id: r.path for r in self.store.videos(h.video_id for h in hits)}
        return [replace(hit, path=paths.get(hit.video_id, "")) for hit in hits]

    def _two_stage(self, query, parts, k, mode, allowed, fast: FastSearch) -> list[SearchHit]:
        """Two-stage search of each part; with several parts, their top ``k`` lists are merged
        and re-scored exactly on each video's tokens (the top ``k`` of a max over parts is
        inside the union of the parts' top ``k``, up to the candidate stage's recall)."""
        if len(parts) == 1:
            part = parts[0]
            ranked = fast.rank(part.tokens, k, mode, list(part.modalities))
            # the re-scoring fills every modality a candidate has; keep this part's space
            return [
                replace(
                    self._hit(
                        rank + 1,
                        r.video_id,
                        r.score,
                        np.where(part.kind_mask(), r.per_modality, np.nan),
                        query,
                        r.tokens,
                        allowed,
                    ),
                    path=r.path,
                )
                for rank, r in enumerate(ranked)
            ]
        found = {}
        for part in parts:
            for r in fast.rank(part.tokens, k, mode, list(part.modalities)):
                found.setdefault(r.video_id, r)
        rescored = []
        for r in found.values():
            per_modality, token_level = video_scores(query, r.tokens, allowed)
            mask = np.zeros(N_MODALITY_IDS, bool)
            mask[[int(m) for m in allowed]] = True
            final = final_scores(per_modality[None], np.array([token_level]), mask, mode)[0]
            if not math.isnan(float(final)):
                rescored.append((float(final), per_modality, r))
        rescored.sort(key=lambda item: -item[0])
        return [
            replace(
                self._hit(rank + 1, r.video_id, score, pm, query, r.tokens, allowed), path=r.path
            )
            for rank, (score, pm, r) in enumerate(rescored[:k])
        ]

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
        parts: list[QueryPart],
        k: int,
        mode: ScoringMode,
        allowed: list[Modality],
    ) -> list[SearchHit]:
        matrices = [self.token_matrix(part.kind) for part in parts]
        n_videos = matrices[0].n_videos
        if n_videos == 0:
            return []
        per_modality = np.full((n_videos, N_MODALITY_IDS), np.nan, np.float32)
        token_levels = []
        for part, matrix in zip(parts, matrices, strict=True):
            # The definition is maxsim_per_modality; segments are contiguous rows, so a
            # reduceat over (Q, N) similarities gives the same numbers without its scatter.
            mask = part.mask()
            if self.settings.device:  # the same numbers, tokens resident on that device
                on_device = self._resident_index(matrix).scores(
                    part.tokens.vectors, np.flatnonzero(mask).tolist()
                )
                scored, token_level = (t.float().cpu().numpy() for t in on_device)
            else:
                vectors = torch.from_numpy(part.tokens.vectors).to(matrix.vectors.dtype)
                sims = vectors @ matrix.vectors.T
                scored, token_level = score_segments(
                    sims.float().numpy(),
                    matrix.segment_start,
                    matrix.segment_video,
                    matrix.segment_modality,
                    n_videos,
                    mask,
                )
            shown = part.kind_mask()
            per_modality[:, shown] = scored[:, shown]
            token_levels.append(token_level)
        token_level = combine_token_max(token_levels, [len(p.tokens) for p in parts])
        mask = np.zeros(N_MODALITY_IDS, bool)
        mask[[int(m) for m in allowed]] = True
        final = final_scores(per_modality, token_level, mask, mode)
        order = np.argsort(-np.nan_to_num(final, nan=-np.inf), kind="stable")
        order = [int(i) for i in order if not math.isnan(float(final[i]))][:k]
        with limited_threads(self.settings.threads):
            return [
                self._hit(
                    rank + 1,
                    matrices[0].video_ids[video],
                    float(final[video]),
                    per_modality[video],
                    query,
                    TokenVectors.concatenate([m.tokens_of(video)[1] for m in matrices], query.dim),
                    allowed,
                )
                for rank, video in enumerate(order)
            ]

    def _resident_index(self, matrix: TokenMatrix) -> ResidentIndex:
        """The matrix's tokens on ``settings.device`` (built once per packed matrix)."""
        with self._lock:
            entry = self._resident.get(id(matrix))
            if entry is None or entry[0] is not matrix:
                live = {id(m) for m in (self._cache[3].values() if self._cache else ())}
                self._resident = {k: v for k, v in self._resident.items() if k in live}
                index = ResidentIndex.build(
                    matrix.vectors,
                    matrix.video_index,
                    matrix.modality,
                    matrix.n_videos,
                    N_MODALITY_IDS,
                    self.settings.device,
                    self.settings.resident_precision,
                )
                entry = self._resident[id(matrix)] = (matrix, index)
            return entry[1]

    def _hit(
        self,
        rank: int,
        video_id: str,
        score: float,
        per_modality: torch.Tensor | np.ndarray,
        query: TokenVectors,
        tokens: TokenVectors,
        allowed: list[Modality],
    ) -> SearchHit:
        scores = {m.key: _optional(float(per_modality[int(m)])) for m in DOCUMENT_MODALITIES}
        ranked = sorted(
            (m for m in allowed if scores[m.key] is not None),
            key=lambda m: scores[m.key],
            reverse=True,
        )
        rows_for = {m: part.rows for part in query_parts(query, allowed) for m in part.modalities}
        matches: dict[str, list[TokenMatch]] = {}
        moment = None
        for modality in ranked:
            rows = rows_for.get(modality)
            if rows is None:
                continue
            asking = query.select(rows)
            similarity = asking.vectors @ tokens.vectors.T  # (Q_m, n)
            columns = np.flatnonzero(tokens.modalities == int(modality))
            best = columns[similarity[:, columns].argmax(axis=1)]
            matches[modality.key] = _matches(asking, tokens, best, similarity)
            if moment is None:  # the best modality that has times says when
                window = self.moment_window_s
                if modality in IMAGE_SPACE_MODALITIES:
                    window = min(window, PICTURE_MOMENT_WINDOW_S)
                moment = best_moment(similarity[:, columns], tokens.times[columns], window)
        return SearchHit(
            rank=rank,
            video_id=video_id,
            path="",
            score=score,
            scores=scores,
            best_modality=ranked[0].key if ranked else None,
            moment_s=moment,
            matches=matches,
        )
