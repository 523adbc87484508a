"""The backend's public face: one collection (store + encoder) to index, search and inspect.

The command line and the app call only this module (and ``backend.config``): every action they
offer is a method here, and the plain data and errors they handle are re-exported from here, so
the stages behind it can change without them. It opens the store with the configured encoder
(refusing a store built by another), and loads models only when work needs them. A store
switched to a fine-tuned adapter (``backend.store.versions``) is searched with that adapter
unless the settings name another, also when another process made the switch: every search and
indexing run first looks at the store's active version and follows it.

Every write goes through the store's writer (``backend.store.video_store.VideoStore``), which
commits under the store's write lock, so the app, the command line, training, re-encoding and
Ray ingest can write to one store at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from backend.config import Settings
from backend.encoders import build_encoder
from backend.encoders.base import DOCUMENT_MODALITIES as DOCUMENT_MODALITIES
from backend.encoders.base import Encoder
from backend.eval.evaluate import EvalReport as EvalReport
from backend.eval.evaluate import format_report as format_report
from backend.explain import Explanation as Explanation
from backend.explain.heatmaps import stack_vertically as stack_vertically
from backend.indexer import VIDEO_EXTENSIONS as VIDEO_EXTENSIONS
from backend.indexer import FileResult as FileResult
from backend.indexer import Indexer
from backend.indexer import IndexReport as IndexReport
from backend.indexer import ProgressCallback as ProgressCallback
from backend.ingest.errors import IngestError as IngestError
from backend.ingest.picture import read_picture as read_picture
from backend.ingest.types import IngestedVideo as IngestedVideo
from backend.judging.service import Candidate as Candidate  # re-exported for the app
from backend.judging.service import Judging
from backend.judging.service import JudgingError as JudgingError
from backend.reencode import ReencodeProgress as ReencodeProgress
from backend.reencode import ReencodeReport as ReencodeReport
from backend.search.maxsim import ScoringMode as ScoringMode
from backend.search.searcher import QueryError as QueryError
from backend.search.searcher import Searcher
from backend.search.searcher import SearchHit as SearchHit
from backend.search.searcher import TokenMatch as TokenMatch
from backend.store.labels import Label as Label
from backend.store.records import VideoRecord as VideoRecord
from backend.store.versions import StoreVersions, describe_versions, follow_active_version
from backend.store.video_store import StoreError as StoreError
from backend.store.video_store import VideoStore
from backend.train import jobs
from backend.train.jobs import JobError as JobError
from backend.train.jobs import JobStatus as JobStatus
from backend.train.progress import loss_curve as loss_curve
from backend.train.settings import BACKBONE_DEFAULTS as BACKBONE_DEFAULTS
from backend.train.settings import TrainSettings as TrainSettings

#: The attributes a new search or indexing run rebuilds after the store switched versions.
_OPENED = ("store", "searcher", "indexer", "judging")


class Collection:
    def __init__(self, settings: Settings) -> None:
        self._asked = settings
        self.settings = follow_active_version(settings)
        self._reopening = threading.Lock()

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
    def judging(self) -> Judging:
        """Building a test collection: query sets, pooling, graded labels, agreement, qrels."""
        return Judging(self.store, lambda: self.searcher)

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(self.settings, self.store, self.encoder)

    @cached_property
    def training(self) -> Training:
        """Fine-tuning jobs on this store's labels (separate processes, by job id)."""
        return Training(self.store_path)

    @property
    def store_path(self) -> str:
        """The store as another process must be told it (a local folder made absolute)."""
        store = self.settings.store
        return store if "://" in store else str(Path(store).resolve())

    # ------------------------------------------------------------- following the store
    def open(self) -> None:
        """Open (or create) the store now, refusing one built by another encoder."""
        self.store  # noqa: B018

    def refresh(self) -> bool:
        """Follow the store's active version if it changed since this collection opened it
        (another process switched it); True if it had. Searches and indexing runs call it."""
        store = self.__dict__.get("store")
        if store is None or not store.refresh():
            return False
        self._reopen()
        return True

    def _reopen(self) -> None:
        """Open the store again at its active version, with that version's encoder."""
        with self._reopening:
            followed = follow_active_version(self._asked)
            stale = [*_OPENED, "encoder"] if followed.encoder != self.settings.encoder else _OPENED
            self.settings = followed
            for name in stale:
                self.__dict__.pop(name, None)

    def warm_up(self) -> None:
        """Load the query encoder now, so that the first search is not the slow one."""
        self.encoder.encode_query("warm up")

    # ------------------------------------------------------------- index and search
    def index(
        self,
        paths: Iterable[Path | str],
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Index files (on Ray workers if ``settings.ray.enabled``), then bring the search
        index up to date, so the first search after a big run does not have to."""
        self.refresh()
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
        self.refresh()
        return self.searcher.search(
            text, k or self.settings.search.k, mode or self.settings.search.mode, modalities
        )

    def search_image(
        self,
        image: np.ndarray,
        text: str = "",
        k: int | None = None,
        mode: ScoringMode | None = None,
        modalities: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        """Search by a picture (``(H, W, 3)`` uint8 RGB) with optional text: the picture meets
        what frames look like, the words the words, and the best modality wins."""
        self.refresh()
        return self.searcher.search_image(
            image, text, k or self.settings.search.k, mode or self.settings.search.mode, modalities
        )

    def moment_frame(self, video_id: str, time_s: float | None) -> np.ndarray:
        """The stored frame of a video nearest ``time_s`` as RGB pixels ("more like this")."""
        from backend.explain.frames import frame_at

        return frame_at(self.store.frames(video_id), time_s, video_id)

    def more_like_this(
        self,
        video_id: str,
        time_s: float | None,
        text: str = "",
        k: int | None = None,
        mode: ScoringMode | None = None,
        modalities: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        """Search with the frame of ``video_id`` at ``time_s`` as the query picture."""
        return self.search_image(self.moment_frame(video_id, time_s), text, k, mode, modalities)

    def add_pictures(self, on_progress: ReencodeProgress | None = None) -> ReencodeReport:
        """Give videos indexed before search by picture existed their picture tokens: a new
        version of the store, switched to when complete (``backend.picture_tokens``)."""
        from backend.picture_tokens import add_pictures

        self.refresh()
        report = add_pictures(self.store, self.settings, on_progress)
        if report.activated:
            self._reopen()
        return report

    def explain(
        self, query: str, video_id: str, max_columns: int = 40, image: np.ndarray | None = None
    ) -> Explanation:
        """Why ``video_id`` matched ``query`` (and ``image``, for a search by picture),
        modality by modality (``backend.explain``)."""
        from backend.explain import explain_hit

        self.refresh()
        return explain_hit(self, query, video_id, max_columns=max_columns, image=image)

    def evaluate(
        self,
        queries: Path,
        corpus_root: Path | None = None,
        modes: tuple[ScoringMode, ...] = ("modality_max",),
        modalities: tuple[str, ...] | None = None,
    ) -> EvalReport:
        """Retrieval metrics for a queries file (``backend.eval``)."""
        from backend.eval.evaluate import evaluate

        self.refresh()
        return evaluate(queries, self.searcher, corpus_root, modes, modalities)

    def evaluate_qrels(
        self,
        qrels: Mapping[str, Mapping[str, int]],
        texts: Mapping[str, tuple[str, str]],
        modes: tuple[ScoringMode, ...] = ("modality_max",),
        modalities: tuple[str, ...] | None = None,
        source: str = "qrels",
    ) -> EvalReport:
        """Retrieval metrics for graded qrels (``backend.eval``)."""
        from backend.eval.evaluate import evaluate_qrels

        self.refresh()
        return evaluate_qrels(qrels, texts, self.searcher, modes, modalities, source)

    # ------------------------------------------------------------- the videos
    def videos(self, video_ids: Iterable[str] | None = None) -> list[VideoRecord]:
        return self.store.videos(video_ids)

    def video(self, video_id: str) -> VideoRecord | None:
        return self.store.video(video_id)

    def has_video(self, video_id: str) -> bool:
        return self.store.has_video(video_id)

    def video_ids(self) -> list[str]:
        return self.store.video_ids()

    def frames(self, video_id: str) -> list[dict]:
        """A video's stored thumbnails (``time_s``, ``jpeg``, ...), in time order."""
        return self.store.frames(video_id)

    def delete(self, video_id: str) -> bool:
        return self.store.delete_video(video_id)

    def info(self) -> dict:
        """What the store holds (``describe_store``); reads it without loading a model."""
        store = self.__dict__.get("store") or VideoStore.open(self.settings.store)
        return describe_store(store)

    def summary(self) -> dict:
        """The few facts a status line shows: encoder, number of videos, store."""
        store = self.store
        return {
            "encoder": store.encoder_identity,
            "videos": len(store.video_ids()),
            "store": store.uri,
        }

    # ------------------------------------------------------------- labels
    def labels(self, query: str | None = None) -> list[Label]:
        """The current relevance labels (of one query), as written by any process."""
        return self.store.labels.current(query)

    def add_labels(self, labels: Iterable[Label]) -> int:
        with self.store.write_lock():
            return self.store.labels.add(labels)

    def export_labels(self, path: Path) -> int:
        """Write the labels as ``retrieval_dev.jsonl`` lines; returns how many queries."""
        names = {r.video_id: r.file_name for r in self.store.videos()}
        return self.store.labels.export_jsonl(path, names)

    def import_labels(self, path: Path, user: str = "import") -> int:
        """Read labels back (matching file paths or names to videos); returns labels added.
        Under the write lock, so that two imports of one file add it once."""
        ids: dict[str, str] = {}
        for record in self.store.videos():
            ids[record.path] = ids[record.file_name] = record.video_id
        with self.store.write_lock():
            return self.store.labels.import_jsonl(path, ids, user)

    # ------------------------------------------------------------- versions
    def describe_versions(self) -> list[dict]:
        """The store's token versions as plain data (``backend.store.versions``)."""
        return describe_versions(VideoStore.open(self.settings.store))

    def activate_version(self, name: str) -> list[str]:
        """Make a complete version active (a rollback, or forward again); returns the videos
        it lacks. This collection follows it on its next search."""
        missing = StoreVersions(VideoStore.open(self.settings.store)).activate(name)
        self._reopen()
        return missing

    def switch_to_job(self, job_id: str, on_progress: ReencodeProgress) -> ReencodeReport:
        """Re-encode with a finished training job's adapter into a new version and switch to
        it once complete (minutes: run it in the background)."""
        report = jobs.switch_to_result(self.store_path, job_id, on_progress, self._asked)
        self._reopen()
        return report


class Training:
    """Fine-tuning jobs of one store (``backend.train.jobs``): each runs as its own process,
    and its files are the truth, so any process can follow or cancel it by id."""

    def __init__(self, store_path: str) -> None:
        self.store_path = store_path

    def preview(self, settings: TrainSettings) -> dict[str, int]:
        """How many examples a run with these settings would train and hold out on."""
        return jobs.preview(settings)

    def start(self, settings: TrainSettings) -> JobStatus:
        return jobs.start_job(settings)

    def status(self, job_id: str) -> JobStatus:
        return jobs.job_status(self.store_path, job_id)

    def progress(self, job_id: str, offset: int = 0) -> tuple[list[dict], int]:
        """Progress events from ``offset`` on, and the offset to read from next."""
        return jobs.read_progress(self.store_path, job_id, offset)

    def result(self, job_id: str) -> dict | None:
        return jobs.job_result(self.store_path, job_id)

    def cancel(self, job_id: str) -> JobStatus:
        return jobs.cancel_job(self.store_path, job_id)

    def latest(self) -> JobStatus | None:
        return jobs.latest_job(self.store_path)


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
