"""``python -m backend index ... --ray``: ingest on a Ray cluster, commit from this process.

The driver (this process) finds and hashes the files, skips what the store has, and hands the
rest to ``workers`` Ray actors (:class:`~backend.distributed.worker.VideoWorker`), a few videos
each. Workers send back finished rows; the driver alone writes them to the store, a batch per
LanceDB commit, token rows first and ``videos`` rows last (the store's commit marker).

Why no video is lost or doubled when a worker dies: a worker writes nothing, so its death loses
only its unfinished videos; the driver sees the actor fail, starts a replacement, and gives
those videos out again (up to ``max_attempts`` times, then they are reported failed). Videos are
deduplicated by content id before any is handed out, and the commit (``VideoStore.commit``,
under the store's write lock) leaves out a video another writer committed meanwhile instead of
adding a second copy. If the driver itself dies, the store is as after an interrupted plain
run: complete videos, plus orphan rows the next run clears.

Unlike the plain indexer, the driver takes no per-video claims: a plain run and a Ray run over
the same files at once may both ingest a file, but only the first commit of it is kept.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from backend.config import RaySettings, Settings
from backend.distributed.worker import VideoWorker, WorkItem, WorkResult
from backend.indexer import FileResult, IndexReport, ProgressCallback, find_videos
from backend.ingest.probe import content_id
from backend.store.video_store import VideoStore

log = logging.getLogger(__name__)

RAY_MISSING = "Ray is not installed here: pip install ray==2.60.0 (or run without --ray)"


def connect(settings: RaySettings) -> bool:
    """Join the cluster at ``settings.address``, or start a local one; True if we started it."""
    try:
        import ray
    except ImportError as error:
        raise RuntimeError(RAY_MISSING) from error
    if ray.is_initialized():
        return False
    backend_dir = Path(__file__).resolve().parents[1]
    if settings.address:  # a real cluster: ship our code to it
        options = {"address": settings.address, "runtime_env": {"py_modules": [str(backend_dir)]}}
    else:
        options = {
            "num_cpus": max(1, round(settings.workers * settings.cpus_per_worker)),
            "include_dashboard": False,
            "runtime_env": {"env_vars": {"PYTHONPATH": str(backend_dir.parent)}},
        }
    with warnings.catch_warnings():
        # Ray starts its processes with fork+exec; nothing of LanceDB's runtime survives exec.
        warnings.filterwarnings("ignore", message="lancedb fork support")
        ray.init(logging_level=logging.WARNING, **options)
    return True


@dataclass
class _Slot:
    """One worker position: its current actor, which is replaced when it dies."""

    actor: object
    pid: int
    generation: int = 0


class RayIndexer:
    """Index files with Ray workers into ``store`` (opened by the caller with the encoder)."""

    def __init__(self, settings: Settings, store: VideoStore) -> None:
        self.settings = settings
        self.ray_settings = settings.ray
        self.store = store
        self._slots: list[_Slot] = []
        self._in_flight: dict[object, tuple[int, int, WorkItem]] = {}

    # ----------------------------------------------------------------- workers
    def _spawn(self) -> _Slot:
        import ray

        actor_class = ray.remote(num_cpus=self.ray_settings.cpus_per_worker, max_restarts=0)(
            VideoWorker
        )
        actor = actor_class.remote(self.settings)
        return _Slot(actor, ray.get(actor.pid.remote()))

    def busy_worker_pids(self) -> list[int]:
        """Process ids of workers with a video in hand (tests kill one)."""
        busy = {slot for slot, _, _ in self._in_flight.values()}
        return [self._slots[i].pid for i in sorted(busy)]

    def _submit(self, slot_index: int, item: WorkItem) -> None:
        slot = self._slots[slot_index]
        ref = slot.actor.process.remote(item)
        self._in_flight[ref] = (slot_index, slot.generation, item)

    def _replace_dead(self, slot_index: int, generation: int) -> None:
        slot = self._slots[slot_index]
        if slot.generation == generation:  # its other videos fail too: replace once
            log.warning("ingest worker (pid %d) died; starting another", slot.pid)
            fresh = self._spawn()
            self._slots[slot_index] = replace(fresh, generation=generation + 1)

    # ----------------------------------------------------------------- the run
    def index(
        self,
        paths: list[Path | str],
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        start = time.perf_counter()
        started_ray = connect(self.ray_settings)
        report = IndexReport()
        try:
            queue = self._plan(paths, user_text, retry_failed, report, on_progress)
            if queue:
                self._run(queue, report, on_progress)
            if report.count("indexed"):
                self.store.optimize()
        finally:
            self._stop(started_ray)
        report.seconds = time.perf_counter() - start
        return report

    def _plan(self, paths, user_text, retry_failed, report, on_progress) -> deque[WorkItem]:
        """Hash every file; skip what is indexed, failed before, or a copy of another file."""
        self.store.remove_orphans()
        failed_before = (
            {}
            if retry_failed
            else {f["video_id"]: f["reason"] for f in self.store.failures() if f["video_id"]}
        )
        queue: deque[WorkItem] = deque()
        planned: set[str] = set()
        for path in find_videos(paths):
            if not path.is_file():
                self._finish(report, on_progress, FileResult(path, "failed", None, "no such file"))
                self.store.record_failure(path, None, "no such file (check the path)")
                continue
            video_id = content_id(path)
            if video_id in planned or self.store.has_video(video_id):
                result = FileResult(path, "skipped", video_id, "already indexed")
            elif video_id in failed_before:
                reason = (
                    f"failed before (use --retry-failed to try again): {failed_before[video_id]}"
                )
                result = FileResult(path, "failed", video_id, reason)
            else:
                planned.add(video_id)
                queue.append(WorkItem(str(path), video_id, user_text))
                continue
            self._finish(report, on_progress, result)
        return queue

    def _run(self, queue: deque[WorkItem], report: IndexReport, on_progress) -> None:
        import ray

        workers = max(1, min(self.ray_settings.workers, len(queue)))
        self._slots = [self._spawn() for _ in range(workers)]
        while queue or self._in_flight:
            self._fill(queue)
            ready, rest = ray.wait(list(self._in_flight), num_returns=1)
            if rest:  # whatever else is finished too: one commit for all of them
                ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
            done: list[WorkResult] = []
            for ref in ready:
                slot_index, generation, item = self._in_flight.pop(ref)
                try:
                    done.append(ray.get(ref))
                except ray.exceptions.RayActorError:
                    self._replace_dead(slot_index, generation)
                    self._retry_or_fail(item, queue, report, on_progress)
            self._commit(done, report, on_progress)

    def _fill(self, queue: deque[WorkItem]) -> None:
        per_slot = [0] * len(self._slots)
        for slot_index, _, _ in self._in_flight.values():
            per_slot[slot_index] += 1
        for slot_index, count in enumerate(per_slot):
            for _ in range(self.ray_settings.in_flight_per_worker - count):
                if queue:
                    self._submit(slot_index, queue.popleft())

    def _retry_or_fail(self, item, queue, report, on_progress) -> None:
        if item.attempt < self.ray_settings.max_attempts:
            queue.appendleft(replace(item, attempt=item.attempt + 1))
            return
        reason = f"its ingest worker died {item.attempt} times (out of memory? a crash?)"
        self.store.record_failure(Path(item.path), item.video_id, reason)
        result = FileResult(Path(item.path), "failed", item.video_id, reason)
        self._finish(report, on_progress, result)

    def _commit(self, done: list[WorkResult], report: IndexReport, on_progress) -> None:
        """Write the finished videos in one batch; record the failed ones."""
        good = [r.prepared for r in done if r.prepared is not None]
        written = {v.video_id for v in self.store.commit(good, replace=False)} if good else set()
        for r in done:
            path = Path(r.item.path)
            reason = r.reason
            if r.prepared is None:
                self.store.record_failure(path, r.item.video_id, r.reason)
                status = "failed"
            elif r.item.video_id in written:
                status = "indexed"
            else:
                status, reason = "skipped", "indexed by another run"
            result = FileResult(
                path, status, r.item.video_id, reason, r.seconds, r.stage_seconds, r.duration_s
            )
            self._finish(report, on_progress, result)

    @staticmethod
    def _finish(report: IndexReport, on_progress, result: FileResult) -> None:
        report.results.append(result)
        if on_progress is not None:
            on_progress(result.path, "done" if result.status == "indexed" else result.status)

    def _stop(self, started_ray: bool) -> None:
        import ray

        for slot in self._slots:
            ray.kill(slot.actor)
        self._slots, self._in_flight = [], {}
        if started_ray:
            ray.shutdown()
