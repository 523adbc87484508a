"""Upload & index tab: many files at once, progress per file and stage, the collection list.
API endpoints ``index``, ``collection`` and ``delete``.

Indexing runs in a worker thread and reports stages through a queue; the event handler turns
them into progress bars and table rows as they come, so one slow or broken file is visible
without holding the others back.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from app import validate
from app.cards import MODALITY_NAMES, clock
from app.context import AppContext
from app.media import check_upload, is_playable, keep_upload
from app.previews import make_preview, preview_path
from backend.collection import IndexReport

STAGES = ("hash", "decode", "asr", "ocr", "vision", "encode", "store")
FILE_COLUMNS = ["file", "size", "progress", "stage", "status", "message"]
VIDEO_COLUMNS = ["file", "duration", "modalities", "tokens", "indexed at", "video id"]
FINISHED = ("indexed", "skipped", "failed", "rejected")


def _bar(done: int, total: int, width: int = 10) -> str:
    """``_bar(3, 7)`` -> ``'████░░░░░░'``: a progress bar that fits in a table cell."""
    filled = round(width * done / max(1, total))
    return "█" * filled + "░" * (width - filled)


def _new_row(name: str, size: int) -> dict:
    return {"file": name, "size_mb": round(size / 2**20, 2), "stage": "", "status": "waiting"}


def collection_json(ctx: AppContext) -> dict:
    """What the store holds: totals, failures, and one entry per complete video."""
    videos = ctx.collection.videos()
    info = ctx.collection.info()
    # no key may be called "path": Gradio takes any dict with a "path" for a file to send
    info["failures"] = [{"file_path": f["path"], "reason": f["reason"]} for f in info["failures"]]
    return {
        "info": info,
        "videos": [
            {
                "video_id": v.video_id,
                "file_name": v.file_name,
                "file_path": v.path,
                "duration_s": v.duration_s,
                "modalities": list(v.modalities),
                "n_tokens": v.n_tokens,
                "indexed_at": v.indexed_at,
            }
            for v in videos
        ],
    }


def _video_rows(collection: dict) -> list[list]:
    return [
        [
            v["file_name"],
            clock(v["duration_s"]),
            ", ".join(MODALITY_NAMES.get(m, m) for m in v["modalities"]),
            v["n_tokens"],
            v["indexed_at"].replace("T", " "),
            v["video_id"][:12],
        ]
        for v in collection["videos"]
    ]


def _file_rows(report: dict | None) -> list[list]:
    rows = []
    for item in (report or {}).get("files", []):
        stage = item["stage"]
        done = len(STAGES) if item["status"] in FINISHED else STAGES.index(stage) if stage else 0
        rows.append(
            [
                item["file"],
                f"{item['size_mb']:.1f} MB",
                _bar(done, len(STAGES)),
                stage,
                item["status"],
                item.get("message", ""),
            ]
        )
    return rows


def _summary(report: dict | None) -> str:
    if not report:
        return ""
    counts = ", ".join(f"{report[s]} {s}" for s in FINISHED if report.get(s))
    state = "Finished" if report["done"] else "Indexing"
    return f"**{state}** {len(report['files'])} files" + (f": {counts}." if counts else ".")


def _show_report(report: dict | None) -> tuple[str, list[list]]:
    return _summary(report), _file_rows(report)


def _finish(row: dict, status: str, message: str) -> None:
    row.update(status=status, message=message)


def index_files(ctx: AppContext, files: list[str] | None, description: str, progress):
    """Generator: yields the report (one entry per file) each time something changes."""
    uploads = validate.uploaded_files(files, Path(get_upload_folder()))
    description = validate.text(description, "The description")
    if not uploads:
        raise gr.Error("Choose one or more video files first.")
    rows: list[dict] = []
    kept: dict[Path, tuple[dict, bool]] = {}  # kept path -> (row, whether we made the copy)
    for upload in uploads:
        size = upload.stat().st_size if upload.is_file() else 0
        row = _new_row(upload.name, size)
        rows.append(row)
        reason = check_upload(upload, ctx.settings.max_upload_bytes)
        if reason:
            _finish(row, "rejected", reason)
            continue
        path, copied = keep_upload(upload, ctx.settings.uploads_dir)
        if path.resolve() in kept:
            _finish(row, "skipped", "the same file is in this upload twice")
            continue
        kept[path.resolve()] = (row, copied)

    def report(done: bool) -> dict:
        counts = {s: sum(r["status"] == s for r in rows) for s in FINISHED}
        return {"done": done, **counts, "files": [dict(r) for r in rows]}

    if not kept:
        yield report(True)
        return
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            result = ctx.index(list(kept), (description or "").strip() or None, _put(events))
            events.put(("report", result))
        except Exception as error:  # reported to the user below; never lost in the thread
            events.put(("error", error))

    for row, _ in kept.values():
        row["status"] = "queued" if ctx.index_lock.locked() else "waiting"
    threading.Thread(target=work, name="upload-index", daemon=True).start()
    total = len(kept)
    progress.tqdm(None, desc="files", total=total, unit="files")
    yield report(False)
    while True:
        kind, payload = events.get()
        if kind == "error":
            for row, _ in kept.values():
                if row["status"] not in FINISHED:
                    _finish(row, "failed", f"indexing stopped: {payload}")
            raise gr.Error(f"Indexing stopped: {payload}")
        if kind == "report":
            _apply(ctx, payload, kept)
            break
        path, stage = payload
        row = kept.get(Path(path).resolve(), (None, False))[0]
        if row is None:
            continue
        if stage in STAGES:
            row.update(stage=stage, status="indexing")
            progress(
                (STAGES.index(stage), len(STAGES)), desc=f"{row['file']}: {stage}", unit="stages"
            )
        else:  # done, skipped or failed: the reason comes with the final report
            row["status"] = "indexed" if stage == "done" else stage
            progress.update(1)
        yield report(False)
    for _ in _previews(ctx, kept):
        yield report(False)
    yield report(True)


def _previews(ctx: AppContext, kept: dict[Path, tuple[dict, bool]]) -> Iterator[None]:
    """Playable copies of the indexed files a browser cannot play; yields before each."""
    for path, (row, _) in kept.items():
        if row["status"] == "indexed" and not is_playable(path):
            row["stage"] = "preview"
            yield
            target = preview_path(ctx.settings.uploads_dir, row["video_id"])
            why = make_preview(path, target, row.get("duration_s"))
            row["message"] += f"; {why}" if why else "; playable preview made"


def _put(events: queue.Queue):
    return lambda path, stage: events.put(("stage", (path, stage)))


def _apply(ctx: AppContext, result: IndexReport, kept: dict[Path, tuple[dict, bool]]) -> None:
    """Final statuses and reasons; copies nobody needs (failed, or a duplicate) are removed."""
    in_use: set[Path] | None = None
    for item in result.results:
        row, copied = kept.get(item.path.resolve(), (None, False))
        if row is None:
            continue
        message = item.reason
        if item.status == "indexed":
            message = f"{clock(item.duration_s)} long, in {item.seconds:.1f} s" + (
                f"; {item.reason}" if item.reason else ""
            )
        _finish(row, item.status, message)
        row.update(video_id=item.video_id, duration_s=item.duration_s)
        if item.status != "indexed" and copied:
            # another upload of the same bytes and name (kept as this same file) may have
            # been indexed first: its video plays this file, so it stays
            if in_use is None:
                in_use = {Path(v.path).resolve() for v in ctx.collection.videos()}
            if item.path.resolve() not in in_use:
                item.path.unlink(missing_ok=True)


def delete_video(ctx: AppContext, video_id: str) -> dict:
    """Remove a video from the collection, and its uploaded copy if the app made one."""
    video_id = validate.video_id(video_id, ctx.collection.has_video)
    record = ctx.collection.video(video_id)
    if record is None:
        raise gr.Error(f"Video {video_id!r} is not in the collection.")
    deleted = ctx.collection.delete(video_id)
    path = Path(record.path).resolve()
    if deleted and path.is_relative_to(ctx.settings.uploads_dir):
        path.unlink(missing_ok=True)
        preview_path(ctx.settings.uploads_dir, video_id).unlink(missing_ok=True)
    return {"deleted": deleted, "video_id": video_id, "file_name": record.file_name}


def build(ctx: AppContext) -> tuple[gr.JSON, Callable[[], dict]]:
    """The tab; returns the collection JSON and how to fill it (for the page load)."""
    limit = f"{ctx.settings.max_upload_mb:g} MB"
    gr.Markdown(f"Drop one or many video files (up to {limit} each), then press **Index**.")
    with gr.Row():
        files = gr.File(label="Videos", file_count="multiple", elem_id="upload", scale=3)
        with gr.Column(scale=2):
            description = gr.Textbox(
                label="Description (optional, added to every file of this upload)", lines=2
            )
            button = gr.Button("Index", variant="primary", elem_id="index-button")
    # the progress bars need a component no other event updates (an update hides them)
    progress_pane = gr.HTML("", elem_id="index-progress", min_height=72)
    file_table = gr.Dataframe(
        headers=FILE_COLUMNS, label="This upload", interactive=False, elem_id="index-files"
    )
    summary = gr.Markdown(elem_id="index-summary")
    with gr.Accordion("Upload report as JSON", open=False):
        report_json = gr.JSON(label="index report")
    gr.Markdown("### Collection")
    videos = gr.Dataframe(
        headers=VIDEO_COLUMNS, label="Indexed videos", interactive=False, elem_id="collection"
    )
    with gr.Row():
        chosen = gr.Dropdown(
            [], label="Video", elem_id="delete-choice", scale=3, allow_custom_value=True
        )
        delete = gr.Button("Delete", variant="stop", elem_id="delete-button", scale=1)
        refresh = gr.Button("Refresh", elem_id="collection-refresh", scale=1)
    failures = gr.Markdown()
    with gr.Accordion("Collection as JSON", open=False):
        collection = gr.JSON(label="collection")
        deleted = gr.JSON(label="last deletion")

    def run(upload: list[str] | None, text: str, progress=gr.Progress()):  # noqa: B008 (Gradio)
        yield from index_files(ctx, upload, text, progress)

    def show_collection(data: dict):
        choices = [
            (f"{v['file_name']} ({v['video_id'][:8]})", v["video_id"]) for v in data["videos"]
        ]
        failed = data["info"]["failures"]
        note = "\n".join(f"- failed: `{f['file_path']}`: {f['reason']}" for f in failed)
        return _video_rows(data), gr.Dropdown(choices=choices, value=None), note

    def list_collection() -> dict:
        return collection_json(ctx)

    def remove(video_id: str | None) -> dict:
        return delete_video(ctx, video_id)

    listing = [videos, chosen, failures]
    button.click(
        run, [files, description], report_json, api_name="index", show_progress_on=[progress_pane]
    ).then(list_collection, None, collection, api_visibility="private")
    report_json.change(
        _show_report,
        report_json,
        [summary, file_table],
        api_visibility="private",
        show_progress="hidden",
    )
    refresh.click(list_collection, None, collection, api_name="collection")
    delete.click(remove, chosen, deleted, api_name="delete").then(
        list_collection, None, collection, api_visibility="private"
    )
    collection.change(show_collection, collection, listing, api_visibility="private")
    return collection, list_collection
