"""Several processes writing one store: nothing lost, doubled or orphaned, kill -9 included.

Writers are real processes (forked from a server that imported the code once, so a trial takes
seconds) running the real indexer with a quick fake reader (``tests.store.writers``); a few slow
trials run ``python -m backend index`` itself on the demo collection. The fast test runs two
writers together; the slow ones (``python -m pytest -m slow``) run 50 randomized trials with
kills at random moments, and real indexing runs started together and killed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from backend.encoders.base import Modality
from backend.ingest.probe import content_id
from backend.store.labels import Label
from backend.store.rows import token_table
from backend.store.versions import StoreVersions
from backend.store.video_store import StoreError, VideoStore
from tests.conftest import REPO_ROOT
from tests.helpers import make_video, random_tokens
from tests.store.writers import (
    DIM,
    ENCODER,
    Problems,
    SyntheticIndexer,
    acknowledged,
    check_store,
    make_files,
    run_writer,
    same_rows,
)

TRIALS = 50


@pytest.fixture(scope="module")
def fork() -> multiprocessing.context.BaseContext:
    """Processes forked from a server that has imported the writers (no import per writer)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.store.writers"])
    return context


def _start(fork, uri: str, files: list[Path], seed: int, pause_s: float, acks: Path, actions=4):
    process = fork.Process(
        target=run_writer, args=(uri, [str(f) for f in files], seed, pause_s, str(acks), actions)
    )
    process.start()
    return process


def test_two_writers_at_once_index_every_file_once(fork, tmp_path):
    files = make_files(tmp_path / "files", n_good=6, n_bad=1, seed=1)
    good, bad = files[:6], files[6:]
    uri = str(tmp_path / "store")
    reader = VideoStore.open(uri, ENCODER, DIM)  # opened before, kept open: must see it all
    acks = [tmp_path / "acks0", tmp_path / "acks1"]
    writers = [_start(fork, uri, files, seed, 0.05, acks[seed], actions=0) for seed in (0, 1)]
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    assert check_store(uri, good, bad, [], complete=True) == Problems()
    done = [line.split()[1] for line in acknowledged(acks) if line.startswith("done")]
    assert sorted(done) == sorted(map(str, good))  # each file ingested by one writer only
    assert sorted(reader.video_ids()) == sorted(content_id(f) for f in good)

    labeller = fork.Process(target=_write_label, args=(uri, content_id(good[0])))
    labeller.start()
    labeller.join(60)
    assert [lab.query for lab in reader.labels.current()] == ["written elsewhere"]


def test_processes_creating_one_store_at_once_all_open_it(fork, tmp_path):
    uri = str(tmp_path / "new")
    files = make_files(tmp_path / "files", n_good=3, n_bad=0, seed=2)
    acks = [tmp_path / f"acks{i}" for i in range(3)]
    writers = [_start(fork, uri, files[i : i + 1], i, 0.0, acks[i], actions=0) for i in range(3)]
    for writer in writers:
        writer.join(120)
    assert [w.exitcode for w in writers] == [0, 0, 0]
    assert check_store(uri, files, [], [], complete=True) == Problems()


def _write_label(uri: str, video_id: str) -> None:
    store = VideoStore.open(uri)
    with store.write_lock():
        store.labels.add([Label("written elsewhere", video_id, True)])


def test_a_version_switched_elsewhere_is_followed_and_not_written_into(tmp_path):
    writer = VideoStore.open(tmp_path / "s", "enc:a", 8)
    writer.add_video(make_video("v0"), random_tokens(0, {Modality.ASR: 3}))
    reader = VideoStore.open(tmp_path / "s")
    other = VideoStore.open(tmp_path / "s")  # another process, as far as these two know
    versions = StoreVersions(other)
    new = versions.begin("enc:b", 16, None)
    other.add_token_rows(new.table, _rows("v0", 16))
    versions.mark_complete(new.name)
    versions.activate(new.name)
    assert reader.tokens_table == "tokens"  # a reader keeps the version it opened...
    assert reader.refresh() and reader.tokens_table == new.table  # ...until it looks again
    with pytest.raises(StoreError, match="switched to encoder 'enc:b'"):
        writer.add_video(make_video("v1"), random_tokens(1, {Modality.ASR: 3}))
    assert sorted(other.video_ids()) == ["v0"]  # tokens of the old encoder were not written


def _rows(video_id: str, dim: int):
    return token_table(video_id, random_tokens(7, {Modality.OCR: 2}, dim), dim)


# ------------------------------------------------------------------ slow: randomized trials
def _trial(fork, root: Path, number: int) -> dict:
    rng = random.Random(number)
    folder = root / f"trial{number}"
    files = make_files(folder / "files", rng.randint(4, 10), rng.randint(0, 1), seed=number)
    good = [f for f in files if not f.name.startswith("bad")]
    bad = [f for f in files if f.name.startswith("bad")]
    uri = str(folder / "store")
    n_writers = rng.randint(2, 3)
    acks = [folder / f"acks{i}" for i in range(n_writers)]
    # A kill lands a few milliseconds after its writer's n-th file (n=0: after its start), so
    # that it lands while the writer works however fast the machine is: each writer answers
    # for every file, and has at least one file left after the n-th.
    kill_after = {
        i: (rng.randrange(len(files)), rng.uniform(0.0, 0.03))
        for i in range(n_writers)
        if rng.random() < 0.7
    }
    writers = [
        _start(fork, uri, files, number * 10 + i, rng.choice([0.0, 0.01, 0.05]), acks[i])
        for i in range(n_writers)
    ]
    start, killed, killed_ids, due = time.monotonic(), 0, set(), {}
    while any(w.is_alive() for w in writers) and time.monotonic() - start < 120:
        now = time.monotonic()
        for i, (files_done, delay) in list(kill_after.items()):
            if i not in due and len(acknowledged([acks[i]])) >= files_done:
                due[i] = now + delay
            if i in due and now >= due[i]:
                if writers[i].is_alive():
                    os.kill(writers[i].pid, signal.SIGKILL)
                    killed += 1
                    killed_ids.add(i)
                del kill_after[i]
        time.sleep(0.005)
    for writer in writers:
        writer.join(60)
    crashed = sum(1 for i, w in enumerate(writers) if w.exitcode != 0 and i not in killed_ids)
    labels = [line for line in acknowledged(acks) if line.startswith("label")]
    exists = (Path(uri) / "meta.lance").exists()
    after = check_store(uri, good, bad, labels, complete=False) if exists else Problems()
    # the next run completes the store
    store = VideoStore.open(uri, ENCODER, DIM)
    SyntheticIndexer(store, random.Random(number), 0.0).index(files)
    final = check_store(uri, good, bad, labels, complete=True)
    leftover = after.orphaned  # what killed writers left, for the next run to clear
    return {
        "writers": n_writers,
        "killed": killed,
        "crashed": crashed,
        "leftover_orphans": leftover,
        "after": after,
        "final": final,
    }


@pytest.mark.slow
def test_randomized_kills_and_concurrent_writers_lose_double_and_orphan_nothing(fork, tmp_path):
    results = [_trial(fork, tmp_path, number) for number in range(TRIALS)]
    kinds = list(asdict(Problems()))
    summary = {
        "trials": len(results),
        "writers": sum(r["writers"] for r in results),
        "killed_while_running": sum(r["killed"] for r in results),
        "writers_that_failed_unkilled": sum(r["crashed"] for r in results),
        "trials_leaving_orphans_for_the_next_run": sum(r["leftover_orphans"] > 0 for r in results),
        "after_kills": {k: sum(getattr(r["after"], k) for r in results) for k in kinds},
        "after_next_run": {k: sum(getattr(r["final"], k) for r in results) for k in kinds},
    }
    print(json.dumps(summary, indent=2))
    assert summary["killed_while_running"] >= TRIALS // 2  # the kills did land mid-run
    assert summary["writers_that_failed_unkilled"] == 0, summary
    assert all(r["after"].total(orphans_allowed=True) == 0 for r in results), summary
    assert all(r["final"].total() == 0 for r in results), summary


# ------------------------------------------------------------------ slow: the real command
def _index(store: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "backend", "index", "assets/demo", "--store", str(store)]
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=REPO_ROOT, stderr=out, stdout=subprocess.DEVNULL)


def _finished_files(log: Path, *stages: str) -> int:
    lines = log.read_text().splitlines()
    return sum(line.strip().startswith(stages or ("done", "skipped", "failed")) for line in lines)


@pytest.mark.slow
def test_real_index_runs_started_together_and_killed_give_the_store_of_one_run(tmp_path):
    reference = tmp_path / "reference"
    start = time.monotonic()
    assert _index(reference, tmp_path / "reference.log").wait(1800) == 0
    one_run_s = time.monotonic() - start
    rng = random.Random(12)
    outcomes = []
    for trial in range(3):
        store = tmp_path / f"trial{trial}"
        logs = [tmp_path / f"trial{trial}-{i}.log" for i in (0, 1)]
        start = time.monotonic()
        runs = [_index(store, log) for log in logs]
        if trial:  # trial 0: nobody is killed; then one run dies in its k-th video
            victim, log, after = runs[trial % 2], logs[trial % 2], rng.randint(0, 2)
            while victim.poll() is None and _finished_files(log) < after:
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 4.0))
            victim.send_signal(signal.SIGKILL)
        codes = [run.wait(1800) for run in runs]
        seconds = time.monotonic() - start
        finished = subprocess.run(
            [sys.executable, "-m", "backend", "index", "assets/demo", "--store", str(store)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )
        outcomes.append(
            {
                "exit codes": codes,
                "seconds, one run alone": round(one_run_s, 1),
                "seconds, the two together": round(seconds, 1),
                "videos each ingested": [_finished_files(log, "done") for log in logs],
                "completing run": finished.stdout.strip(),
            }
        )
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert same_rows(VideoStore.open(store), VideoStore.open(reference)), trial
        assert VideoStore.open(store).remove_orphans() == 0
    print(json.dumps(outcomes, indent=2))
