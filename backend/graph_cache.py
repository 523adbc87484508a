"""Exported ONNX graphs, cached on disk under a name that says which weights they came from.

Models that run on an inference runtime (the frame classifier, the MiniLM text encoder) are
exported from torch once and kept as ``<cache>/<folder>/<name>.onnx``; the name carries a digest
of the weights, so new weights never meet an old graph. A file that does not open (truncated,
foreign) is exported again; a cache that cannot be written is not an error: the graph then runs
from memory.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

Opened = TypeVar("Opened")


def open_cached_graph(
    path: Path,
    export: Callable[[], bytes],
    open_graph: Callable[[bytes, Path | None], Opened],
    what: str,
) -> Opened:
    """``open_graph(graph bytes, its file or None)`` of the graph cached at ``path``, exported
    with ``export()`` first when the file is missing or does not open. ``what`` names the model
    in log lines."""
    if path.is_file():
        try:
            return open_graph(path.read_bytes(), path)
        except Exception as error:  # a truncated or foreign file: export it again
            log.warning("%s: cached graph %s unusable (%s); exporting again", what, path, error)
    graph = export()
    return open_graph(graph, path if write_atomically(path, graph, what) else None)


def write_atomically(path: Path, data: bytes, what: str) -> bool:
    """Write via a temporary file and a rename, so a parallel reader never sees half a graph.
    False (with a warning) when the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
        return True
    except OSError as error:
        log.warning("%s: could not cache the ONNX graph at %s (%s)", what, path, error)
        return False


def onnxruntime_session(graph: bytes, threads: int = 1) -> Any:
    """An onnxruntime CPU session of ``graph`` with ``threads`` intra-op threads (0: one per
    core) that sleep when idle: spinning threads took CPU from the app's other requests."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
