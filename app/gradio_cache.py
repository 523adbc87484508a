"""Gradio's cache of output pictures, written so that a file being served is never half there.

Gradio saves every output picture under a folder named by the hash of its bytes, and writes it
with ``Path.write_bytes``, which empties the file first. Two requests that show the same picture
at once (two "More like this" on one moment) therefore rewrite the very file the first response
is still sending: the client got a truncated body (seen in ``tests/app/test_api_fuzz.py`` under
load, "received 65536 bytes, expected 94039"). Here the same bytes are not written again, and a
new file appears whole, through a rename.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradio import processing_utils
from PIL import Image


def save_picture_whole(
    img: Image.Image, cache_dir: str, name: str = "image", format: str = "webp"
) -> str:
    """``processing_utils.save_pil_to_cache``, without rewriting a file in place."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if path.is_file() and path.stat().st_size == len(data):  # these bytes: the name is a hash
        return str(path)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as handle:
        handle.write(data)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)
    return str(path)


def install() -> None:
    """Make Gradio's components save output pictures with :func:`save_picture_whole`."""
    processing_utils.save_pil_to_cache = save_picture_whole
