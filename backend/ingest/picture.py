"""A query picture from a file: any image Pillow reads, as ``(H, W, 3)`` uint8 RGB pixels.

EXIF orientation is applied (a phone photo is searched the way it is shown), and transparency
is flattened onto white.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.ingest.errors import IngestError


def read_picture(path: Path | str) -> np.ndarray:
    """The picture in ``path`` as RGB pixels; IngestError naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file (check the path)")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                white = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, image)
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise IngestError(
            path, f"not a picture that can be read ({error}); use JPEG or PNG"
        ) from error
