"""``python -m backend {index,search,eval,info,train,versions}``: the public command line.

Names and flags here are a contract that scripts and the app rely on; add, don't rename. Its
commands call ``backend.collection`` only (imported when a command runs, so ``--help`` is
instant); sub-commands of other packages register themselves (``add_*`` below).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path

from backend.config import DEFAULT_STORE, STORE_ENV, Settings

EXIT_SOME_FAILED = 3


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env().with_store(args.store)
    encoder = replace(
        settings.encoder,
        name=args.encoder,
        model=args.model,
        adapter=args.adapter,
        load_in_4bit=args.load_in_4bit,
    )
    settings = replace(settings, encoder=encoder)
    if getattr(args, "command", None) == "index":
        settings = replace(
            settings,
            frames=replace(settings.frames, every_s=args.every),
            asr=replace(settings.asr, model=args.asr_model),
            ocr=replace(settings.ocr, engine=args.ocr_engine),
            vision=replace(settings.vision, enabled=not args.no_vision),
            ray=replace(
                settings.ray,
                enabled=args.ray or bool(args.ray_address),
                address=args.ray_address,
                workers=args.workers or settings.ray.workers,
            ),
        )
    if getattr(args, "command", None) == "search":
        settings = replace(settings, search=replace(settings.search, exact=args.exact))
    return settings


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_index(args: argparse.Namespace) -> int:
    from backend.collection import Collection

    collection = Collection(_settings(args))

    def progress(path: Path, stage: str) -> None:
        if not args.json and stage in ("done", "skipped", "failed"):
            print(f"{stage:>8}  {path}", file=sys.stderr, flush=True)

    report = collection.index(args.paths, args.description, progress, args.retry_failed)
    if args.json:
        _print_json(
            {
                "seconds": round(report.seconds, 3),
                "indexed": report.count("indexed"),
                "skipped": report.count("skipped"),
                "failed": report.count("failed"),
                "files": [
                    {**asdict(r), "path": str(r.path), "seconds": round(r.seconds, 3)}
                    for r in report.results
                ],
            }
        )
    else:
        for result in report.results:
            if result.status == "failed":
                print(f"failed: {result.path}: {result.reason}")
            elif result.status == "indexed" and result.reason:
                print(f"warning: {result.path}: {result.reason}")
        print(
            f"{report.count('indexed')} indexed, {report.count('skipped')} already there, "
            f"{report.count('failed')} failed, in {report.seconds:.1f} s -> {collection.store.uri}"
        )
    return EXIT_SOME_FAILED if report.count("failed") else 0


def cmd_search(args: argparse.Namespace) -> int:
    from backend.collection import Collection

    collection = Collection(_settings(args))
    if args.image is not None:
        from backend.collection import read_picture

        image = read_picture(args.image)
        hits = collection.search_image(image, args.text or "", args.k, args.mode, args.modality)
    elif args.text:
        hits = collection.search(args.text, args.k, args.mode, args.modality)
    else:
        raise ValueError("give a TEXT to search for, or --image FILE (or both)")
    if args.json:
        _print_json([asdict(hit) for hit in hits])
        return 0
    if not hits:
        print("no results (is anything indexed? see: python -m backend info)")
    for hit in hits:
        scores = "  ".join(
            f"{name}={value:.3f}" for name, value in hit.scores.items() if value is not None
        )
        moment = f" @ {hit.moment_s:.1f}s" if hit.moment_s is not None else ""
        print(
            f"{hit.rank:>2}. {hit.score:.3f}  {hit.path}{moment}  [{hit.best_modality}]  {scores}"
        )
        if hit.best_modality:
            words = ", ".join(f"{m.query_token}->{m.label}" for m in hit.matches[hit.best_modality])
            print(f"      {words}")
    return 0


def cmd_add_images(args: argparse.Namespace) -> int:
    from backend.collection import Collection

    def progress(done: int, total: int, video_id: str) -> None:
        if not args.json:
            print(f"{done:>5}/{total}  {video_id}", file=sys.stderr, flush=True)

    report = Collection(_settings(args)).add_pictures(progress)
    if args.json:
        _print_json(asdict(report))
    elif not report.version:
        print("nothing to do: every video that has a picture has picture tokens")
    else:
        for warning in report.warnings:
            print(f"warning: {warning}")
        state = "now active" if report.activated else "not complete yet: run it again"
        print(f"{report.encoded} videos re-encoded into version {report.version} ({state})")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from backend.collection import Collection, format_report

    collection = Collection(_settings(args))
    modalities = tuple(args.modality) if args.modality else None
    report = collection.evaluate(args.queries, args.corpus, tuple(args.mode), modalities)
    if args.json:
        _print_json(report.to_json())
    else:
        print(format_report(report))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from backend.collection import Collection

    info = Collection(_settings(args)).info()
    if args.json:
        _print_json(info)
        return 0
    for key, value in info.items():
        if key == "failures":
            print(f"failures: {len(value)}")
            for failure in value:
                print(f"  {failure['path']}: {failure['reason']}")
        else:
            print(f"{key}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend",
        description="Index videos and search them by what is seen, said and written in them.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        help=f"store folder or URI (default: ${STORE_ENV} or {DEFAULT_STORE})",
    )
    common.add_argument("--encoder", choices=["default", "clamr"], default="default")
    common.add_argument("--model", help="clamr: base model name or local path")
    common.add_argument(
        "--adapter",
        help="LoRA adapter: a folder `train` wrote, or for clamr a hub name ('none': without)",
    )
    common.add_argument("--load-in-4bit", action="store_true", help="clamr: 4-bit (CUDA only)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", parents=[common], help="index video files or folders")
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--description", help="a text to add to every video's description")
    index.add_argument("--every", type=float, default=1.0, help="seconds between sampled frames")
    index.add_argument("--asr-model", default="tiny.en", help="tiny.en, base, or a local folder")
    index.add_argument("--ocr-engine", choices=["rapidocr", "easyocr"], default="rapidocr")
    index.add_argument("--no-vision", action="store_true", help="skip image tags for frames")
    index.add_argument(
        "--retry-failed", action="store_true", help="try again files that failed before"
    )
    index.add_argument(
        "--ray", action="store_true", help="ingest on a Ray cluster (a local one by default)"
    )
    index.add_argument("--ray-address", help="join this Ray cluster (implies --ray)")
    index.add_argument("--workers", type=int, help="Ray ingest workers (default 2)")
    index.add_argument("--json", action="store_true")
    index.set_defaults(run=cmd_index)

    search = sub.add_parser(
        "search", parents=[common], help="search the collection by text, a picture, or both"
    )
    search.add_argument("text", nargs="?", help="what to search for (optional with --image)")
    search.add_argument(
        "--image", type=Path, metavar="FILE", help="search by this picture (with TEXT: both)"
    )
    search.add_argument("-k", type=int, default=10, help="number of results")
    search.add_argument("--mode", choices=["modality_max", "token_max"], default="modality_max")
    search.add_argument(
        "--modality",
        action="append",
        choices=["video", "asr", "ocr", "description", "image"],
        help="score only these modalities (repeatable)",
    )
    search.add_argument(
        "--exact", action="store_true", help="score every token (no index): slow on big stores"
    )
    search.add_argument("--json", action="store_true")
    search.set_defaults(run=cmd_search)

    add_images = sub.add_parser(
        "add-images",
        parents=[common],
        help="give videos indexed before search by picture existed their picture tokens",
    )
    add_images.add_argument("--json", action="store_true")
    add_images.set_defaults(run=cmd_add_images)

    evaluate = sub.add_parser("eval", parents=[common], help="retrieval metrics for a query file")
    evaluate.add_argument("queries", type=Path, nargs="?", metavar="QUERIES.jsonl")
    evaluate.add_argument("--corpus", type=Path, help="folder the relevant paths are under")
    evaluate.add_argument(
        "--mode",
        action="append",
        choices=["modality_max", "token_max"],
        help="scoring modes to compare (default: modality_max)",
    )
    evaluate.add_argument(
        "--modality",
        action="append",
        choices=["video", "asr", "ocr", "description"],
        help="score late interaction on these modalities only (repeatable)",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_eval)

    info = sub.add_parser("info", parents=[common], help="what the store holds")
    info.add_argument("--json", action="store_true")
    info.set_defaults(run=cmd_info)

    from backend.bench.cli import add_parser as add_bench_parser

    add_bench_parser(sub)

    from backend.train.commands import add_commands as add_train_commands

    add_train_commands(sub, common, _settings)

    from backend.judging.commands import add_commands as add_judging_commands

    add_judging_commands(sub, common, _settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "eval" and not args.mode:
        args.mode = ["modality_max"]
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from backend.collection import IngestError, QueryError, StoreError

    try:
        return args.run(args)
    except (StoreError, QueryError, IngestError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
