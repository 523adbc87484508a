"""The ingest pipeline on real files: stages side by side give the video one after another
gives, every stage's CPU time is counted, and the next file is read ahead."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from backend.config import IngestSettings, Settings
from backend.ingest.pipeline import Ingestor, StageTimer
from backend.ingest.types import IngestedVideo

SPEAKER = "corpus/grid_lipnet/bbaf2n.mpg"  # 3 s, a face saying "bin blue at f two now"
SECOND_SPEAKER = "corpus/grid_lipnet/brbk7n.mpg"
THIRD_SPEAKER = "corpus/grid_lipnet/lwbsza.mpg"


@pytest.fixture(scope="module")
def side_by_side() -> Ingestor:
    return Ingestor(Settings())


@pytest.fixture(scope="module")
def one_after_another() -> Ingestor:
    return Ingestor(replace(Settings(), ingest=IngestSettings(parallel_stages=False)))


def _summary(video: IngestedVideo) -> tuple:
    return (
        video.transcript.text,
        [(s.text, s.start_s, s.end_s) for s in video.text_spans],
        sorted((t.label, t.time_s) for t in video.visual_tags),
        len(video.frames),
        video.warnings,
    )


def test_side_by_side_gives_the_same_video(
    side_by_side: Ingestor, one_after_another: Ingestor, shared_data: Path
):
    path = shared_data / SPEAKER
    parallel = side_by_side.ingest(path)
    sequential = one_after_another.ingest(path)
    assert parallel.transcript.text.startswith("BIMBLU")  # what tiny.en hears (see test_asr)
    assert _summary(parallel) == _summary(sequential)
    assert [t.score for t in parallel.visual_tags] == pytest.approx(
        [t.score for t in sequential.visual_tags], abs=1e-3
    )


def test_every_stage_counts_its_cpu_time(side_by_side: Ingestor, shared_data: Path):
    side_by_side.ingest(shared_data / SPEAKER)  # models loaded: only ingest is timed below
    timer = StageTimer()
    start = time.process_time()
    side_by_side.ingest(shared_data / SPEAKER, timer=timer)
    process = time.process_time() - start
    assert set(timer.cpu_seconds) == {"decode", "asr", "ocr", "vision"}
    assert all(cpu > 0 for cpu in timer.cpu_seconds.values()), timer.cpu_seconds
    # Whisper computes on CTranslate2's own thread: counted for ASR, not lost.
    assert timer.cpu_seconds["asr"] > 0.1, timer.cpu_seconds
    # Per-thread times add up to (at most) the process's, and account for most of it.
    assert 0.6 * process < sum(timer.cpu_seconds.values()) <= process + 0.05


def test_the_next_file_is_read_ahead(side_by_side: Ingestor, shared_data: Path):
    first, second = shared_data / SECOND_SPEAKER, shared_data / SPEAKER
    reference = _summary(side_by_side.ingest(second))
    for path in side_by_side.read_ahead([first, second]):
        if path == first:
            assert side_by_side._ahead.pending == []  # nothing before its ingest starts
        timer = StageTimer()
        video = side_by_side.ingest(path, user_text="a note", timer=timer)
        if path == first:
            assert side_by_side._ahead.pending == [second]
        else:  # read ahead: the same video, its stages timed, the caller's text described
            assert _summary(video) == reference
            assert set(timer.cpu_seconds) == {"decode", "asr", "ocr", "vision"}
            assert "a note" in video.description
    assert side_by_side._ahead.pending == []


def test_files_not_wanted_are_not_read_ahead(side_by_side: Ingestor, shared_data: Path):
    """The indexer wants only files not in the store: a run over files that are all indexed
    already reads none of them, and an indexed file after a new one is not read ahead."""
    paths = [shared_data / SPEAKER, shared_data / SECOND_SPEAKER]
    assert list(side_by_side.read_ahead(paths, wanted=lambda p: False)) == paths
    for path in side_by_side.read_ahead(paths, wanted=lambda p: p == paths[0]):
        if path == paths[0]:
            side_by_side.ingest(path)
            assert side_by_side._ahead.pending == []


def _nice(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_stage_threads_run_below_the_caller(side_by_side: Ingestor, shared_data: Path):
    """ASR, OCR and vision (pool threads and CTranslate2's own) give way to searches."""
    caller = _nice(threading.get_native_id())
    side_by_side.ingest(shared_data / SPEAKER)
    stage_threads = [t.native_id for t in threading.enumerate() if t.name.startswith("ingest-")]
    asr_threads = side_by_side._asr_threads.ids
    assert stage_threads and asr_threads
    wanted = max(caller, Settings().ingest.nice)
    assert {_nice(t) for t in [*stage_threads, *asr_threads]} == {wanted}
    assert _nice(threading.get_native_id()) == caller  # the caller's own priority is its own


def test_short_files_are_read_ahead_two_at_a_time(shared_data: Path):
    """Beyond the next file, files are read ahead while those ahead total under
    ``read_ahead_s`` seconds of video (3 s each here): two under 120 s, one under 4 s."""
    paths = [shared_data / p for p in (SPEAKER, SECOND_SPEAKER, THIRD_SPEAKER)]
    for limit, expected in ((120.0, paths[1:3]), (4.0, paths[1:2])):
        settings = replace(Settings(), ingest=IngestSettings(read_ahead_s=limit))
        ingestor = Ingestor(settings)
        for path in ingestor.read_ahead(paths):
            ingestor.ingest(path)
            if path == paths[0]:
                assert ingestor._ahead.pending == expected, limit
        assert ingestor._ahead.pending == []
