"""Training examples from the store: labels with hard negatives, synthetic queries, the split,
and CLaMR's dataset format."""

from __future__ import annotations

from backend.store.video_store import VideoStore
from backend.train.data import build_training_data, export_clamr_dataset


def test_labels_and_synthetic_queries_split_by_query(indexed_store):
    store = VideoStore.open(indexed_store)
    data = build_training_data(store, synthetic=200, use_labels=True, heldout=0.25, seed=3)
    assert data.counts["labels"] == 11  # relevant pairs; not-relevant ones are hard negatives
    ids = {r.file_name: r.video_id for r in store.videos()}
    bin_blue = [e for e in data.train + data.heldout if e.query == "bin blue at f two now"]
    assert bin_blue[0].hard_negatives == (ids["brbk7n.mpg"],)
    assert bin_blue[0].query_type == "speech"  # the label's "asr", in CLaMR's name
    train_keys = {e.key for e in data.train}
    heldout_keys = {e.key for e in data.heldout}
    assert train_keys.isdisjoint(heldout_keys)
    assert {e.source for e in data.heldout} == {"label", "synthetic"}
    synthetic = [e for e in data.train + data.heldout if e.source == "synthetic"]
    assert {e.query_type for e in synthetic} >= {"speech", "ocr", "description"}
    again = build_training_data(store, synthetic=200, use_labels=True, heldout=0.25, seed=3)
    assert again.train == data.train and again.heldout == data.heldout
    other = build_training_data(store, synthetic=200, use_labels=True, heldout=0.25, seed=4)
    assert other.heldout != data.heldout


def test_export_to_clamrs_dataset_format(indexed_store, tmp_path):
    from datasets import load_from_disk

    store = VideoStore.open(indexed_store)
    data = build_training_data(store, synthetic=20, use_labels=True, heldout=0.2, seed=0)
    export_clamr_dataset(data, store, tmp_path, frames=True)
    dataset = load_from_disk(str(tmp_path / "dataset"))
    assert set(dataset) == {"train", "validation"}
    assert dataset["train"].column_names == [
        "video_id",
        "query",
        "query_type",
        "asr",
        "ocr",
        "description",
        "frames",
    ]
    assert len(dataset["train"]) == len(data.train)
    row = next(r for r in dataset["train"] if r["query"] == "bin red by k seven now")
    assert "K7" in row["asr"] and row["query_type"] == "speech"
    assert row["frames"] and all((tmp_path / "frames" / f).is_file() for f in row["frames"])
