"""RapidOCR: PP-OCR detection + recognition on onnxruntime, with the models its wheel ships.

The default model pair (PP-OCR "ch", which reads Latin script and digits as well as Chinese) is
bundled in the ``rapidocr`` wheel, so nothing is downloaded; ``OcrSettings.languages`` does not
change it. The engine's own score filter is
turned off: :class:`~backend.ingest.ocr.reader.TextReader` applies ``OcrSettings.min_score`` so
that both engines are cut at the same place.
"""

from __future__ import annotations

import numpy as np

from backend.ingest.ocr.base import OcrEngineUnavailable, OcrLine, as_rgb, quad_to_box

#: The detector upscales a picture whose short side is below this. rapidocr's default (736)
#: blows a 40 px word crop up 18x; on ocr/references.jsonl 320 instead read 10/20 word crops
#: (default: 6/20) and 44/45 words of the photographed page (35/45), at a quarter of the CPU on
#: small pictures. Frames 320 px and taller are read at their own resolution either way.
DET_MIN_SIDE = 320


class RapidOcrEngine:
    """PP-OCR through ``rapidocr`` 3.x. Build once: loading the ONNX sessions takes a moment."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as e:
            raise OcrEngineUnavailable(
                "OCR engine 'rapidocr' is not installed in this Python: "
                "pip install rapidocr onnxruntime"
            ) from e
        # log_level "error": an empty frame is normal in video, not a warning worth printing.
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.text_score": 0.0,
                "Det.limit_side_len": DET_MIN_SIDE,
            }
        )

    def read_image(self, image: np.ndarray) -> list[OcrLine]:
        # rapidocr treats a 3-channel array as BGR (OpenCV's order); frames are RGB.
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        result = self._ocr(bgr)
        if result.boxes is None or result.txts is None or result.scores is None:
            return []
        return [
            OcrLine(text=str(text), box=quad_to_box(quad), score=float(score))
            for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
        ]
