"""Writers for the concurrency tests: processes writing one store at once through its writer API.

A synthetic writer runs the real :class:`~backend.indexer.Indexer` (claims, commit unless
present, orphan clean-up, failures) with only :meth:`Indexer.read_file` replaced (and
:meth:`Indexer.plan`, which reads ahead): a "video file" is a small file of random bytes, and
reading it is a short sleep and tokens, frames and text derived from its content id, so a whole
run takes a fraction of a second and two runs over the same files produce the same rows. A file
whose name starts with ``bad`` fails, as a broken file would. After indexing, a writer deletes
videos, writes labels and indexes again, as its seed says, and appends a line to its
acknowledgement file after every write that returned: what was acknowledged must never be lost,
whatever else is killed.

:func:`check_store` counts what would be wrong in a store: doubled, incomplete, orphaned, lost.
"""

from __future__ import annotations

import os
import random
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from backend.encoders.base import Modality, TokenVectors
from backend.indexer import Indexer
from backend.ingest.errors import IngestError
from backend.ingest.pipeline import StageTimer
from backend.ingest.probe import content_id
from backend.ingest.types import IngestedVideo
from backend.store.labels import Label
from backend.store.video_store import VideoStore
from tests.helpers import make_video, random_tokens

# The tests fork writers from a server process that imported lancedb but never used it.
warnings.filterwarnings("ignore", message="lancedb fork support")

ENCODER, DIM = "synthetic-writer", 8
MODALITY_SETS = (
    {Modality.ASR: 4, Modality.OCR: 2},
    {Modality.ASR: 3, Modality.VIDEO: 5, Modality.DESCRIPTION: 2},
    {Modality.DESCRIPTION: 3},
)


def make_files(folder: Path, n_good: int, n_bad: int, seed: int) -> list[Path]:
    """``n_good`` distinct random files and ``n_bad`` that fail when read."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = []
    for i in range(n_good + n_bad):
        path = folder / (f"clip{i}.mp4" if i < n_good else f"bad{i}.mp4")
        path.write_bytes(rng.randbytes(256))
        files.append(path)
    return files


def _seed(video_id: str) -> int:
    return int(video_id[:8], 16)


def expected_rows(video_id: str) -> tuple[set[int], int, int]:
    """(modalities, number of tokens, number of frames) the synthetic reader writes."""
    counts = MODALITY_SETS[_seed(video_id) % len(MODALITY_SETS)]
    return {int(m) for m in counts}, sum(counts.values()), 1 + _seed(video_id) % 3


def synthetic_read(path: Path) -> tuple[IngestedVideo, TokenVectors]:
    if path.name.startswith("bad"):
        raise IngestError(path, "synthetic: this file is broken")
    video_id = content_id(path)
    _, _, n_frames = expected_rows(video_id)
    video = make_video(video_id, f"words of {path.stem}", n_frames=n_frames)
    video = replace(video, probe=replace(video.probe, path=path))
    counts = MODALITY_SETS[_seed(video_id) % len(MODALITY_SETS)]
    return video, random_tokens(_seed(video_id), counts, DIM)


class SyntheticIndexer(Indexer):
    """The real indexer, reading files with :func:`synthetic_read` after a random pause."""

    def __init__(self, store: VideoStore, rng: random.Random, pause_s: float) -> None:
        self.store, self.encoder, self.ingestor = store, None, None
        self.rng, self.pause_s = rng, pause_s

    def plan(self, paths: list[Path]) -> Iterator[Path]:
        return iter(paths)  # nothing to read ahead: reading is a pause

    def read_file(self, path: Path, user_text: str | None, timer: StageTimer):
        time.sleep(self.rng.uniform(0, self.pause_s))
        return synthetic_read(path)


def _acknowledge(path: Path, line: str) -> None:
    """One line, one ``write`` on an O_APPEND file: whole even if the process dies next."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def run_writer(
    uri: str, files: list[str], seed: int, pause_s: float, acks: str, max_actions: int = 4
) -> None:
    """One writer process: index, then up to ``max_actions`` random deletes, labels and
    indexing runs."""
    rng = random.Random(seed)
    store = VideoStore.open(uri, ENCODER, DIM)
    indexer = SyntheticIndexer(store, rng, pause_s)
    paths = [Path(f) for f in files]
    rng.shuffle(paths)

    def progress(path: Path, stage: str) -> None:
        if stage in ("done", "skipped", "failed"):
            _acknowledge(Path(acks), f"{stage} {path}")

    indexer.index(paths, on_progress=progress)
    for _ in range(rng.randint(0, max_actions)):
        action = rng.choice(["delete", "label", "label", "index"])
        ids = store.video_ids()
        if action == "delete" and ids:
            video_id = rng.choice(ids)
            store.delete_video(video_id)
            _acknowledge(Path(acks), f"deleted {video_id}")
        elif action == "label" and ids:
            label = Label(f"query {rng.randint(0, 3)}", rng.choice(ids), rng.random() < 0.5)
            with store.write_lock():
                store.labels.add([label])
            _acknowledge(Path(acks), f"label {label.label_id}")
        elif action == "index":
            indexer.index(paths, on_progress=progress)


def acknowledged(acks: list[Path]) -> list[str]:
    lines: list[str] = []
    for path in acks:
        if path.exists():
            lines += path.read_text().splitlines()
    return lines


@dataclass
class Problems:
    doubled: int = 0  # a video, token or frame row more than once
    incomplete: int = 0  # a video whose tokens or frames are not all there
    orphaned: int = 0  # token or frame rows of no video
    lost: int = 0  # a good file not in the store, or an acknowledged label gone
    wrong_failures: int = 0  # a bad file without (or with two) failure rows, a good one with

    def total(self, orphans_allowed: bool = False) -> int:
        orphans = 0 if orphans_allowed else self.orphaned
        return self.doubled + self.incomplete + orphans + self.lost + self.wrong_failures


def check_store(
    uri: str, good: list[Path], bad: list[Path], labels: list[str], complete: bool
) -> Problems:
    """What is wrong with the store. ``complete``: after a run that finished (every good file
    must be there, each bad one failed once, no orphans); else only consistency is checked."""
    store = VideoStore.open(uri)
    problems = Problems()
    videos = Counter(store.video_ids())
    problems.doubled += sum(n - 1 for n in videos.values())
    tokens = store.table(store.tokens_table).to_arrow().select(["video_id", "modality", "labels"])
    token_keys = Counter(zip(tokens["video_id"].to_pylist(), tokens["modality"].to_pylist()))
    problems.doubled += sum(n - 1 for n in token_keys.values())
    token_lengths = Counter()
    for video_id, words in zip(tokens["video_id"].to_pylist(), tokens["labels"].to_pylist()):
        token_lengths[video_id] += len(words)
    frames = Counter(store.table("frames").to_arrow()["video_id"].to_pylist())
    for video_id in videos:
        modalities, n_tokens, n_frames = expected_rows(video_id)
        have = {m for v, m in token_keys if v == video_id}
        if have != modalities or token_lengths[video_id] != n_tokens:
            problems.incomplete += 1
        if frames[video_id] != n_frames:
            problems.doubled += frames[video_id] > n_frames
            problems.incomplete += frames[video_id] < n_frames
        if store.video(video_id).n_tokens != n_tokens:
            problems.incomplete += 1
    problems.orphaned += len({v for v, _ in token_keys} - set(videos))
    problems.orphaned += len(set(frames) - set(videos))
    written = Counter(label.label_id for label in store.labels.history())
    problems.doubled += sum(n - 1 for n in written.values())
    problems.lost += sum(1 for line in labels if line.split()[1] not in written)
    if complete:
        problems.lost += sum(1 for path in good if content_id(path) not in videos)
        failures = Counter(f["path"] for f in store.failures())
        problems.wrong_failures += sum(1 for path in bad if failures[str(path)] != 1)
        problems.wrong_failures += sum(1 for path in good if failures[str(path)])
    return problems


def same_rows(a: VideoStore, b: VideoStore) -> bool:
    """Two stores hold the same videos, token rows (labels, vectors) and frame times."""

    def rows(store: VideoStore) -> tuple:
        tokens = store.token_rows().to_pylist()
        keyed = sorted((t["video_id"], t["modality"], tuple(t["labels"])) for t in tokens)
        vectors = {(t["video_id"], t["modality"]): np.array(t["vectors"]) for t in tokens}
        rows = store.table("frames").to_arrow().select(["video_id", "time_s"]).to_pylist()
        frames = sorted((f["video_id"], round(f["time_s"], 3)) for f in rows)
        return sorted(store.video_ids()), keyed, vectors, frames

    ids_a, keys_a, vectors_a, frames_a = rows(a)
    ids_b, keys_b, vectors_b, frames_b = rows(b)
    return (
        ids_a == ids_b
        and keys_a == keys_b
        and frames_a == frames_b
        and all(np.allclose(vectors_a[k], vectors_b[k], atol=1e-4) for k in vectors_a)
    )
