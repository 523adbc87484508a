"""On-screen text recognition: OCR engines behind one interface, and spans over frames.

``TextReader(settings.ocr).read_frames(frames)`` is the entry point. Engines live one per
module (``rapid``: RapidOCR, the default; ``easy``: EasyOCR, in its own environment);
``second_look`` re-reads a frame where no word was found on a contrast-equalised copy; ``spans``
merges what they read on consecutive frames into :class:`~backend.ingest.types.TextSpan`.
"""

from backend.ingest.ocr.base import OcrEngine, OcrEngineUnavailable, OcrLine
from backend.ingest.ocr.reader import ENGINES, TextReader, load_engine
from backend.ingest.ocr.spans import merge_lines

__all__ = [
    "ENGINES",
    "OcrEngine",
    "OcrEngineUnavailable",
    "OcrLine",
    "TextReader",
    "load_engine",
    "merge_lines",
]
