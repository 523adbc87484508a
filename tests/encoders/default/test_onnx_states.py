"""MiniLM on onnxruntime (the default runtime) against eager torch, on real words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.encoders.default import onnx_states
from backend.encoders.default.encoder import DefaultEncoder
from backend.encoders.default.token_model import MiniLMTokenModel, packaged_model_path
from tests.helpers import make_video

DEMO = Path(__file__).resolve().parents[3] / "assets" / "demo"


@pytest.fixture(scope="module")
def torch_encoder() -> DefaultEncoder:
    return DefaultEncoder(runtime="torch")


def test_onnxruntime_gives_torchs_vectors(torch_encoder):
    onnx = DefaultEncoder(runtime="onnx")
    queries = [json.loads(line)["query"] for line in (DEMO / "queries.jsonl").open()]
    assert len(queries) >= 10
    ours, theirs = onnx.encode_queries(queries), torch_encoder.encode_queries(queries)
    for a, b in zip(ours, theirs, strict=True):
        assert a.labels == b.labels
        np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    video = make_video("v", "she had your dark suit in greasy wash water all year " * 20)
    a, b = onnx.encode_video(video), torch_encoder.encode_video(video)
    assert a.labels == b.labels and len(a) > 200  # a long transcript, batched and padded
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    assert onnx._model.runtime == "onnx" and torch_encoder._model.runtime == "torch"


def test_a_damaged_graph_cache_is_exported_again(tmp_path):
    path = onnx_states.graph_path(tmp_path, packaged_model_path(), None)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx graph")
    model = MiniLMTokenModel(runtime="onnx", cache_dir=tmp_path)
    assert model.runtime == "onnx"
    assert path.stat().st_size > 10_000_000  # the graph, exported again
    assert len(model.encode([["greasy", "wash", "water"]])[0].vectors) == 3


def test_an_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="auto, onnx or torch"):
        MiniLMTokenModel(runtime="tensorrt")
