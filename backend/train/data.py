"""Training examples from a store: relevance labels plus synthetic queries, split by query.

A label marked relevant is a positive (query, video) pair; one marked not relevant is a hard
negative of that query, which the batcher puts in the same batch as the query so that it is
scored against it. Synthetic queries (``backend.train.synthetic``) add modality-targeted
positives drawn from the collection. Held-out queries are chosen by query text, never by pair,
so no held-out query is ever trained on; labels and synthetic queries are held out in the same
proportion. A judged query set (a test collection, ``backend.train.heldout.judged_relevance``)
is held out whole: its labels are measured on, never trained on. The result exports to CLaMR's
dataset format (``datasets.DatasetDict``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.ingest.types import IngestedVideo
from backend.store.labels import Label
from backend.store.video_store import VideoStore
from backend.train.heldout import judged_relevance
from backend.train.synthetic import QUERY_TYPES, synthetic_queries

#: Label ``modality`` values (the store's modality keys, or CLaMR's names) as CLaMR's types.
_LABEL_TYPES = {
    **{name: name for name in QUERY_TYPES},
    **{modality.key: name for name, modality in QUERY_TYPES.items()},
}


@dataclass(frozen=True)
class TrainExample:
    query: str
    video_id: str  # the positive
    query_type: str  # CLaMR's: video, speech, ocr, description; "" when unknown
    source: str  # "label" or "synthetic"
    hard_negatives: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Queries are the same when their words are (case and spacing aside)."""
        return query_key(self.query)


def query_key(text: str) -> str:
    return " ".join(text.split()).lower()


@dataclass
class TrainingData:
    train: list[TrainExample]
    heldout: list[TrainExample]
    videos: dict[str, IngestedVideo]  # every video of the collection, by id
    skipped_labels: int = 0  # labels of videos no longer in the store
    counts: dict[str, int] = field(default_factory=dict)
    judged: dict[str, tuple[str, dict[str, int]]] = field(default_factory=dict)  # test set

    def heldout_relevance(self, source: str | None = None) -> dict[str, tuple[str, set[str]]]:
        """Held-out queries (of one source, or all) as ``{key: (text, relevant video ids)}``."""
        out: dict[str, tuple[str, set[str]]] = {}
        for example in self.heldout:
            if source is not None and example.source != source:
                continue
            _, relevant = out.setdefault(example.key, (example.query, set()))
            relevant.add(example.video_id)
        return out


def examples_from_labels(
    labels: Sequence[Label], known: set[str]
) -> tuple[list[TrainExample], int]:
    """One example per relevant (query, video); non-relevant ones become its hard negatives."""
    by_query: dict[str, list[Label]] = {}
    skipped = 0
    for label in labels:
        if label.video_id not in known:
            skipped += 1
            continue
        by_query.setdefault(query_key(label.query), []).append(label)
    examples = []
    for key in sorted(by_query):
        group = by_query[key]
        negatives = tuple(sorted({lab.video_id for lab in group if not lab.relevant}))
        for label in sorted((lab for lab in group if lab.relevant), key=lambda lab: lab.video_id):
            examples.append(
                TrainExample(
                    query=" ".join(label.query.split()),
                    video_id=label.video_id,
                    query_type=_LABEL_TYPES.get(label.modality.lower(), ""),
                    source="label",
                    hard_negatives=negatives,
                )
            )
    return examples, skipped


def split_by_query(
    examples: Sequence[TrainExample], fraction: float, seed: int
) -> tuple[list[TrainExample], list[TrainExample]]:
    """(train, held-out): a ``fraction`` of each source's distinct queries is held out whole."""
    rng = random.Random(seed)
    heldout_keys: set[str] = set()
    for source in ("label", "synthetic"):
        keys = sorted({e.key for e in examples if e.source == source})
        rng.shuffle(keys)
        n = math.floor(len(keys) * fraction + 0.5) if len(keys) > 1 else 0
        heldout_keys.update(keys[:n])
    train = [e for e in examples if e.key not in heldout_keys]
    heldout = [e for e in examples if e.key in heldout_keys]
    return train, heldout


def build_training_data(
    store: VideoStore, synthetic: int, use_labels: bool, heldout: float, seed: int
) -> TrainingData:
    """Examples from the store's labels and ``synthetic`` drawn queries, split by query."""
    videos = {record.video_id: record.ingested() for record in store.videos()}
    labelled, skipped = (
        examples_from_labels(store.labels.current(), set(videos)) if use_labels else ([], 0)
    )
    judged = judged_relevance(store)
    labelled = [e for e in labelled if e.key not in judged]  # the test set is not trained on
    labelled_keys = {e.key for e in labelled} | set(judged)
    drawn = [
        TrainExample(q.query, q.video_id, q.query_type, "synthetic")
        for q in synthetic_queries(list(videos.values()), synthetic, seed)
        if query_key(q.query) not in labelled_keys  # a person's judgement wins
    ]
    train, held = split_by_query(labelled + drawn, heldout, seed)
    counts = {
        "labels": len(labelled),
        "synthetic": len(drawn),
        "train": len(train),
        "heldout": len(held),
        "heldout_queries": len({e.key for e in held}),
        "videos": len(videos),
        "judged_queries": len(judged),
    }
    return TrainingData(train, held, videos, skipped, counts, judged)


# ------------------------------------------------------------------------- CLaMR's format
def clamr_row(example: TrainExample, video: IngestedVideo, frames: list[str]) -> dict:
    """One row as CLaMR's loader expects it (its README calls the frame list ``images``)."""
    return {
        "video_id": example.video_id,
        "query": example.query,
        "query_type": example.query_type,  # "" for a label that did not say
        "asr": video.transcript.text,
        "ocr": " ".join(span.text for span in video.text_spans),
        "description": video.description,
        "frames": frames,
    }


def export_clamr_dataset(data: TrainingData, store: VideoStore, out_dir: Path, frames: bool):
    """Write ``out_dir/dataset`` (``DatasetDict``: train, validation) and, with ``frames``, the
    stored frame thumbnails as ``out_dir/frames/<video_id>/<n>.jpg`` named in each row."""
    from datasets import Dataset, DatasetDict, Features, List, Value

    out_dir = Path(out_dir)
    frame_names: dict[str, list[str]] = {}
    for video_id in sorted({e.video_id for e in data.train + data.heldout}):
        names = []
        if frames:
            folder = out_dir / "frames" / video_id
            folder.mkdir(parents=True, exist_ok=True)
            for number, row in enumerate(store.frames(video_id)):
                name = f"{video_id}/{number:04d}.jpg"
                (out_dir / "frames" / name).write_bytes(row["jpeg"])
                names.append(name)
        frame_names[video_id] = names
    features = Features(
        {
            **{k: Value("string") for k in ("video_id", "query", "query_type")},
            **{k: Value("string") for k in ("asr", "ocr", "description")},
            "frames": List(Value("string")),
        }
    )

    def split(examples: list[TrainExample]) -> Dataset:
        rows = [clamr_row(e, data.videos[e.video_id], frame_names[e.video_id]) for e in examples]
        return Dataset.from_list(rows, features=features)

    dataset = DatasetDict({"train": split(data.train), "validation": split(data.heldout)})
    dataset.save_to_disk(str(out_dir / "dataset"))
    return dataset
