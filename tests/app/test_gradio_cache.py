"""Output pictures are never rewritten in place while a response may be sending them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image

from app.gradio_cache import save_picture_whole


def _picture() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (240, 320, 3), np.uint8))


@pytest.mark.parametrize("save", [save_picture_whole, processing_utils.save_pil_to_cache])
def test_saving_a_picture_again_leaves_the_served_file_alone(tmp_path: Path, save) -> None:
    """Gradio's own save rewrites the file (emptied first) each time the same picture is shown:
    a response sending it meanwhile was cut short. Ours leaves it as it is."""
    path = Path(save(_picture(), str(tmp_path)))
    before = path.stat()
    time.sleep(0.01)
    assert save(_picture(), str(tmp_path)) == str(path)
    after = path.stat()
    rewritten = (after.st_ino, after.st_mtime_ns) != (before.st_ino, before.st_mtime_ns)
    assert rewritten == (save is not save_picture_whole)


def test_a_damaged_file_is_replaced_whole_by_a_rename(tmp_path: Path) -> None:
    path = Path(save_picture_whole(_picture(), str(tmp_path)))
    whole = path.read_bytes()
    path.write_bytes(whole[:1000])  # as a save cut short would leave it
    with open(path, "rb") as reader:  # a response still sending the old file
        assert save_picture_whole(_picture(), str(tmp_path)) == str(path)
        assert path.read_bytes() == whole
        assert os.fstat(reader.fileno()).st_ino != path.stat().st_ino  # a new file, renamed in
        assert len(reader.read()) == 1000  # the old one, unchanged for whoever still reads it
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert Image.open(path).size == (320, 240)
