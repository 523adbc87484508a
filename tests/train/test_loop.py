"""A real fine-tune on CPU: the default encoder's MiniLM with LoRA, on eight indexed corpus
videos, from the labels and from synthetic queries drawn from those videos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.encoders.default.encoder import DefaultEncoder
from backend.store.video_store import VideoStore
from backend.train.loop import run_training
from backend.train.progress import PROGRESS_FILE, ProgressWriter, read_events
from backend.train.settings import TrainSettings


@pytest.fixture(scope="module")
def finetune(indexed_store, tmp_path_factory):
    output = tmp_path_factory.mktemp("run")
    settings = TrainSettings(store=str(indexed_store), seed=0, epochs=3)  # else its defaults
    outcome = run_training(settings, output, ProgressWriter(output / PROGRESS_FILE))
    return outcome, output


def test_training_loss_falls_and_the_heldout_metric_does_not_get_worse(finetune):
    outcome, _ = finetune
    before, after = outcome.metrics["before"], outcome.metrics["after"]
    print("\nfine-tune:", outcome.counts)
    for group in ("all", "label", "synthetic", "train"):
        print(f"  {group:<9} before {before[group]}\n  {'':<9} after  {after[group]}")
    assert outcome.status == "completed" and outcome.steps_done == outcome.total_steps
    assert outcome.counts["labels"] >= 8 and outcome.counts["synthetic"] >= 10
    assert before["label"]["queries"] >= 1 and before["synthetic"]["queries"] >= 1
    # the loss over the same training batches, without dropout, before and after
    assert after["train"]["loss"] < 0.8 * before["train"]["loss"]
    assert after["all"]["nDCG@10"] >= before["all"]["nDCG@10"]
    assert after["all"]["R@1"] >= before["all"]["R@1"]


def test_the_adapter_reloads_with_peft_and_gives_the_vectors_of_the_end_of_training(
    finetune, indexed_store
):
    outcome, output = finetune
    adapter = output / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["peft_type"], config["r"], config["lora_alpha"]) == ("LORA", 16, 16)
    assert (adapter / "adapter_model.safetensors").is_file()

    trained = outcome.backbone.as_encoder()  # the model in memory when training ended
    reloaded = DefaultEncoder(adapter=adapter)  # base MiniLM + PeftModel.from_pretrained
    assert reloaded.identity.startswith("default:all-MiniLM-L6-v2+lora:adapter@")
    queries = ["bin blue at f two now", "Frame = 22", "a little girl does gymnastics"]
    for a, b in zip(trained.encode_queries(queries), reloaded.encode_queries(queries)):
        np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
        assert a.labels == b.labels
    videos = [r.ingested() for r in VideoStore.open(indexed_store).videos()]
    for a, b in zip(trained.encode_videos(videos), reloaded.encode_videos(videos)):
        np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
        np.testing.assert_array_equal(a.modalities, b.modalities)
    base = DefaultEncoder().encode_queries(queries[:1])[0].vectors
    assert np.abs(base - reloaded.encode_queries(queries[:1])[0].vectors).max() > 1e-3


def test_the_progress_file_tells_the_whole_run(finetune):
    outcome, output = finetune
    events, _ = read_events(output / PROGRESS_FILE)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[1] == "metrics" and kinds[-1] == "metrics"
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, outcome.total_steps + 1))
    assert all(e["eta_s"] >= 0 and e["lr"] >= 0 for e in steps) and steps[-1]["eta_s"] == 0
    checkpoints = [e for e in events if e["event"] == "checkpoint"]
    assert len(checkpoints) == outcome.settings.epochs - 1  # each epoch's end but the last
    assert sorted(p.name for p in (output / "checkpoints").iterdir()) == sorted(
        f"step-{e['step']}" for e in checkpoints[-2:]
    )
