"""bench.corpus: old and new settings side by side, tables that add up, spans compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.config import Settings
from backend.ingest.types import TextSpan
from bench import corpus


def test_old_mode_is_the_path_the_issue_started_from():
    old = corpus.mode_settings(Settings(), "old")
    assert old.ocr.incremental is False and old.ingest.parallel_stages is False
    new = corpus.mode_settings(Settings(), "new")
    assert new.ocr.incremental is True and new.ingest.parallel_stages is True


def _run(cpu: float, wall: float) -> dict:
    stages = (*corpus.STAGES, "other")
    return {
        "minutes_of_video": 2.0,
        "cpu_s": dict.fromkeys(stages, cpu),
        "wall_s": dict.fromkeys(corpus.STAGES, wall),
        "cpu_s_per_video_minute": cpu * len(stages) / 2.0,
        "wall_s_per_video_minute": wall,
    }


def test_stage_table_gives_seconds_per_minute_of_video_for_each_mode():
    table = corpus.stage_table({"old": _run(4.0, 6.0), "new": _run(2.0, 1.0)})
    rows = table.splitlines()
    assert rows[0] == "| stage | old CPU s/min | old wall s/min | new CPU s/min | new wall s/min |"
    assert "| ocr | 2.0 | 3.0 | 1.0 | 0.5 |" in rows
    assert "| other | 2.0 |  | 1.0 |  |" in rows
    assert rows[-1] == "| **all** | **16.0** | **6.0** | **8.0** | **1.0** |"


def test_spans_are_compared_per_file_within_the_sampling_interval():
    box = (0.0, 0.0, 10.0, 10.0)
    frames = [0.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 10.0]  # 3.0 and 8-9 s repeated 2.0 and 7.0
    old = {
        "a.mp4": corpus.Reading(
            [
                TextSpan("EXIT", 0.0, 4.0, box),
                TextSpan("Q", 2.0, 2.0, box),
                TextSpan("OPEN", 7.0, 7.0, box),
                TextSpan("SALE", 7.0, 7.0, (20.0, 0.0, 30.0, 10.0)),
            ],
            frames,
        )
    }
    new = {
        "a.mp4": corpus.Reading(
            [
                TextSpan("Exit", 1.0, 4.0, box),
                TextSpan("OPEN", 5.0, 7.0, box),
                TextSpan("SALE", 7.0, 10.0, (20.0, 0.0, 30.0, 10.0)),  # the next sampled frame
            ],
            frames,
        )
    }
    result = corpus.compare_runs(old, new, every_s=1.0)
    assert (result["kept"], result["lost"], result["lost_words"], result["extra"]) == (2, 2, 1, 1)
    assert result["moved"] == 1  # OPEN: read at 7 s by both, but new reads it from 5 s
    assert result["broken_off"] == 0
    assert result["lost_spans"] == ["a.mp4 'Q' 2.00-2.00", "a.mp4 'OPEN' 7.00-7.00 (moved)"]


def test_one_new_span_over_a_break_in_the_old_reading_is_told_apart():
    box = (0.0, 0.0, 10.0, 10.0)
    frames = [0.0, 1.0, 2.0, 3.0, 4.0]
    old = {
        "a.mp4": corpus.Reading(
            [TextSpan("BBC FOUR", 0, 1, box), TextSpan("BBC FOUR", 3, 4, box)], frames
        )
    }
    new = {"a.mp4": corpus.Reading([TextSpan("BBC FOUR", 0, 4, box)], frames)}  # read at 2 s too
    result = corpus.compare_runs(old, new, every_s=1.0)
    assert (result["kept"], result["moved"], result["broken_off"]) == (0, 2, 2)
    assert result["lost_spans"][0].endswith("(moved: the old reading broke off)")


@pytest.mark.slow
def test_bench_runs_both_modes_on_a_small_corpus(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):
    small = tmp_path / "corpus"
    for name in (corpus.WARM_UP, "pyscenedetect/counter.mp4"):
        (small / name).parent.mkdir(parents=True, exist_ok=True)
        (small / name).symlink_to(shared_data / "corpus" / name)
    assert corpus.main(["--corpus", str(small), "--queries", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["machine"]["cores"] >= 1
    for mode in ("old", "new"):
        run = out["modes"][mode]
        assert run["ingest"]["videos_indexed"] == 2
        assert sum(run["ingest"]["cpu_s"].values()) == pytest.approx(
            run["ingest"]["process_cpu_s"], abs=0.05
        )
        assert run["ocr"]["counter_as_video_recall"] == 1.0
    assert out["spans_vs_old"]["new"]["lost"] == 0
