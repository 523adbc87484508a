"""The backend's public face: one collection (store + encoder) to index, search and inspect.

The command line and the app call only this; it opens the store with the configured encoder
(refusing a store built by another), and loads models only when work needs them. A store switched
to a fine-tuned adapter (``backend.store.versions``) is searched with that adapter unless the
settings name another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

from backend.config import Settings
from backend.encoders import build_encoder
from backend.encoders.base import DOCUMENT_MODALITIES, Encoder
from backend.indexer import Indexer, IndexReport, ProgressCallback
from backend.search.maxsim import ScoringMode
from backend.search.searcher import Searcher, SearchHit
from backend.store.records import VideoRecord
from backend.store.versions import follow_active_version
from backend.store.video_store import VideoStore


class Collection:
    def __init__(self, settings: Settings) -> None:
        self.settings = follow_active_version(settings)

    @cached_property
    def encoder(self) -> Encoder:
        return build_encoder(self.settings.encoder)

    @cached_property
    def store(self) -> VideoStore:
        return VideoStore.open(self.settings.store, self.encoder.identity, self.encoder.dim)

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(
            self.store, self.encoder, self.settings.search.moment_window_s, self.settings.search
        )

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(self.settings, self.store, self.encoder)

    def index(
        self,
        paths: Iterable[Path | str],
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Index files (on Ray workers if ``settings.ray.enabled``), then bring the search
        index up to date, so the first search after a big run does not have to."""
        if self.settings.ray.enabled:
            from backend.distributed.ray_index import RayIndexer

            indexer = RayIndexer(self.settings, self.store)
            report = indexer.index(list(paths), user_text, on_progress, retry_failed)
        else:
            report = self.indexer.index(paths, user_text, on_progress, retry_failed)
        if report.count("indexed"):
            self.searcher.fast_search()
        return report

    def search(
        self,
        text: str,
        k: int | None = None,
        mode: ScoringMode | None = None,
        modalities: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        return self.searcher.search(
            text, k or self.settings.search.k, mode or self.settings.search.mode, modalities
        )

    def videos(self) -> list[VideoRecord]:
        return self.store.videos()

    def delete(self, video_id: str) -> bool:
        return self.store.delete_video(video_id)

    def info(self) -> dict:
        return describe_store(self.store)


def describe_store(store: VideoStore) -> dict:
    """What is in a store: encoder, counts per modality, total duration, failures."""
    videos = store.videos()
    per_modality = {m.key: sum(m.key in v.modalities for v in videos) for m in DOCUMENT_MODALITIES}
    return {
        "store": store.uri,
        "schema_version": int(store.meta["schema_version"]),
        "encoder": store.encoder_identity,
        "dim": store.dim,
        "videos": len(videos),
        "tokens": sum(v.n_tokens for v in videos),
        "hours": round(sum(v.duration_s or 0.0 for v in videos) / 3600, 4),
        "videos_with_modality": per_modality,
        "failures": [{"path": f["path"], "reason": f["reason"]} for f in store.failures()],
    }
