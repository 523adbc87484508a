"""LoRA adapter folders (PEFT's standard layout) as encoders name them.

An adapter is known by its weights, not its path: the same folder retrained gives another
identity, so a store never mixes vectors of two fine-tunes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
NO_ADAPTER = ("", "none")


class AdapterError(ValueError):
    """An adapter folder that cannot be used; the message names it and says what to do."""


def adapter_or_none(name: str | None) -> str | None:
    """``None`` for an absent adapter or the word ``none``; the name otherwise."""
    if name is None or name.strip().lower() in NO_ADAPTER:
        return None
    return name


def adapter_weights(folder: str | Path) -> Path:
    """The weights file of a local adapter folder; raises :class:`AdapterError` if incomplete."""
    folder = Path(folder).expanduser()
    if not (folder / ADAPTER_CONFIG).is_file():
        raise AdapterError(
            f"{folder}: not a LoRA adapter folder (no {ADAPTER_CONFIG}). Give the 'adapter' "
            "folder a training run wrote (python -m backend train prints it)."
        )
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise AdapterError(f"{folder}: the adapter has no weights ({' or '.join(WEIGHT_FILES)})")


def adapter_fingerprint(folder: str | Path) -> str:
    """``<folder name>@<first 12 hex of sha256(config + weights)>``."""
    weights = adapter_weights(folder)
    digest = hashlib.sha256((weights.parent / ADAPTER_CONFIG).read_bytes())
    with open(weights, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return f"{weights.parent.name}@{digest.hexdigest()[:12]}"
