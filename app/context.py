"""The app's one shared object: the collection, and the locks that let sessions work at once.

Searching needs no lock (the store shows only complete videos, and the searcher rebuilds its
token matrix when the store changes). Indexing jobs take turns, because the models they load
are shared; label writes take turns so that two sessions' appends never race.

Switching the store to another version (a fine-tuned adapter, or a rollback) takes the indexing
lock too, so no video is written into the version being left; afterwards the collection is opened
again at the new version and replaces the old one only once it can search.

These locks order the work of this process; other processes writing the same store (the command
line, a second app) are kept apart by the store's own write lock (``backend.store``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import gradio as gr

from app.settings import AppSettings
from app.switching import Switcher
from backend.collection import (
    Collection,
    IndexReport,
    ProgressCallback,
    ReencodeProgress,
    ReencodeReport,
)

log = logging.getLogger(__name__)


def user_of(request: gr.Request | None) -> str:
    """Who is labelling: the logged-in user when password protection is on."""
    return (getattr(request, "username", None) or "anonymous") if request else "anonymous"


def _count(n: int, noun: str) -> str:
    return f"**{n}** {noun}{'' if n == 1 else 's'}"


class AppContext:
    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self.collection = Collection(settings.backend)
        self.index_lock = threading.Lock()
        self.label_lock = threading.Lock()
        self.activity = ""  # what a background job is doing, for the status line
        self.demo_thread: threading.Thread | None = None
        self.switcher = Switcher(self.switch_to_job, self._set_activity)

    @property
    def store_path(self) -> str:
        """The store as a training job must be told it: a job runs from the repository root,
        so a local folder is made absolute."""
        return self.collection.store_path

    def _set_activity(self, text: str) -> None:
        self.activity = text

    def index(
        self,
        paths: Iterable[Path],
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Index files, one job at a time (a second job waits for the first)."""
        with self.index_lock:
            return self.collection.index(list(paths), user_text, on_progress)

    def is_empty(self) -> bool:
        return not self.collection.video_ids()

    def start_demo_indexing(self) -> threading.Thread | None:
        """Index the demo collection in the background when the store is empty, so a
        first-time user can search at once (results appear as each clip completes)."""
        demo_videos = sorted(self.settings.demo_dir.glob("*.mp4"))
        if not self.settings.index_demo or not demo_videos or not self.is_empty():
            return None
        self.demo_thread = threading.Thread(
            target=self._index_demo, args=(demo_videos,), name="demo-index", daemon=True
        )
        self.demo_thread.start()
        return self.demo_thread

    def _index_demo(self, videos: list[Path]) -> None:
        done: set[Path] = set()

        def progress(path: Path, stage: str) -> None:
            if stage in ("done", "skipped", "failed"):
                done.add(path)
            self.activity = (
                f"indexing the demo collection ({len(done)}/{len(videos)}): {path.name} {stage}"
            )

        self.activity = "indexing the demo collection: waiting to start"
        try:
            report = self.index(videos, None, progress)
            log.info("demo collection: %d indexed", report.count("indexed"))
        except Exception:  # the app must stay up even if the demo cannot be indexed
            log.exception("indexing the demo collection failed")
        finally:
            self.activity = ""

    def warm_up(self) -> threading.Thread:
        """Load the query encoder in the background, so the first search is not the slow one."""

        def load() -> None:
            try:
                self.collection.warm_up()
            except Exception:  # a search will report the same problem to the user
                log.exception("loading the encoder failed")

        thread = threading.Thread(target=load, name="warm-up", daemon=True)
        thread.start()
        return thread

    def reopen_collection(self) -> Collection:
        """Open the collection at the store's active version (its encoder and adapter), load
        it and search once, then let it replace the current one: searches never wait for it."""
        fresh = Collection(self.settings.backend)
        fresh.search("warm up", k=1)
        self.collection = fresh
        return fresh

    def switch_to_job(self, job_id: str, on_progress: ReencodeProgress) -> ReencodeReport:
        """Re-encode with a finished training job's adapter into a new version, switch to it
        when complete, and search with it from then on (run by :attr:`switcher`)."""
        with self.index_lock:
            report = self.collection.switch_to_job(job_id, on_progress)
            self.reopen_collection()
        return report

    def activate_version(self, name: str) -> list[str]:
        """Make an older (or newer) complete version active: a rollback. Returns the videos it
        has no tokens for (indexed after it was built)."""
        with self.index_lock:
            missing = self.collection.activate_version(name)
            self.reopen_collection()
        return missing

    def device(self) -> str:
        import torch

        if torch.cuda.is_available():
            return f"GPU ({torch.cuda.get_device_name(0)})"
        return "CPU"

    def status_line(self) -> str:
        summary = self.collection.summary()
        parts = [
            f"encoder **{summary['encoder']}**",
            _count(summary["videos"], "video"),
            f"store `{summary['store']}`",
            self.device(),
        ]
        if self.activity:
            parts.append(f"⏳ {self.activity}")
        return " · ".join(parts)
