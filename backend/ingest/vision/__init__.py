"""What frames show, as words: ImageNet labels with times and boxes (see :mod:`.tagger`).

No image-text model ships offline here, so the ``video`` modality reaches the text encoder as the
names an image classifier gives frames and parts of frames.
"""

from backend.ingest.vision.classifier import ImageNetClassifier
from backend.ingest.vision.errors import VisionModelError
from backend.ingest.vision.labels import LabelSet, class_names
from backend.ingest.vision.tagger import FrameTagger, merge_over_time

__all__ = [
    "FrameTagger",
    "ImageNetClassifier",
    "LabelSet",
    "VisionModelError",
    "class_names",
    "merge_over_time",
]
