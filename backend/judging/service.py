"""Building a test collection: the one object the app and the command line judge through.

It reads and appends the store's ``queries``, ``pools`` and ``labels`` tables (every write an
append, so two assessors, two apps or an app and a script can work at once) and asks the
searcher for the pooled rankers' runs. Nothing is cached between calls: what another process
wrote is seen on the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.encoders.base import DOCUMENT_MODALITIES
from backend.eval.bm25 import Bm25Index
from backend.eval.qrels import Qrel, docids, format_qrels
from backend.judging.agreement import AgreementReport, agreement
from backend.judging.pooling import DEFAULT_DEPTH, pool_candidates, same_pool
from backend.judging.progress import (
    AssessorProgress,
    QueryProgress,
    assessor_progress,
    query_progress,
)
from backend.judging.query_files import QuerySpec, parse_lines, read_query_file, text_qid
from backend.judging.rankers import RankerSettings, run_rankers
from backend.judging.settle import (
    Disagreement,
    Judgements,
    Settled,
    collect,
    disagreements,
    qid_resolver,
    settle,
)
from backend.store.labels import GRADES, Label, live
from backend.store.pools import PoolRow
from backend.store.query_sets import StoredQuery
from backend.store.records import VideoRecord
from backend.store.video_store import VideoStore

MODALITY_KEYS = tuple(m.key for m in DOCUMENT_MODALITIES)


class JudgingError(ValueError):
    """A judging request that cannot be done; the message says what to do."""


@dataclass(frozen=True)
class ImportResult:
    added: int
    changed: int
    total: int  # queries in the set afterwards
    set_name: str


@dataclass(frozen=True)
class Candidate:
    """What an assessor sees of a pooled video: no ranker, rank or score (blind judging)."""

    qid: str
    video_id: str
    position: int
    file_name: str
    path: str
    duration_s: float | None
    moment_s: float | None


@dataclass
class Snapshot:
    """One consistent read of everything judging views show."""

    queries: list[StoredQuery]
    pools: dict[str, list[PoolRow]]
    judgements: Judgements
    settled: dict[tuple[str, str], Settled]


class Judging:
    def __init__(self, store: VideoStore, searcher: Callable[[], object] | None = None) -> None:
        self.store = store
        self._searcher = searcher  # called only to pool (it may load the encoder)

    # ----------------------------------------------------------------- query sets
    def import_queries(self, path: Path) -> ImportResult:
        return self._add(read_query_file(path), Path(path).name)

    def add_typed_queries(self, text: str) -> ImportResult:
        """Lines of ``qid<TAB>query`` or bare queries (given an id from their words)."""
        specs = parse_lines(text)
        if not specs:
            raise JudgingError("type one query per line (optionally: qid, a tab, the query)")
        return self._add(specs, "typed")

    def _add(self, specs: Sequence[QuerySpec], set_name: str) -> ImportResult:
        stored = [StoredQuery(s.qid, s.text, s.query_type, set_name) for s in specs]
        with self.store.write_lock():  # its "is it new?" check and the append as one step
            added, changed = self.store.queries.add(stored)
        return ImportResult(added, changed, len(self.store.queries.all()), set_name)

    def queries(self) -> list[StoredQuery]:
        return self.store.queries.all()

    def query_for_text(self, text: str) -> StoredQuery:
        """The query set's query with these words, added (set ``search``) if it has none."""
        words = " ".join((text or "").split())
        if not words:
            raise JudgingError("a label needs a query: search first")
        found = self.store.queries.by_text(words)
        if found is None:
            with self.store.write_lock():
                self.store.queries.add([StoredQuery(text_qid(words), words, "", "search")])
            found = self.store.queries.by_text(words)
        return found

    def _query(self, qid: str) -> StoredQuery:
        found = self.store.queries.get(qid)
        if found is None:
            raise JudgingError(
                f"no query {qid!r} in the query set: import it first "
                "(python -m backend queries import FILE)"
            )
        return found

    # ----------------------------------------------------------------- pooling
    def pool(
        self,
        depth: int = DEFAULT_DEPTH,
        qids: Iterable[str] | None = None,
        settings: RankerSettings | None = None,
    ) -> dict[str, list[PoolRow]]:
        """Pool the queries (all by default) and store each pool that changed; returns the
        pools of those queries."""
        if self._searcher is None:
            raise JudgingError("pooling needs the collection's searcher")
        wanted = [self._query(q) for q in qids] if qids is not None else self.queries()
        if not wanted:
            raise JudgingError("the query set is empty: import queries first")
        searcher = self._searcher()
        bm25 = Bm25Index(self.store.videos())
        current = self.store.pools.current()
        out = {}
        for query in wanted:
            runs = run_rankers(query.text, searcher, bm25, depth, settings or RankerSettings())
            rows = pool_candidates(query.qid, runs, depth)
            if not same_pool(current.get(query.qid, []), rows):
                with self.store.write_lock():
                    self.store.pools.write(query.qid, rows)
            out[query.qid] = rows
        return out

    def pools(self) -> dict[str, list[PoolRow]]:
        return self.store.pools.current()

    def candidates(self, qid: str) -> list[Candidate]:
        """The query's pool in blind order, as the judging screen shows it."""
        rows = self.pools().get(qid, [])
        records = {r.video_id: r for r in self.store.videos([row.video_id for row in rows])}
        return [
            Candidate(
                qid,
                row.video_id,
                row.position,
                records[row.video_id].file_name,
                records[row.video_id].path,
                records[row.video_id].duration_s,
                row.moment_s,
            )
            for row in rows
            if row.video_id in records  # a video deleted since pooling is not judged
        ]

    # ----------------------------------------------------------------- judging
    def _check(self, video_id: str, grade: int, assessor: str, modality: str) -> None:
        if grade not in GRADES:
            raise JudgingError(f"a grade is 0, 1 or 2, not {grade!r}")
        if not (assessor or "").strip():
            raise JudgingError("every label needs its assessor: type your name first")
        if modality and modality not in MODALITY_KEYS:
            raise JudgingError(f"unknown modality {modality!r}: use one of {list(MODALITY_KEYS)}")
        if not video_id or not self.store.has_video(video_id):
            raise JudgingError(f"video {video_id!r} is not in the collection")

    def judge(
        self,
        qid: str,
        video_id: str,
        grade: int,
        assessor: str,
        moment_s: float | None = None,
        modality: str = "",
        source: str = "judge",
        action: str = "judge",
    ) -> Label:
        """Append one assessor's grade of a pooled (or any) video for a query of the set."""
        query = self._query(qid)
        self._check(video_id, grade, assessor, modality)
        label = Label.graded(
            query.text,
            video_id,
            int(grade),
            modality=modality or "",
            moment_s=None if moment_s is None else float(moment_s),
            user=assessor.strip(),
            qid=qid,
            source=source,
            action=action,
        )
        with self.store.write_lock():
            self.store.labels.add([label])
        return label

    def judge_text(
        self,
        text: str,
        video_id: str,
        grade: int,
        assessor: str,
        moment_s: float | None = None,
        modality: str = "",
        source: str = "search",
    ) -> Label:
        """A grade for a query typed on the Search tab: the query joins the set if new."""
        self._check(video_id, grade, assessor, modality)
        query = self.query_for_text(text)
        return self.judge(query.qid, video_id, grade, assessor, moment_s, modality, source)

    def adjudicate(self, qid: str, video_id: str, grade: int, adjudicator: str) -> Label:
        """Settle a pair: the adjudicator's grade stands, whatever the assessors said."""
        return self.judge(
            qid, video_id, grade, adjudicator, source="adjudicate", action="adjudicate"
        )

    def undo(self, assessor: str, qid: str | None = None) -> Label | None:
        """Retract the assessor's latest standing label (of one query, if given); the undo is
        recorded. Returns the label retracted, or None when there is nothing to undo."""
        mine = [
            lab
            for lab in live(self.store.labels.history())
            if lab.user == assessor and (qid is None or self._qid_of(lab) == qid)
        ]
        if not mine:
            return None
        with self.store.write_lock():
            self.store.labels.undo(mine[-1], assessor, source="undo")
        return mine[-1]

    def _qid_of(self, label: Label) -> str | None:
        return qid_resolver(self.queries())(label)

    def grades_of(self, qid: str, assessor: str) -> dict[str, Label]:
        """The assessor's standing labels for a query, by video."""
        labels = self.snapshot().judgements.by_pair
        return {v: lab[assessor] for (q, v), lab in labels.items() if q == qid and assessor in lab}

    # ----------------------------------------------------------------- views
    def snapshot(self) -> Snapshot:
        queries = self.queries()
        judgements = collect(self.store.labels.history(), queries)
        return Snapshot(queries, self.pools(), judgements, settle(judgements))

    def query_progress(self, snap: Snapshot | None = None) -> list[QueryProgress]:
        snap = snap or self.snapshot()
        return query_progress(snap.queries, snap.pools, snap.judgements, snap.settled)

    def assessor_progress(self, snap: Snapshot | None = None) -> list[AssessorProgress]:
        snap = snap or self.snapshot()
        return assessor_progress(snap.pools, snap.judgements)

    def agreement(self, snap: Snapshot | None = None) -> AgreementReport:
        return agreement((snap or self.snapshot()).judgements)

    def disagreements(self, snap: Snapshot | None = None) -> list[Disagreement]:
        return disagreements((snap or self.snapshot()).judgements)

    # ----------------------------------------------------------------- outputs
    def qrels(self, snap: Snapshot | None = None) -> list[Qrel]:
        """The settled grades as qrels (docid: the video's file name); videos no longer in the
        collection are left out."""
        snap = snap or self.snapshot()
        ids = {video_id for _, video_id in snap.settled}
        paths = {r.video_id: r.path for r in self.store.videos(ids)}
        names = docids(paths)
        return sorted(
            Qrel(s.qid, names[s.video_id], s.grade)
            for s in snap.settled.values()
            if s.video_id in names
        )

    def export_qrels(self, path: Path) -> int:
        qrels = self.qrels()
        Path(path).write_text(format_qrels(qrels), encoding="utf-8")
        return len(qrels)

    def resolve_video(self, name: str) -> VideoRecord:
        """A video by id, path or file name (a file name two videos share is refused)."""
        records = self.store.videos()
        for match in (
            [r for r in records if r.video_id == name],
            [r for r in records if r.path == name],
            [r for r in records if r.file_name == Path(name).name],
        ):
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                paths = ", ".join(r.path for r in match)
                raise JudgingError(f"{name!r} names {len(match)} videos ({paths}): give its id")
        raise JudgingError(f"no video {name!r} in the collection (python -m backend info)")
