"""Reading a store's tokens a batch at a time, for building search indexes.

``VideoStore.token_rows`` returns a whole table; at 10,000 videos that is gigabytes. Building
the search index only needs to see every row once, so it streams them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa

from backend.store import schema
from backend.store.filters import in_list
from backend.store.video_store import VideoStore

#: Rows (one per video and modality) per batch: a few MB of vectors at 256 tokens x 384 dims.
BATCH_ROWS = 256
_COLUMNS = schema.tokens_schema(1).names


def token_batches(
    store: VideoStore, video_ids: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The active token table's rows (all, or of ``video_ids``) as Arrow record batches."""
    query = store.table(store.tokens_table).search().select(_COLUMNS).limit(None)
    if video_ids is not None:
        if not video_ids:
            return
        query = query.where(in_list("video_id", video_ids))
    for batch in query.to_batches(batch_rows):
        if batch.num_rows:
            yield batch.select(_COLUMNS)


def complete_videos(store: VideoStore) -> pa.Table:
    """``video_id``, ``n_tokens`` and ``path`` of every complete video (no token is read)."""
    columns = ["video_id", "n_tokens", "path"]
    return store.table("videos").search().select(columns).limit(None).to_arrow().select(columns)
