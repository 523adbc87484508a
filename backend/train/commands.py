"""``python -m backend train`` and ``python -m backend versions``: fine-tune, switch, roll back.

``train`` starts the same job the app's Train tab starts (``backend.train.jobs``), prints its
progress and the before/after table; Ctrl-C cancels it (the adapter is still saved). With
``--switch`` a completed run's adapter re-encodes the collection into a new store version,
which becomes active; ``versions`` lists versions and activates an older one (rollback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from backend.config import Settings
from backend.train.settings import TrainSettings, add_arguments

SettingsOf = Callable[[argparse.Namespace], Settings]
EXIT_FAILED, EXIT_CANCELLED = 2, 1
_COMMON = ("store", "encoder", "model", "adapter", "load_in_4bit")


def _print_event(event: dict) -> None:
    kind = event["event"]
    if kind == "step":
        print(
            f"step {event['step']:>4}/{event['total_steps']}  epoch {event['epoch'] + 1}  "
            f"loss {event['loss']:.4f}  lr {event['lr']:.1e}  eta {event['eta_s']:.0f}s",
            file=sys.stderr,
            flush=True,
        )
    elif kind == "start":
        counts = ", ".join(f"{k} {v}" for k, v in event["counts"].items())
        print(f"training: {counts}", file=sys.stderr, flush=True)
    elif kind == "metrics":
        print(f"held-out metrics {event['stage']} training", file=sys.stderr, flush=True)
    elif kind == "checkpoint":
        print(f"checkpoint: {event['path']}", file=sys.stderr, flush=True)


def format_comparison(result: dict) -> str:
    """The before/after table of a finished run."""
    before = result["metrics"].get("before", {})
    after = result["metrics"].get("after", {})
    lines = [
        "| held-out | queries | R@1 before | R@1 after | nDCG@10 before | nDCG@10 after |",
        "|---|---|---|---|---|---|",
    ]
    for group in ("all", "label", "synthetic", "judged"):  # judged: the judged query set
        if group not in before:
            continue
        b, a = before[group], after.get(group, {})
        cells = [f"{m[k]:.3f}" if k in m else "-" for k in ("R@1",) for m in (b, a)]
        cells += [f"{m[k]:.3f}" if k in m else "-" for k in ("nDCG@10",) for m in (b, a)]
        lines.append(f"| {group} | {int(b['queries'])} | {' | '.join(cells)} |")
    if "train" in before and "train" in after:
        loss_b, loss_a = before["train"]["loss"], after["train"]["loss"]
        lines.append(f"training loss (fixed batches): {loss_b:.4g} -> {loss_a:.4g}")
    lines.append(f"adapter: {result.get('adapter')}")
    return "\n".join(lines)


def _train_settings(args: argparse.Namespace, settings: Settings) -> TrainSettings:
    from backend.store.versions import follow_active_version

    followed = follow_active_version(settings)  # continue from the adapter in use
    fields = {k: v for k, v in vars(args).items() if k not in _COMMON}
    chosen = TrainSettings.from_namespace(argparse.Namespace(**fields))
    encoder = followed.encoder
    return replace(
        chosen,
        store=settings.store,
        encoder=encoder.name,
        model=encoder.model,
        adapter=encoder.adapter,
        load_in_4bit=encoder.load_in_4bit,
    )


def _export(train: TrainSettings, folder: Path) -> int:
    from backend.store.video_store import VideoStore
    from backend.train.data import build_training_data, export_clamr_dataset

    store = VideoStore.open(train.store)
    data = build_training_data(
        store, train.synthetic, not train.no_labels, train.heldout, train.seed
    )
    dataset = export_clamr_dataset(data, store, folder, frames=True)
    print(f"{dataset} -> {folder / 'dataset'} (frames in {folder / 'frames'})")
    return 0


def _print_reencoded(done: int, total: int, video_id: str) -> None:
    print(f"re-encoded {done}/{total}  {video_id}", file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from backend.train import jobs

    settings = settings_of(args)
    train = _train_settings(args, settings)
    if args.export_dataset:
        return _export(train, args.export_dataset)
    job = jobs.start_job(train)
    print(f"training job {job.job_id} in {job.folder}", file=sys.stderr, flush=True)
    try:
        for event in jobs.follow(train.store, job.job_id):
            _print_event(event)
    except KeyboardInterrupt:
        print("cancelling: the adapter is saved after the current step", file=sys.stderr)
        jobs.cancel_job(train.store, job.job_id)
        for event in jobs.follow(train.store, job.job_id):
            _print_event(event)
    status = jobs.job_status(train.store, job.job_id)
    result = jobs.job_result(train.store, job.job_id) or {"status": status.state, "metrics": {}}
    if status.state == "failed":
        print(f"error: training failed: {status.error}", file=sys.stderr)
        return EXIT_FAILED
    switched = None
    if args.switch and status.state == "completed":
        report = jobs.switch_to_result(train.store, job.job_id, _print_reencoded, settings)
        switched = asdict(report)
    if args.json:
        print(json.dumps({**result, "switched": switched}, indent=2, default=str))
    else:
        print(format_comparison(result))
        if switched:
            print(
                f"switched the store to version {switched['version']} "
                f"({switched['encoded']} videos re-encoded); roll back with: "
                f"python -m backend versions --store {train.store} --activate <older version>"
            )
            for warning in switched["warnings"]:
                print(f"warning: {warning}")
    return 0 if status.state == "completed" else EXIT_CANCELLED


def cmd_versions(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from backend.reencode import reencode
    from backend.store.versions import StoreVersions, describe_versions
    from backend.store.video_store import VideoStore

    settings = settings_of(args)
    store = VideoStore.open(settings.store)
    versions = StoreVersions(store)
    if args.delete:
        versions.delete(args.delete)
    if args.activate:
        version = versions.get(args.activate)
        recorded = version.encoder_settings(store.uri)
        if args.fill and recorded is not None:
            reencode(store, replace(settings, encoder=recorded), activate=True)
        missing = versions.activate(args.activate)
        print(f"active version: {args.activate} ({version.encoder})", file=sys.stderr)
        if missing:
            print(
                f"warning: {len(missing)} videos were indexed after {args.activate} was built and "
                f"cannot be found with it; add --fill to encode them",
                file=sys.stderr,
            )
    rows = describe_versions(store)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = "*" if row["active"] else " "
        print(
            f"{mark} {row['name']:<4} {row['state']:<9} {row['created_at']:<26} {row['encoder']}"
            + (f"  ({row['missing_videos']} videos missing)" if row["missing_videos"] else "")
        )
    return 0


def add_commands(
    sub: argparse._SubParsersAction, common: argparse.ArgumentParser, settings_of: SettingsOf
) -> None:
    """Register ``train`` and ``versions`` on the backend's command line."""
    train = sub.add_parser(
        "train",
        parents=[common],
        help="fine-tune the encoder on the store's labels and synthetic queries",
        description="Fine-tune (LoRA) on relevance labels and synthetic queries; prints progress "
        "and held-out metrics before and after. --adapter: start from it ('none': fresh).",
    )
    add_arguments(train, skip=_COMMON)
    train.add_argument(
        "--switch", action="store_true", help="re-encode the collection with the new adapter"
    )
    train.add_argument(
        "--export-dataset",
        type=Path,
        metavar="DIR",
        help="only write the examples in CLaMR's dataset format (with frames) and stop",
    )
    train.add_argument("--json", action="store_true")
    train.set_defaults(run=lambda args: cmd_train(args, settings_of))

    versions = sub.add_parser(
        "versions", parents=[common], help="the store's encoder versions; switch or roll back"
    )
    versions.add_argument("--activate", metavar="NAME", help="make this version active")
    versions.add_argument(
        "--fill", action="store_true", help="with --activate: encode videos the version lacks"
    )
    versions.add_argument("--delete", metavar="NAME", help="drop an inactive version")
    versions.add_argument("--json", action="store_true")
    versions.set_defaults(run=lambda args: cmd_versions(args, settings_of))
