"""Relevance labels: data that must never be lost.

Labels are only ever appended (a changed mind is a new row; the newest row for a query, video
and user wins), so two sessions labelling at once cannot overwrite each other, and a crash can
at worst lose the label being written, never an earlier one. They are keyed by content id, so
they stay valid when videos are moved or the collection is re-encoded.

Export and import use the format of ``retrieval_dev.jsonl`` (one line per query with its
relevant videos), plus the individual judgements so nothing is lost in a round trip.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import lancedb
import pyarrow as pa

LABELS = pa.schema(
    [
        pa.field("label_id", pa.string()),
        pa.field("query", pa.string()),
        pa.field("video_id", pa.string()),
        pa.field("relevant", pa.bool_()),
        pa.field("modality", pa.string()),  # which modality made it relevant ("" if not said)
        pa.field("moment_s", pa.float64()),
        pa.field("user", pa.string()),
        pa.field("labelled_at", pa.string()),
    ]
)


@dataclass(frozen=True)
class Label:
    query: str
    video_id: str
    relevant: bool
    modality: str = ""
    moment_s: float | None = None
    user: str = "anonymous"
    labelled_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    label_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def _key(label: Label) -> tuple[str, str, str]:
    return (" ".join(label.query.split()).lower(), label.video_id, label.user)


class LabelStore:
    """The ``labels`` table of a store folder (or URI)."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        self._db = db
        if "labels" not in db.list_tables().tables:
            db.create_table("labels", schema=LABELS, exist_ok=True)
        self._table = db.open_table("labels")

    def add(self, labels: Iterable[Label]) -> int:
        rows = [asdict(label) for label in labels]
        for row in rows:
            if not row["query"].strip() or not row["video_id"]:
                raise ValueError("a label needs a query and a video")
        if rows:
            self._table.add(pa.Table.from_pylist(rows, schema=LABELS))
        return len(rows)

    def history(self) -> list[Label]:
        """Every row ever written, oldest first."""
        rows = self._table.to_arrow().to_pylist()
        return sorted((Label(**row) for row in rows), key=lambda r: (r.labelled_at, r.label_id))

    def current(self, query: str | None = None) -> list[Label]:
        """The newest judgement per (query, video, user); optionally for one query."""
        latest: dict[tuple[str, str, str], Label] = {}
        for label in self.history():
            latest[_key(label)] = label
        wanted = None if query is None else " ".join(query.split()).lower()
        return [lab for key, lab in latest.items() if wanted is None or key[0] == wanted]

    def export_jsonl(self, path: Path, video_paths: dict[str, str]) -> int:
        """Write one line per query: ``qid, query, relevant, query_type, judgements``."""
        by_query: dict[str, list[Label]] = {}
        for label in self.current():
            by_query.setdefault(" ".join(label.query.split()), []).append(label)
        with open(path, "w", encoding="utf-8") as out:
            for number, (query, labels) in enumerate(sorted(by_query.items()), start=1):
                relevant = sorted(
                    {video_paths.get(lab.video_id, lab.video_id) for lab in labels if lab.relevant}
                )
                modalities = {lab.modality for lab in labels if lab.relevant and lab.modality}
                line = {
                    "qid": f"label{number}",
                    "query": query,
                    "relevant": relevant,
                    "query_type": modalities.pop() if len(modalities) == 1 else "mixed",
                    "judgements": [asdict(lab) for lab in labels],
                }
                out.write(json.dumps(line) + "\n")
        return len(by_query)

    def import_jsonl(self, path: Path, video_ids: dict[str, str], user: str = "import") -> int:
        """Read labels back: full judgements where present, else ``relevant`` paths (matched
        through ``video_ids``: path or file name -> content id). Returns labels added."""
        known = {lab.label_id for lab in self.history()}
        labels: list[Label] = []
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if "judgements" in row:
                    labels += [Label(**j) for j in row["judgements"] if j["label_id"] not in known]
                    continue
                for relevant in row["relevant"]:
                    video_id = video_ids.get(relevant) or video_ids.get(Path(relevant).name)
                    if video_id is None:
                        raise ValueError(f"video {relevant!r} is not in this collection")
                    labels.append(Label(row["query"], video_id, True, user=user))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a label line ({error})") from error
        return self.add(labels)
