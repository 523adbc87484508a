"""Files in and out of the app: which uploads are accepted, where they are kept, what is served.

Only files under the served folders (uploads, the demo collection, folders named in the
settings) ever get a URL, and Gradio's ``allowed_paths`` is the same list, so a path that walks
out of them (``..``, a symlink) is refused twice: here by resolving it, there by Gradio.
"""

from __future__ import annotations

import base64
import filecmp
import io
import itertools
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from backend.collection import VIDEO_EXTENSIONS

#: Containers a browser plays without help (H.264/VP9/AV1 inside); others get a download link.
PLAYABLE_EXTENSIONS = frozenset({".mp4", ".m4v", ".webm", ".ogv", ".mov"})
CARD_THUMBNAIL_WIDTH = 320


def check_upload(path: Path, max_bytes: int, name: str | None = None) -> str | None:
    """Why an uploaded file is refused before indexing, or None when it may be indexed.

    Broken streams inside a video container are found by the indexer, which says why.
    """
    name = name or path.name
    if not path.is_file():
        return f"{name}: the upload did not arrive. Try uploading it again."
    size = path.stat().st_size
    if size == 0:
        return f"{name}: the file is empty (0 bytes). Upload the complete file."
    if size > max_bytes:
        return (
            f"{name}: {size / 2**20:.3g} MB is over the upload limit of {max_bytes / 2**20:.3g} MB."
            " Trim or compress it, or raise VIDEOSEARCH_MAX_UPLOAD_MB."
        )
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        kinds = ", ".join(sorted(e.lstrip(".") for e in VIDEO_EXTENSIONS))
        return (
            f"{name}: not a video file ({path.suffix or 'no extension'}). Upload one of: {kinds}."
        )
    return None


MAX_NAME_CHARS = 120  # of a kept file's stem: room for "-N" and the suffix in 255 bytes


def keep_upload(path: Path, uploads_dir: Path) -> tuple[Path, bool]:
    """Copy an upload into ``uploads_dir`` under its own name (``name-1.mp4`` if another file
    has it). Returns the kept path and whether a new copy was made (False: identical file).

    Two uploads of one name at once (two sessions, two app processes) never overwrite each
    other, and no reader ever sees a half-copied file: the bytes go to a private temporary
    file first, which then takes the first free name with a hard link, which fails rather than
    replace a file that exists (``os.link``), so claiming the name is one atomic step.
    """
    uploads_dir.mkdir(parents=True, exist_ok=True)
    name = Path(path.name)
    stem, suffix = name.stem[:MAX_NAME_CHARS] or "upload", name.suffix
    incoming = uploads_dir / f".incoming-{uuid.uuid4().hex}{suffix}"
    shutil.copyfile(path, incoming)
    try:
        for number in itertools.count():
            target = uploads_dir / (f"{stem}-{number}{suffix}" if number else f"{stem}{suffix}")
            if _claim(incoming, target):
                return target, True
            if target.is_file() and filecmp.cmp(incoming, target, shallow=False):
                return target, False
    finally:
        incoming.unlink(missing_ok=True)
    raise AssertionError("unreachable")  # count() never ends


def _claim(source: Path, target: Path) -> bool:
    """Give ``source``'s bytes the name ``target`` unless that name is taken (then False)."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create exclusively, then fill
        pass
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as out, open(source, "rb") as data:
        shutil.copyfileobj(data, out)
    return True


def served_path(path: str | Path, served_dirs: Sequence[Path]) -> Path | None:
    """The resolved file if it lies inside one of ``served_dirs``, else None.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()).resolve(); (root / "a.mp4").write_bytes(b"x")
    1
    >>> served_path(root / "a.mp4", [root]) == root / "a.mp4"
    True
    >>> served_path(root / ".." / root.name / ".." / "a.mp4", [root]) is None
    True
    """
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):
        return None
    if not resolved.is_file():
        return None
    return resolved if any(resolved.is_relative_to(d) for d in served_dirs) else None


def file_url(path: Path) -> str:
    """A URL relative to the page, so it works behind a proxy or a Space's sub-path."""
    return "gradio_api/file=" + quote(str(path))


def is_playable(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PLAYABLE_EXTENSIONS


def nearest_frame_row(frames: list[dict], time_s: float | None) -> dict | None:
    """The stored frame closest to ``time_s`` (the first frame when there is no time)."""
    if not frames:
        return None
    if time_s is None:
        return frames[0]
    return min(frames, key=lambda row: abs(row["time_s"] - time_s))


def jpeg_data_uri(jpeg: bytes, width: int = CARD_THUMBNAIL_WIDTH) -> str:
    """A small JPEG as a ``data:`` URI, so a result card needs no file of its own."""
    image = Image.open(io.BytesIO(jpeg))
    if image.width > width:
        image = image.convert("RGB").resize(
            (width, max(1, round(image.height * width / image.width)))
        )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80)
        jpeg = buffer.getvalue()
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
