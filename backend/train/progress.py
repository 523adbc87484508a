"""A training run's progress as JSON lines, appended by the run and read by anyone.

One file per run (``progress.jsonl`` in its folder), one event per line, each flushed at once:
a reader (the app after a browser reload, the command line, a test) rebuilds the whole story from
the file at any time, and a half-written last line is simply not read yet. Events::

    {"event": "start", "pid": ..., "total_steps": ..., "counts": {...}, "settings": {...}}
    {"event": "metrics", "stage": "before" | "after", "metrics": {"R@1": ..., "nDCG@10": ...}}
    {"event": "step", "step": 3, "epoch": 0, "loss": 1.9, "lr": 2e-4, "elapsed_s": .., "eta_s": ..}
    {"event": "checkpoint", "step": 8, "path": "..."}
    {"event": "end", "status": "completed" | "cancelled" | "failed", "error": "...", ...}
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

PROGRESS_FILE = "progress.jsonl"


class ProgressWriter:
    """Appends events; a disabled writer (accelerate's non-main workers) writes nothing."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields: Any) -> dict:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        if not self.enabled:
            return record
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(record, default=str) + "\n")
            file.flush()
        return record


def read_events(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Complete events from byte ``offset`` on, and the offset to read from next time."""
    path = Path(path)
    if not path.is_file():
        return [], offset
    with open(path, "rb") as file:
        file.seek(offset)
        data = file.read()
    end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
    events = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return events, offset + end


def loss_curve(events: list[dict]) -> list[tuple[int, float]]:
    """``(step, loss)`` of every step event, for a plot."""
    return [(e["step"], e["loss"]) for e in events if e["event"] == "step"]
