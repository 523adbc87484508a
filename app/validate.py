"""What arrives through the API is checked here before it reaches the backend.

Gradio checks its own components (a slider's range, a radio's choices), but ``gr.api`` endpoints
and text boxes pass on whatever a script sends: a number where an id belongs, ``../..`` as a job
id, a 100,000-character query. Each check below turns that into a message saying what was
expected (``gr.Error``, shown in the browser and raised by ``gradio_client``), so a caller never
sees a traceback and nothing outside the store is ever named by a request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

MAX_QUERY_CHARS = 1000  # a query encodes to at most a few hundred tokens; longer is a mistake
MAX_TEXT_CHARS = 10_000  # a description added to an upload
MAX_ID_CHARS = 128
MAX_FILES = 1000  # files in one upload
#: Video ids are a hash of the file's bytes (32 hex characters, ``backend.ingest.probe``); other
#: stores may use other names, so the format only keeps out what no id contains (``/``, ``.``,
#: quotes, spaces) and the store decides whether the id exists.
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: Index versions are ``v0``, ``v1``, ... (``backend.store.versions``).
VERSION = re.compile(r"v[0-9]{1,9}")


def text(value: Any, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """``value`` as text (None: empty), or a message naming ``what`` was wrong with it."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise gr.Error(f"{what}: expected text, got {type(value).__name__}.")
    if len(value) > max_chars:
        raise gr.Error(f"{what} is {len(value):,} characters long; at most {max_chars:,} are read.")
    if "\x00" in value:
        raise gr.Error(f"{what} contains a NUL character.")
    return value


def query(value: Any) -> str:
    """A search query: text of at most ``MAX_QUERY_CHARS``, spaces trimmed (may be empty)."""
    return text(value, "The query", MAX_QUERY_CHARS).strip()


def number(value: Any, what: str, low: float, high: float, integer: bool = False) -> float | int:
    """A number in ``[low, high]`` (an integer when asked), or a message saying so."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise gr.Error(f"{what}: expected {kind} from {low:g} to {high:g}, got {value!r:.60}.")
    if not math.isfinite(value) or not low <= value <= high or (integer and value != int(value)):
        raise gr.Error(f"{what} must be {kind} from {low:g} to {high:g}, not {value!r:.60}.")
    return int(value) if integer else float(value)


def optional_number(value: Any, what: str, low: float, high: float) -> float | None:
    return None if value is None else number(value, what, low, high)


def names(value: Any, what: str) -> list[str]:
    """A list of short names (None: none), e.g. the modalities to search."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise gr.Error(f"{what}: expected a list of names, got {value!r:.60}.")
    if len(value) > 100 or any(len(v) > MAX_ID_CHARS for v in value):
        raise gr.Error(f"{what}: expected a few short names, got {len(value)}.")
    return value


def flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise gr.Error(f"{what}: expected true or false, got {value!r:.60}.")
    return value


def identifier(value: Any, what: str, pattern: re.Pattern[str], example: str) -> str:
    """An id in its format (``pattern``), or a message naming the format; empty stays empty."""
    value = text(value, what, MAX_ID_CHARS).strip()
    if value and not pattern.fullmatch(value):
        raise gr.Error(f"{what} {value!r:.80} is not a valid id: expected one like {example}.")
    return value


def video_id(value: Any, exists: Callable[[str], bool]) -> str:
    """A video id the store holds (``exists`` asks it), or a message saying it is not there."""
    found = identifier(value, "Video", VIDEO_ID, "65c664db8ff012f8f79b6af1741f75ef")
    if not found:
        raise gr.Error("Choose a video: its id is in the results of /search and /collection.")
    if not exists(found):
        raise gr.Error(f"Video {found!r} is not in the collection (deleted, or still indexing).")
    return found


def version_name(value: Any) -> str:
    """An index version's name (``v0``, ``v1``, ...); whether the store has it is the store's."""
    return identifier(value, "Version", VERSION, "v0 or v1")


def job_id(value: Any) -> str:
    """A training job id as text ('' for the latest); its format and folder are checked by
    ``backend.train.jobs``, which alone knows them."""
    return text(value, "Training job id", MAX_ID_CHARS).strip()


def uploaded_files(value: Any, upload_root: Path) -> list[Path]:
    """The files of an upload, each one Gradio received from the caller.

    Gradio itself refuses a request naming a server path it did not receive (checked with a raw
    HTTP call: ``{"path": "/etc/passwd"}`` gets an error). This keeps the same promise for the
    handler whoever calls it: only files inside Gradio's upload folder (``upload_root``) are
    copied, indexed and served, never another file of the server.
    """
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise gr.Error(f"Files: expected a list of uploaded files, got {type(value).__name__}.")
    if len(value) > MAX_FILES:
        raise gr.Error(f"{len(value)} files in one upload; at most {MAX_FILES}.")
    root = upload_root.resolve()
    files = []
    for item in value:
        path = Path(item)
        try:
            inside = path.resolve().is_relative_to(root)
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            raise gr.Error(
                f"{(path.name or item)!r:.80}: not a file uploaded to this app. Send the file "
                "itself (gradio_client's handle_file), not a path on the server."
            )
        files.append(path)
    return files
