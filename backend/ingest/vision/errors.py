"""The one error the vision stage raises for users."""

from __future__ import annotations

from backend.ingest.errors import ModelUnavailableError


class VisionModelError(ModelUnavailableError):
    """The image classifier could not be loaded (a missing package or damaged weights).

    Not an :class:`~backend.ingest.errors.IngestError`: every video would fail the same way, so
    callers should stop, or index with vision disabled, rather than skip files one by one.
    """
