"""MiniLM's token states on onnxruntime: the numbers torch gives, for a third of the CPU.

Why: every search encodes its query. In eager torch, MiniLM's forward pass over a short query
took 17-21 ms of CPU on two threads (11 on one) on this project's 2-core Zen 4, most of it Python
dispatching modules while holding the GIL, which the app's other requests then waited for.
onnxruntime runs the same graph in 4.8 ms on one thread with the GIL released, and a batch of 32
transcript lines in 0.26 s of CPU against 0.36 (a one-off script over the demo queries).

The graph is exported from torch with the LoRA adapter, if any, merged into the weights and the
normalisation included, checked against torch on a padded batch at export, and cached as
``<cache>/text/minilm-<digest of weights and adapter>-v<EXPORT_VERSION>.onnx`` (about 90 MB per
adapter; the export took 5.6 s here, once). Training never runs here: it needs
gradients, so it calls torch (``token_states``).
"""

from __future__ import annotations

import copy
import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from backend.encoders.default.token_model import TokenizedBatch, token_states, tokenize_words
from backend.graph_cache import onnxruntime_session, open_cached_graph

#: Bump when the exported graph changes (inputs, outputs), so old caches are not reused.
EXPORT_VERSION = 1
#: The largest difference to torch an export may show (measured: 2.3e-7 on the demo queries).
CHECK_TOLERANCE = 1e-4
WEIGHTS_FILE = "model.safetensors"


def graph_path(cache_dir: Path, model_path: Path, adapter_fingerprint: str | None) -> Path:
    """Where the graph of these weights (and this adapter) is cached."""
    digest = hashlib.sha256()
    with open(model_path / WEIGHTS_FILE, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    digest.update((adapter_fingerprint or "").encode())
    return cache_dir / "text" / f"minilm-{digest.hexdigest()[:12]}-v{EXPORT_VERSION}.onnx"


def export_graph(tokenizer, model) -> bytes:
    """``model`` (MiniLM, or a PEFT model around it) as ONNX bytes with normalised token
    states as output; batch and length free. Raises if onnxruntime disagrees with torch."""
    import torch

    if hasattr(model, "merge_and_unload"):  # a copy: the caller's model keeps its adapter
        model = copy.deepcopy(model).merge_and_unload()
    model = model.eval()

    class UnitStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            states = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return torch.nn.functional.normalize(states, dim=-1)

    rows = [["a", "padded", "row"], ["and", "a", "longer", "one", "too"]]
    sample = tokenize_words(tokenizer, rows)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    buffer = io.BytesIO()
    with torch.inference_mode():
        expected = token_states(model, sample)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation chatter
        # dynamo=False: the dynamo exporter needs onnxscript, which is not a dependency.
        torch.onnx.export(
            UnitStates().eval(),  # a module in training mode would be put back in it after
            tuple(sample.inputs[name] for name in names),
            buffer,
            dynamo=False,
            input_names=names,
            output_names=["states"],
            dynamic_axes={name: {0: "batch", 1: "length"} for name in [*names, "states"]},
            opset_version=17,
        )
    graph = buffer.getvalue()
    got = OnnxTokenStates(onnxruntime_session(graph))(sample)
    difference = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))
    if difference > CHECK_TOLERANCE:
        raise RuntimeError(f"the ONNX export differs from torch by up to {difference:.2g}")
    return graph


class OnnxTokenStates:
    """Unit token states of a tokenised batch, one ``(T_i, 384)`` array per row, as
    ``token_states`` gives them; safe to call from several threads at once."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, path: Path, export) -> OnnxTokenStates:
        """The graph cached at ``path``, exported with ``export()`` when missing or unusable."""
        return open_cached_graph(
            path, export, lambda graph, _: cls(onnxruntime_session(graph)), "text encoder"
        )

    def __call__(self, batch: TokenizedBatch) -> list[np.ndarray]:
        feed = {name: batch.inputs[name].numpy() for name in self._inputs}
        (states,) = self._session.run(None, feed)
        return [states[row, keep] for row, keep in enumerate(batch.keep)]
