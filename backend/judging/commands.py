"""The judging command line: ``queries``, ``pool``, ``label``, ``agreement``, ``qrels``, and
``eval --qrels``.

    python -m backend queries import FILE [--store DIR]
    python -m backend queries list [--store DIR] [--json]
    python -m backend pool [--store DIR] [--depth N] [--json]
    python -m backend label --query-id QID --video VIDEO --grade 0|1|2 [--user NAME] [--moment S]
    python -m backend agreement [--store DIR] [--json]
    python -m backend qrels export [--store DIR] [--out FILE]
    python -m backend eval --qrels FILE [QUERIES] [--store DIR] [--json]
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from backend.config import Settings
from backend.judging.pooling import DEFAULT_DEPTH
from backend.judging.service import Judging
from backend.store.labels import GRADES

SettingsOf = Callable[[argparse.Namespace], Settings]


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _judging(args: argparse.Namespace, settings_of: SettingsOf) -> Judging:
    """Judging on the store, through the collection (its models load only if pooling needs
    them)."""
    from backend.collection import Collection

    return Collection(settings_of(args)).judging


def cmd_queries_import(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    result = _judging(args, settings_of).import_queries(args.file)
    print(
        f"{result.added} queries added, {result.changed} changed from {args.file}; "
        f"{result.total} in the query set"
    )
    return 0


def cmd_queries_list(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    rows = _judging(args, settings_of).query_progress()
    if args.json:
        _print_json([asdict(row) for row in rows])
        return 0
    if not rows:
        print("the query set is empty (python -m backend queries import FILE)")
    for row in rows:
        print(
            f"{row.qid:<20} pooled {row.pooled:>3}  judged {row.judged:>3}  "
            f"settled {row.settled:>3}  open {row.disagreements:>2}  {row.text}"
        )
    return 0


def cmd_pool(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    judging = _judging(args, settings_of)
    pools = judging.pool(args.depth)
    names = {r.video_id: r.file_name for r in judging.store.videos()}
    if args.json:
        _print_json(
            {
                qid: [
                    {
                        "video_id": row.video_id,
                        "file_name": names.get(row.video_id, ""),
                        "position": row.position,
                        "rankers": dict(zip(row.rankers, row.ranks)),
                        "moment_s": row.moment_s,
                    }
                    for row in rows
                ]
                for qid, rows in pools.items()
            }
        )
        return 0
    for qid, rows in pools.items():
        print(f"{qid}: {len(rows)} candidates (depth {args.depth})")
    return 0


def cmd_label(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    judging = _judging(args, settings_of)
    video = judging.resolve_video(args.video)
    label = judging.judge(
        args.query_id, video.video_id, args.grade, args.user, args.moment, args.modality, "cli"
    )
    print(f"{label.user}: {args.query_id} {video.file_name} grade {label.grade} ({label.label_id})")
    return 0


def _value(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def cmd_agreement(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    judging = _judging(args, settings_of)
    snap = judging.snapshot()
    report = judging.agreement(snap)
    open_pairs = [d for d in judging.disagreements(snap) if d.adjudicated is None]
    progress = judging.assessor_progress(snap)
    if args.json:
        _print_json(
            {
                **report.to_json(),
                "unsettled_disagreements": len(open_pairs),
                "assessor_progress": [asdict(p) for p in progress],
            }
        )
        return 0
    for p in progress:
        print(
            f"{p.assessor}: {p.judged} of {p.pooled} pooled candidates judged, "
            f"{p.queries_done} queries done, {p.labels} labels"
        )
    print(f"pairs judged by more than one: {report.shared_pairs}")
    for stat in [*report.statistics, *report.pairwise]:
        who = f" ({' vs '.join(stat.assessors)})" if stat.name == "cohen_kappa" else ""
        print(f"{stat.name}{who}: {_value(stat.value)} on {stat.pairs} pairs")
    print(f"disagreements not yet settled: {len(open_pairs)}")
    return 0


def cmd_qrels_export(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    judging = _judging(args, settings_of)
    snap = judging.snapshot()
    qrels = judging.qrels(snap)
    unsettled = sum(d.adjudicated is None for d in judging.disagreements(snap))
    from backend.eval.qrels import format_qrels

    text = format_qrels(qrels)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(qrels)} qrels -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if unsettled:
        print(
            f"warning: {unsettled} pairs whose assessors disagree are left out until adjudicated",
            file=sys.stderr,
        )
    return 0


def _texts(args: argparse.Namespace, judging: Judging) -> dict[str, tuple[str, str]]:
    """Query texts for qrels: the QUERIES file if given, else the store's query set."""
    if args.queries is not None:
        from backend.judging.query_files import read_query_file

        return {q.qid: (q.text, q.query_type) for q in read_query_file(args.queries)}
    return {q.qid: (q.text, q.query_type) for q in judging.queries()}


def cmd_eval_qrels(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from backend.collection import Collection
    from backend.eval.evaluate import format_report
    from backend.eval.qrels import read_qrels

    collection = Collection(settings_of(args))
    qrels = read_qrels(args.qrels)
    texts = _texts(args, collection.judging)
    modalities = tuple(args.modality) if args.modality else None
    report = collection.evaluate_qrels(
        qrels, texts, tuple(args.mode), modalities, f"qrels {args.qrels}"
    )
    if args.json:
        _print_json(report.to_json())
    else:
        print(format_report(report))
    return 0


def _extend_eval(sub: argparse._SubParsersAction, settings_of: SettingsOf) -> None:
    """``eval --qrels FILE``: the queries file becomes optional (texts from the query set)."""
    evaluate = sub.choices["eval"]
    evaluate.add_argument(
        "--qrels",
        type=Path,
        metavar="FILE",
        help="judge by TREC qrels (graded; docid = file name) instead of a queries file's "
        "relevant paths; query texts from QUERIES if given, else the store's query set",
    )
    plain = evaluate.get_default("run")

    def run(args: argparse.Namespace) -> int:
        if args.qrels is not None:
            return cmd_eval_qrels(args, settings_of)
        if args.queries is None:
            print("error: give QUERIES.jsonl, or --qrels FILE", file=sys.stderr)
            return 2
        return plain(args)

    evaluate.set_defaults(run=run)


def add_commands(
    sub: argparse._SubParsersAction, common: argparse.ArgumentParser, settings_of: SettingsOf
) -> None:
    """Register the judging commands on the backend's command line."""
    queries = sub.add_parser("queries", help="the query set a test collection is judged on")
    actions = queries.add_subparsers(dest="queries_command", required=True)
    load = actions.add_parser(
        "import", parents=[common], help="add queries from an eval .jsonl or a qid<TAB>query .tsv"
    )
    load.add_argument("file", type=Path, metavar="FILE")
    load.set_defaults(run=lambda args: cmd_queries_import(args, settings_of))
    listing = actions.add_parser(
        "list", parents=[common], help="the queries with their progress (pooled, judged)"
    )
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=lambda args: cmd_queries_list(args, settings_of))

    pool = sub.add_parser(
        "pool",
        parents=[common],
        help="pool every query's candidates from several rankers (blind order)",
    )
    pool.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help="top N of each ranker")
    pool.add_argument("--json", action="store_true")
    pool.set_defaults(run=lambda args: cmd_pool(args, settings_of))

    label = sub.add_parser("label", parents=[common], help="record one graded judgement")
    label.add_argument("--query-id", required=True, metavar="QID")
    label.add_argument("--video", required=True, help="video id, path or file name")
    label.add_argument("--grade", type=int, required=True, choices=GRADES)
    label.add_argument(
        "--user", default=getpass.getuser(), help="the assessor (default: your login name)"
    )
    label.add_argument("--moment", type=float, metavar="S", help="where it is relevant (s)")
    label.add_argument("--modality", default="", choices=["", "video", "asr", "ocr", "description"])
    label.set_defaults(run=lambda args: cmd_label(args, settings_of))

    agreement = sub.add_parser(
        "agreement", parents=[common], help="how far assessors agree (kappa, alpha)"
    )
    agreement.add_argument("--json", action="store_true")
    agreement.set_defaults(run=lambda args: cmd_agreement(args, settings_of))

    qrels = sub.add_parser("qrels", help="TREC qrels of the settled labels")
    qrels_actions = qrels.add_subparsers(dest="qrels_command", required=True)
    export = qrels_actions.add_parser(
        "export", parents=[common], help="write qid 0 docid grade lines (docid: file name)"
    )
    export.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    export.set_defaults(run=lambda args: cmd_qrels_export(args, settings_of))

    _extend_eval(sub, settings_of)
