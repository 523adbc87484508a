"""Indexing across machines: ingest and encode on a Ray cluster, commit from one process."""
