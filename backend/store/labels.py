"""Relevance labels: data that must never be lost.

Labels are only ever appended. Every row is an event: a judgement (``action="judge"``), an
adjudication that settles a pair assessors disagree on (``"adjudicate"``), or an undo that
retracts an earlier row (``"undo"``, naming it in ``target_id``). A changed mind is a new row;
the newest judgement of a query, video and assessor that no undo retracted wins. So two sessions
labelling at once cannot overwrite each other, undo is itself recorded, and a crash can at worst
lose the label being written, never an earlier one. Labels are keyed by content id, so they stay
valid when videos are moved or the collection is re-encoded.

Grades are 0 (not relevant), 1 (partly), 2 (highly). Labels from before grades existed said
yes or no: yes reads as grade 2, no as grade 0 (``relevant`` is kept on every row, as
``grade >= 1``). An old store's table gains the new columns when it is opened; its rows read with
``grade`` from ``relevant``, no ``qid`` and ``action="judge"``.

The table is opened afresh for every read, so labels written by another process (the command
line, a second app) are seen on the next read.

Export and import use the format of ``retrieval_dev.jsonl`` (one line per query with its
relevant videos), plus the individual judgements so nothing is lost in a round trip.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import lancedb
import pyarrow as pa

from backend.store.lazy_table import LazyTable

log = logging.getLogger(__name__)

Action = Literal["judge", "adjudicate", "undo"]
GRADES = (0, 1, 2)
GRADE_NAMES = {0: "not relevant", 1: "partly relevant", 2: "highly relevant"}
#: Yes/no labels as grades (the mapping old stores are read with).
YES_GRADE, NO_GRADE = 2, 0

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
        # added with graded judging; null in rows of older stores
        pa.field("grade", pa.int32()),
        pa.field("qid", pa.string()),
        pa.field("action", pa.string()),
        pa.field("target_id", pa.string()),  # the row an undo retracts
        pa.field("source", pa.string()),  # where it was given: judge, search, label, cli, import
    ]
)
_ADDED_COLUMNS = ("grade", "qid", "action", "target_id", "source")


def query_text_key(text: str) -> str:
    """Queries are the same when their words are (case and spacing aside)."""
    return " ".join(text.split()).lower()


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
    grade: int | None = None  # None: from ``relevant`` (yes = 2, no = 0)
    qid: str = ""
    action: str = "judge"
    target_id: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.grade is None:
            object.__setattr__(self, "grade", YES_GRADE if self.relevant else NO_GRADE)
        elif self.grade not in GRADES:
            raise ValueError(f"a grade is 0, 1 or 2, not {self.grade!r}")
        object.__setattr__(self, "grade", int(self.grade))
        object.__setattr__(self, "action", self.action or "judge")
        for name in ("qid", "target_id", "source", "modality"):
            object.__setattr__(self, name, getattr(self, name) or "")

    @classmethod
    def graded(cls, query: str, video_id: str, grade: int, **kwargs) -> Label:
        """A graded judgement (``relevant`` follows: grade 1 or 2)."""
        return cls(query, video_id, grade >= 1, grade=grade, **kwargs)

    @classmethod
    def from_row(cls, row: dict) -> Label:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in known})

    @property
    def query_key(self) -> str:
        """The query's identity: its id when it has one, else its words."""
        return self.qid or "text:" + query_text_key(self.query)


def _key(label: Label) -> tuple[str, str, str]:
    return (label.query_key, label.video_id, label.user)


def live(history: Iterable[Label]) -> list[Label]:
    """The rows no undo retracted (undo rows themselves left out), oldest first."""
    rows = list(history)
    retracted = {row.target_id for row in rows if row.action == "undo"}
    return [row for row in rows if row.action != "undo" and row.label_id not in retracted]


class LabelStore:
    """The ``labels`` table of a store folder (or URI)."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        self._rows = LazyTable(db, "labels", LABELS)
        self._upgrade()

    def _upgrade(self) -> None:
        """Give a table written before graded judging its new columns (null in old rows)."""
        table = self._rows.opened()
        if table is None:
            return
        missing = [LABELS.field(n) for n in _ADDED_COLUMNS if n not in table.schema.names]
        if not missing:
            return
        try:
            table.add_columns(missing)
        except Exception as error:  # another process added them first
            if any(n not in self._rows.opened().schema.names for n in _ADDED_COLUMNS):
                raise RuntimeError(
                    f"could not add the columns {[f.name for f in missing]} to the labels table "
                    f"({error}); open the store once with no other program using it"
                ) from error
        log.info("labels table upgraded with columns %s", [f.name for f in missing])

    # ----------------------------------------------------------------- writing
    def add(self, labels: Iterable[Label]) -> int:
        rows = [asdict(label) for label in labels]
        for row in rows:
            if row["action"] != "undo" and (not row["query"].strip() or not row["video_id"]):
                raise ValueError("a label needs a query and a video")
        if rows:
            self._rows.add(rows)
        return len(rows)

    def undo(self, label: Label, user: str, source: str = "") -> Label:
        """Retract ``label`` (recorded as a row of its own); returns the undo row."""
        row = Label(
            label.query,
            label.video_id,
            label.relevant,
            user=user,
            grade=label.grade,
            qid=label.qid,
            action="undo",
            target_id=label.label_id,
            source=source,
        )
        self.add([row])
        return row

    # ----------------------------------------------------------------- reading
    def history(self) -> list[Label]:
        """Every row ever written (undos included), oldest first."""
        rows = self._rows.rows()
        return sorted((Label.from_row(r) for r in rows), key=lambda r: (r.labelled_at, r.label_id))

    def current(self, query: str | None = None, action: Action = "judge") -> list[Label]:
        """The newest live judgement per (query, video, assessor); optionally for one query
        (by its words). ``action="adjudicate"``: the adjudications instead."""
        latest: dict[tuple[str, str, str], Label] = {}
        for label in live(self.history()):
            if label.action == action:
                latest[_key(label)] = label
        wanted = None if query is None else query_text_key(query)
        return [
            lab for lab in latest.values() if wanted is None or query_text_key(lab.query) == wanted
        ]

    # ----------------------------------------------------------------- files
    def export_jsonl(self, path: Path, video_paths: dict[str, str]) -> int:
        """Write one line per query: ``qid, query, relevant, query_type, judgements``
        (relevant: grade 1 or 2)."""
        by_query: dict[str, list[Label]] = {}
        for label in self.current():
            by_query.setdefault(" ".join(label.query.split()), []).append(label)
        with open(path, "w", encoding="utf-8") as out:
            for number, (query, labels) in enumerate(sorted(by_query.items()), start=1):
                relevant = sorted(
                    {video_paths.get(lab.video_id, lab.video_id) for lab in labels if lab.relevant}
                )
                modalities = {lab.modality for lab in labels if lab.relevant and lab.modality}
                qids = {lab.qid for lab in labels if lab.qid}
                line = {
                    "qid": qids.pop() if len(qids) == 1 else f"label{number}",
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
                    labels += [
                        Label.from_row(j) for j in row["judgements"] if j["label_id"] not in known
                    ]
                    continue
                for relevant in row["relevant"]:
                    video_id = video_ids.get(relevant) or video_ids.get(Path(relevant).name)
                    if video_id is None:
                        raise ValueError(f"video {relevant!r} is not in this collection")
                    labels.append(Label(row["query"], video_id, True, user=user, source="import"))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a label line ({error})") from error
        return self.add(labels)
