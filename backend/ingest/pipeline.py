"""One video file in, everything seen, said and written in it out (an :class:`IngestedVideo`).

Models load on first use, so a run that finds nothing new to index loads none. A stage that
fails on part of a file (an audio track that will not decode, a picture stream that breaks)
becomes a warning on the video; only a file with nothing usable fails, alone.

With ``IngestSettings.parallel_stages`` (the default) ASR, OCR and vision of a video run side by
side on a pool of three threads (onnxruntime and CTranslate2 release the GIL while they compute),
each model with ``threads_per_stage`` intra-op threads so that the stages together do not
oversubscribe the cores, and the next file is read ahead (:mod:`.read_ahead`) while this one is
finished, encoded and stored: its stages take the pool's threads as this video's stages end.
Those threads run at a lower CPU priority (:mod:`.priority`), so searches in the same process go
first.
Without it, stages run one after another and each model uses every core. Both give the same
video; :mod:`.stage_timer` counts each stage's wall and CPU time either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from backend.config import Settings
from backend.ingest.cpu_clock import NativeThreads, threads_started
from backend.ingest.decoding import decode
from backend.ingest.description import describe
from backend.ingest.errors import IngestError
from backend.ingest.priority import lower_priority, thread_initializer
from backend.ingest.probe import probe_video
from backend.ingest.read_ahead import ReadAhead, Wanted
from backend.ingest.stage_timer import StageCallback, StageTimer
from backend.ingest.types import IngestedVideo, Transcript, VideoProbe

__all__ = ["STAGES", "Ingestor", "StageCallback", "StageTimer"]

#: Ingest stages in the order they start; the indexer adds "hash", "encode" and "store".
STAGES = ("decode", "asr", "ocr", "vision")


class Ingestor:
    """Holds the (lazily loaded) ASR, OCR and vision models across many files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.parallel = settings.ingest.parallel_stages
        #: Intra-op threads per model and decoder; None: each library's default (every core).
        self.threads = settings.ingest.threads_per_stage if self.parallel else None
        self._recognizer = None
        self._asr_threads: NativeThreads | None = None  # CTranslate2's own compute threads
        self._reader = None
        self._tagger = None
        self._stages: ThreadPoolExecutor | None = None
        #: Worker threads run below searches in the same process (:mod:`.priority`).
        self.nice = settings.ingest.nice if self.parallel else 0
        self._ahead = ReadAhead(
            self._read_file,
            thread_initializer(self.nice),
            duration=lambda path: probe_video(path).duration_s,
            ahead_s=settings.ingest.read_ahead_s,
        )
        # Two videos may be read at once (one ahead): models load once, under this lock.
        self._loading = threading.RLock()

    @property
    def recognizer(self):
        with self._loading:
            return self._load_recognizer()

    def _load_recognizer(self):
        if self._recognizer is None:
            from backend.ingest.asr import SpeechRecognizer

            asr = self.settings.asr
            if self.threads:
                asr = replace(asr, cpu_threads=self.threads)
            recognizer = SpeechRecognizer(asr)
            # Loaded here, not on the first transcribe: the threads CTranslate2 starts while
            # loading compute every transcript, and their CPU time is the ASR stage's.
            with threads_started() as started:
                recognizer.model  # noqa: B018 (loads the model)
            lower_priority(self.nice, started.ids)
            self._recognizer, self._asr_threads = recognizer, started
        return self._recognizer

    @property
    def reader(self):
        with self._loading:
            if self._reader is None:
                from backend.ingest.ocr import TextReader

                reader = TextReader(self.settings.ocr, threads=self.threads)
                reader.engine  # noqa: B018 (loads it now, once)
                self._reader = reader
        return self._reader

    @property
    def tagger(self):
        with self._loading:
            if self._tagger is None:
                from backend.ingest.vision import FrameTagger

                tagger = FrameTagger(self.settings.vision, threads=self.threads)
                tagger.classifier.backend  # noqa: B018 (loads, or exports, the model once)
                self._tagger = tagger
        return self._tagger

    def read_ahead(self, paths: Iterable[Path], wanted: Wanted | None = None) -> Iterator[Path]:
        """``paths`` in order; with parallel stages, while one of them is being ingested the
        next one that is ``wanted`` (e.g. not indexed yet) is read on a background thread
        (see :mod:`.read_ahead`)."""
        return self._ahead.plan(paths, wanted) if self.parallel else iter(paths)

    def ingest(
        self,
        path: Path,
        probe: VideoProbe | None = None,
        user_text: str | None = None,
        timer: StageTimer | None = None,
    ) -> IngestedVideo:
        timer = timer or StageTimer()
        probe = probe or probe_video(path)
        if self.parallel:
            self._ahead.start_after(path)  # the next file's stages fill the cores this one frees
            ahead = self._ahead.take(path, probe)
            if ahead is not None:
                video, ahead_timer = ahead
                for stage in STAGES:  # done already: tell the progress callback in order
                    if stage in ahead_timer.seconds:
                        timer.notify(stage)
                ahead_timer.hand_on(timer)
                video.description = describe(probe, user_text)
                return video
        return self._read(path, probe, user_text, timer)

    def _read_file(self, path: Path, timer: StageTimer) -> IngestedVideo:
        """A file read ahead: probed here; its description is made when it is taken."""
        probe = timer.run("decode", lambda: probe_video(path))
        return self._read(path, probe, None, timer)

    def _read(
        self, path: Path, probe: VideoProbe, user_text: str | None, timer: StageTimer
    ) -> IngestedVideo:
        decoded = decode(probe, self.settings.frames, timer, self.threads)
        frames, audio, warnings = decoded.frames, decoded.audio, decoded.warnings
        if not frames and not probe.has_audio:
            reason = warnings[0] if warnings else "no picture or sound could be decoded"
            raise IngestError(path, f"nothing to index: {reason}")
        stages: dict[str, Callable[[], object]] = {}
        if audio is not None and len(audio):
            stages["asr"] = lambda: self.recognizer.transcribe(audio)
        if frames:
            stages["ocr"] = lambda: self.reader.read_frames(frames)
            if self.settings.vision.enabled:
                stages["vision"] = lambda: self.tagger.look(frames)
        done = self._run_stages(stages, timer)
        seen = done.get("vision")
        return IngestedVideo(
            probe=probe,
            frames=frames,
            transcript=done.get("asr", Transcript()),
            text_spans=list(done.get("ocr", [])),
            visual_tags=list(seen.tags) if seen else [],
            description=describe(probe, user_text),
            warnings=warnings,
            frame_regions=list(seen.regions) if seen else [],
        )

    def _run_stages(
        self, stages: dict[str, Callable[[], object]], timer: StageTimer
    ) -> dict[str, object]:
        """Each stage's result, keyed by stage; side by side, or one after another."""
        if not self.parallel:
            return {name: self._timed(name, work, timer) for name, work in stages.items()}
        with self._loading:  # models first: ASR's threads are told apart from others' as it loads
            if "asr" in stages:
                self._load_recognizer()
            if self._stages is None:
                self._stages = ThreadPoolExecutor(
                    3, thread_name_prefix="ingest-stage", initializer=thread_initializer(self.nice)
                )
        futures: dict[str, Future] = {}
        for name, work in stages.items():
            timer.notify(name)  # from this thread, in STAGES order, as a sequential run would
            futures[name] = self._stages.submit(self._timed, name, work, timer, False)
        # Every stage ends before the first error is raised: none is left running behind.
        errors = [f.exception() for f in futures.values()]
        for error in errors:
            if error is not None:
                raise error
        return {name: future.result() for name, future in futures.items()}

    def _timed(
        self, name: str, work: Callable[[], object], timer: StageTimer, notify: bool = True
    ) -> object:
        helpers = self._asr_threads if name == "asr" else None
        return timer.run(name, work, helpers, notify)
