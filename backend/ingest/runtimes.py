"""Which inference runtime runs a convolutional model on this CPU: a measured rule, in one place.

OpenVINO computes in bfloat16 where the CPU does so natively (AVX512-BF16 or AMX; OpenVINO then
lists ``BF16`` among the CPU's capabilities), and there it beats onnxruntime's float32 on the
ingest models (this project's 2-core Zen 4, one thread: the frame classifier 5.9 against 10.3 ms
per crop, the OCR text detector 0.71 against 1.04 s over the same 14 frame sizes). Where the CPU
has no bfloat16, OpenVINO's float32 is no faster than onnxruntime's (11.5 against 10.3 ms per
crop; 1.08 against 1.04 s), so onnxruntime stays.
"""

from __future__ import annotations

import threading
from functools import cache
from types import ModuleType
from typing import Literal

Runtime = Literal["auto", "onnx", "openvino"]

_IMPORTING = threading.Lock()


@cache
def import_openvino() -> ModuleType:
    """``openvino``, imported with its usage telemetry declined for this process.

    Importing ``openvino`` loads its model converter, which sends a usage event to Google
    Analytics from a forked process unless the user opted out in a file in their home folder.
    This tool sends nothing anywhere, and the fork, taken while LanceDB's runtime and the
    ingest threads run, hung an indexer here. So the consent check answers "declined" in this
    process (the user's own opt-in file is left alone). Raises ImportError without OpenVINO.
    """
    with _IMPORTING:
        try:
            from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
        except ImportError:  # a build without the telemetry package sends nothing
            pass
        else:
            OptInChecker.check = lambda self, *args, **kwargs: ConsentCheckResult.DECLINED
        try:
            import openvino
        except ImportError as error:
            raise ImportError(
                "OpenVINO is not installed in this Python: pip install openvino, "
                "or choose the onnx runtime"
            ) from error
        # The first tensor shown to numpy sets up OpenVINO's numpy glue: a C++ static whose
        # initializer waits for the GIL. Two stage threads doing it at once deadlocked (seen
        # once, in bench.corpus's warm-up: the OCR detector's and the classifier's first
        # inference, each thread waiting for the other), so it is done here, on one thread.
        for element in (openvino.Type.u8, openvino.Type.f32):
            openvino.Tensor(element, [1]).data  # noqa: B018
    return openvino


@cache
def openvino_computes_bfloat16() -> bool:
    """Whether OpenVINO is installed and this CPU computes bfloat16 natively."""
    try:
        openvino = import_openvino()
        return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # not installed, or no CPU plugin
        return False


def prefers_openvino(runtime: str) -> bool:
    """Whether ``runtime`` ("auto", "onnx", "openvino", ...) means OpenVINO on this CPU (then
    OpenVINO is imported already, through :func:`import_openvino`)."""
    if runtime == "openvino":
        import_openvino()
        return True
    return runtime == "auto" and openvino_computes_bfloat16()
