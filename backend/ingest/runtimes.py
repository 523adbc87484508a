"""Which inference runtime runs a convolutional model on this CPU: a measured rule, in one place.

OpenVINO computes in bfloat16 where the CPU does so natively (AVX512-BF16 or AMX; OpenVINO then
lists ``BF16`` among the CPU's capabilities), and there it beats onnxruntime's float32 on the
ingest models (this project's 2-core Zen 4, one thread: the frame classifier 5.9 against 10.3 ms
per crop, the OCR text detector 0.71 against 1.04 s over the same 14 frame sizes). Where the CPU
has no bfloat16, OpenVINO's float32 is no faster than onnxruntime's (11.5 against 10.3 ms per
crop; 1.08 against 1.04 s), so onnxruntime stays.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

Runtime = Literal["auto", "onnx", "openvino"]


@cache
def openvino_computes_bfloat16() -> bool:
    """Whether OpenVINO is installed and this CPU computes bfloat16 natively."""
    try:
        import openvino

        return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # not installed, or no CPU plugin
        return False


def prefers_openvino(runtime: str) -> bool:
    """Whether ``runtime`` ("auto", "onnx", "openvino", ...) means OpenVINO on this CPU."""
    return runtime == "openvino" or (runtime == "auto" and openvino_computes_bfloat16())
