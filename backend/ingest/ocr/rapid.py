"""RapidOCR: PP-OCR detection + recognition, with the models its wheel ships.

The default model pair (PP-OCR "ch", which reads Latin script and digits as well as Chinese) is
bundled in the ``rapidocr`` wheel, so nothing is downloaded; ``OcrSettings.languages`` does not
change it. The engine's own score filter is
turned off: :class:`~backend.ingest.ocr.reader.TextReader` applies ``OcrSettings.min_score`` so
that both engines are cut at the same place.

Besides reading a whole picture (:meth:`RapidOcrEngine.read_image`), the engine offers its two
steps apart (:meth:`~RapidOcrEngine.detect` at a chosen scale, then
:meth:`~RapidOcrEngine.recognise` of chosen boxes, batched), which is what lets video frames be
read incrementally (:mod:`backend.ingest.ocr.incremental`). On a picture of ordinary shape,
``recognise(image, detect(image))`` gives exactly what ``read_image`` gives.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import cv2
import numpy as np

from backend.ingest.ocr.base import OcrEngineUnavailable, OcrLine, Quad, as_rgb, quad_to_box
from backend.ingest.runtimes import prefers_openvino

#: The detector upscales a picture whose short side is below this. rapidocr's default (736)
#: blows a 40 px word crop up 18x; on ocr/references.jsonl 320 instead read 10/20 word crops
#: (default: 6/20) and 44/45 words of the photographed page (35/45), at a quarter of the CPU on
#: small pictures. Frames 320 px and taller are read at their own resolution either way.
DET_MIN_SIDE = 320
#: RapidOCR resizes pictures outside these bounds (short side, long side) and pads very wide ones
#: before detecting; :meth:`RapidOcrEngine.detect` does not, so it refuses them (callers read
#: such pictures whole with ``read_image``).
ORDINARY_SIDES = (30, 2000)
ORDINARY_MAX_ASPECT = 8.0


def is_ordinary(shape: tuple[int, ...]) -> bool:
    """Whether RapidOCR reads a picture of this shape without resizing or padding it first.

    >>> is_ordinary((720, 1280, 3)), is_ordinary((1, 1, 3)), is_ordinary((32, 400, 3))
    (True, False, False)
    """
    height, width = shape[:2]
    short, long = min(height, width), max(height, width)
    return (
        short > ORDINARY_SIDES[0]
        and long <= ORDINARY_SIDES[1]
        and width / height <= ORDINARY_MAX_ASPECT
    )


def detector_scale(shape: tuple[int, ...]) -> float:
    """The scale RapidOCR's detector reads a picture at: 1, or up to ``DET_MIN_SIDE``.

    >>> detector_scale((720, 1280, 3)), detector_scale((160, 320, 3))
    (1.0, 2.0)
    """
    short = min(shape[:2])
    return max(1.0, DET_MIN_SIDE / short)


class RapidOcrEngine:
    """PP-OCR through ``rapidocr`` 3.x. Build once: loading the ONNX sessions takes a moment.

    ``threads`` caps each model's intra-op threads (None: one per core). With one thread a model
    runs on the calling thread, which is what lets ingest run OCR beside other stages and count
    its CPU time per thread. ``runtime`` picks what runs the detector and the recogniser
    (:func:`backend.ingest.runtimes.prefers_openvino`); the small angle classifier stays on
    onnxruntime (no faster on OpenVINO).
    """

    name = "rapidocr"

    def __init__(self, threads: int | None = None, runtime: str = "auto") -> None:
        try:
            from rapidocr import EngineType, RapidOCR
        except ImportError as e:
            raise OcrEngineUnavailable(
                "OCR engine 'rapidocr' is not installed in this Python: "
                "pip install rapidocr onnxruntime"
            ) from e
        params: dict[str, object] = {
            # "error": an empty frame is normal in video, not a warning worth printing.
            "Global.log_level": "error",
            "Global.text_score": 0.0,
            "Det.limit_side_len": DET_MIN_SIDE,
        }
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
            params["EngineConfig.openvino.inference_num_threads"] = threads
        params["EngineConfig.onnxruntime.enable_cpu_mem_arena"] = True
        if prefers_openvino(runtime):
            # The same packaged ONNX graphs, read by OpenVINO (bfloat16 is its default where the
            # CPU computes it).
            params["Det.engine_type"] = EngineType.OPENVINO
            params["Rec.engine_type"] = EngineType.OPENVINO
            # Unpinned, as the frame classifier (backend.ingest.vision.classifier says why).
            params["EngineConfig.openvino.enable_cpu_pinning"] = False
            params["EngineConfig.openvino.num_streams"] = 1
        self._ocr = RapidOCR(params=params)
        self.runtime = "openvino" if prefers_openvino(runtime) else "onnx"
        # rapidocr keeps one OpenVINO infer request per model, which must not serve two threads
        # at once (ingest reads two videos' text at once when a file is read ahead): "Infer
        # Request is busy", or one thread's input under the other's output ("口ater" for
        # "Water"). onnxruntime's sessions are safe to share.
        self._models: AbstractContextManager = (
            threading.Lock() if self.runtime == "openvino" else nullcontext()
        )

    def read_image(self, image: np.ndarray) -> list[OcrLine]:
        # rapidocr treats a 3-channel array as BGR (OpenCV's order); frames are RGB.
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        with self._models:
            result = self._ocr(bgr)
        if result.boxes is None or result.txts is None or result.scores is None:
            return []
        return [
            OcrLine(text=str(text), box=quad_to_box(quad), score=float(score))
            for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
        ]

    def detect(self, image: np.ndarray, scale: float | None = None) -> list[Quad]:
        """Text boxes in an RGB picture, as corner points in its pixels, in reading order. The
        detector sees the picture resized by ``scale``; None: as :meth:`read_image` does
        (:func:`detector_scale`), which only pictures of ordinary shape allow
        (:func:`is_ordinary`)."""
        if scale is None and not is_ordinary(image.shape):
            raise ValueError(f"{image.shape}: not an ordinary shape; give a scale or read_image")
        detector = self._ocr._load_det_model()  # rapidocr 3.x: the TextDetector, built once
        height, width = image.shape[:2]
        scale = detector_scale(image.shape) if scale is None else scale
        # Sides rounded to multiples of 32 as rapidocr's own resize does (the network needs it).
        size = (_multiple_of_32(width * scale), _multiple_of_32(height * scale))
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        # Shrinking averages pixels (thin strokes survive); growing interpolates, as rapidocr.
        method = cv2.INTER_AREA if size[0] < width else cv2.INTER_LINEAR
        resized = cv2.resize(bgr, size, interpolation=method)
        # The network's input: (x / 255 - 0.5) / 0.5, channels first, as rapidocr prepares it.
        pixels = resized.astype(np.float32) * np.float32(2 / 255) - np.float32(1.0)
        with self._models:
            prediction = detector.session(pixels.transpose(2, 0, 1)[None])
        boxes, _ = detector.postprocess_op(prediction, (height, width))
        if len(boxes) == 0:
            return []
        return [np.asarray(q, np.float32) for q in detector.sorted_boxes(np.asarray(boxes))]

    def recognise(self, image: np.ndarray, quads: Sequence[Quad]) -> list[tuple[str, float]]:
        """(text, score) for each box of an RGB picture, read from the picture's own pixels: the
        boxes are cropped, turned upright where the angle classifier says so, and recognised in
        batches (widths sorted, as rapidocr does)."""
        if not quads:
            return []
        from rapidocr.utils.process_img import get_rotate_crop_image

        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        crops = [get_rotate_crop_image(bgr, np.array(q, np.float32)) for q in quads]
        with self._models:
            upright, _ = self._ocr.cls_and_rotate(crops)
            result = self._ocr.recognize_txt(upright)
        return [(str(t), float(s)) for t, s in zip(result.txts, result.scores, strict=True)]


def _multiple_of_32(side: float) -> int:
    """A side length as rapidocr's detector takes it: truncated, then rounded to 32.

    >>> _multiple_of_32(720.0), _multiple_of_32(351.9), _multiple_of_32(10.0)
    (704, 352, 32)
    """
    return max(32, round(int(side) / 32) * 32)
