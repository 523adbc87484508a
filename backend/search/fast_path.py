"""Two-stage search behind :class:`~backend.search.searcher.Searcher`: candidates, then exact.

Stage one asks the store's search index (:mod:`backend.search.index`) for the videos whose
tokens sit near the query's tokens' centroids; stage two computes the per-modality MaxSim of
those videos only, on their stored vectors, so every score and match returned is the exact one
for that video (at the index precision). Recall against an exhaustive search is what the
candidate stage can lose, and ``python -m backend bench search`` measures it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from backend.config import SearchSettings
from backend.encoders.base import Modality, TokenVectors
from backend.search.index.rescore import final_scores
from backend.search.index.search_index import IndexSettings, SearchIndex
from backend.store.token_stream import complete_videos, token_batches
from backend.store.video_store import VideoStore

log = logging.getLogger(__name__)

N_MODALITY_IDS = max(int(m) for m in Modality) + 1
INDEX_FOLDER = "_search_index"
META_KEY = "search_index"


def index_settings(settings: SearchSettings) -> IndexSettings:
    return IndexSettings(
        precision=settings.precision,
        pool_threshold=settings.pool_threshold,
        n_centroids=settings.n_centroids,
    )


def index_root(store: VideoStore, settings: SearchSettings) -> Path:
    """Where the index of this store, token table and settings lives.

    A local store keeps it inside its folder; a store at a URI (``s3://``...) keeps it on this
    machine, under ``index_dir`` or the user's cache folder.
    """
    name = f"{store.tokens_table}-{index_settings(settings).name}"
    if "://" not in store.uri:
        return Path(store.uri) / INDEX_FOLDER / name
    base = Path(settings.index_dir) if settings.index_dir else Path.home() / ".cache"
    digest = hashlib.sha1(store.uri.encode()).hexdigest()[:16]
    return base / "clamr-video-search" / digest / name


@dataclass(frozen=True)
class Ranked:
    """One returned video: its exact scores and its tokens (for matches and the moment)."""

    video_id: str
    path: str
    score: float
    per_modality: np.ndarray  # (N_MODALITY_IDS,) s_m, NaN where the video has none
    tokens: TokenVectors


class FastSearch:
    """The index of one store, kept in step with it by :meth:`refresh`."""

    def __init__(self, store: VideoStore, settings: SearchSettings) -> None:
        self.store = store
        self.settings = settings
        self.index = SearchIndex(index_root(store, settings), index_settings(settings), store.dim)
        self.n_tokens = 0
        self.paths: dict[str, str] = {}

    def refresh(self) -> bool:
        """Follow the store; returns whether the collection is big enough for the index."""
        videos = complete_videos(self.store)  # read before their tokens: see VideoStore
        ids = videos["video_id"].to_pylist()
        self.n_tokens = int(pc.sum(videos["n_tokens"]).as_py() or 0)
        self.paths = dict(zip(ids, videos["path"].to_pylist()))
        if self.n_tokens < self.settings.fast_min_tokens:
            return False
        root = index_root(self.store, self.settings)
        if root != self.index.root:  # the store switched to another token table (version)
            self.index = SearchIndex(root, index_settings(self.settings), self.store.dim)
        before = self.index.root.joinpath("index.json").exists()
        self.index.refresh(ids, lambda some: token_batches(self.store, some), self.n_tokens)
        if not before:
            self._record_in_meta()
        return True

    def _record_in_meta(self) -> None:
        """Note the index and its settings in the store's ``meta`` (best effort: a read-only
        store still searches)."""
        value = json.dumps({"path": str(self.index.root), **asdict(self.index.settings)})
        try:
            self.store.set_meta({f"{META_KEY}:{self.index.root.name}": value})
        except Exception as error:
            log.warning("could not note the search index in the store's meta: %s", error)

    def n_candidates(self, k: int) -> int:
        """Videos to re-score: a budget of tokens (short videos: more of them), at least
        ``n_candidates`` and ``2 * k``. Recall at a fixed count falls as the collection grows
        (more near-ties); measured: 100k x 64 tokens needs 512 where 10k x 256 needs 128."""
        per_video = self.n_tokens / max(1, len(self.paths))
        budget = int(self.settings.rescore_tokens / max(1.0, per_video))
        return max(self.settings.n_candidates, 2 * k, budget)

    def rank(self, query: TokenVectors, k: int, mode: str, allowed: list[Modality]) -> list[Ranked]:
        """The ``k`` best videos, exactly scored among the candidates."""
        mask = np.zeros(N_MODALITY_IDS, bool)
        mask[[int(m) for m in allowed]] = True
        vectors = np.ascontiguousarray(query.vectors, np.float32)
        view = self.index.view
        chosen = view.candidates(
            vectors,
            self.settings.nprobe,
            self.n_candidates(k),
            mask,
            by_video=mode == "token_max",
            at_least=k,
        )
        rows = []
        for part, result in view.rescore(vectors, chosen, mask, N_MODALITY_IDS):
            final = final_scores(result.per_modality, result.token_max, mask, mode)
            for row, video in enumerate(result.videos):
                if not np.isnan(final[row]):
                    rows.append((float(final[row]), part, int(video), result.per_modality[row]))
        rows.sort(key=lambda r: r[0], reverse=True)
        return [
            Ranked(
                part.video_ids[video],
                self.paths.get(part.video_ids[video], ""),
                score,
                per_modality,
                part.tokens_of(video),
            )
            for score, part, video, per_modality in rows[:k]
        ]
