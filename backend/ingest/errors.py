"""Errors that ingest reports to users: they name the file and say what to do."""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """A file that cannot be indexed. The message is for the user; the cause stays chained."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelUnavailableError(RuntimeError):
    """A model (ASR, OCR, vision) that cannot be found or loaded.

    Not about one file: every further file would fail the same way, so indexing stops and the
    message says what to install or where to put the weights.
    """
