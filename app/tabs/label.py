"""Label tab: mark results of the current query relevant or not, export and import labels.
API endpoint ``label``.

Labels are appended, never overwritten (the newest per query, video and user wins), and writes
from this process take turns, so two sessions labelling at once lose nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from app.cards import MODALITY_NAMES, clock
from app.context import AppContext, user_of
from app.tabs.search import SearchHandles
from backend.store.labels import Label

LABEL_COLUMNS = ["video", "relevant", "modality", "moment", "user", "labelled at"]


def current_labels(ctx: AppContext, query: str) -> list[dict]:
    labels = ctx.collection.store.labels.current(query) if query.strip() else []
    return [asdict(label) for label in sorted(labels, key=lambda lab: lab.labelled_at)]


def add_label(
    ctx: AppContext,
    query: str,
    video_id: str,
    relevant: bool,
    modality: str = "",
    moment_s: float | None = None,
    user: str = "anonymous",
) -> dict:
    """Store one judgement; returns it and the query's current labels."""
    query = " ".join((query or "").split())
    if not query:
        raise gr.Error("A label needs a query: search first.")
    if not video_id or not ctx.collection.store.has_video(video_id):
        raise gr.Error(f"Video {video_id!r} is not in the collection: pick one of the results.")
    if modality and modality not in MODALITY_NAMES:
        raise gr.Error(f"Unknown modality {modality!r}: use one of {sorted(MODALITY_NAMES)}.")
    label = Label(query, video_id, bool(relevant), modality or "", moment_s, user)
    with ctx.label_lock:
        ctx.collection.store.labels.add([label])
    return {"label": asdict(label), "labels": current_labels(ctx, query)}


def export_labels(ctx: AppContext) -> Path:
    """All current labels as JSONL (``retrieval_dev.jsonl`` lines, with every judgement)."""
    path = Path(tempfile.mkdtemp(prefix="labels-")) / "labels.jsonl"
    names = {r.video_id: r.file_name for r in ctx.collection.store.videos()}
    ctx.collection.store.labels.export_jsonl(path, names)
    return path


def import_labels(ctx: AppContext, path: Path, user: str = "import") -> int:
    """Add the labels of a JSONL file (videos matched by path or file name); returns how many."""
    ids: dict[str, str] = {}
    for record in ctx.collection.store.videos():
        ids[record.path] = ids[record.file_name] = record.video_id
    with ctx.label_lock:
        return ctx.collection.store.labels.import_jsonl(path, ids, user)


def labels_table(ctx: AppContext, labels: list[dict]) -> list[list]:
    names = {r.video_id: r.file_name for r in ctx.collection.store.videos()}
    return [
        [
            names.get(lab["video_id"], lab["video_id"]),
            "relevant" if lab["relevant"] else "not relevant",
            MODALITY_NAMES.get(lab["modality"], ""),
            clock(lab["moment_s"]),
            lab["user"],
            lab["labelled_at"][:19].replace("T", " "),
        ]
        for lab in labels
    ]


def build(ctx: AppContext, search: SearchHandles) -> None:
    gr.Markdown("Judge the results of the last search; the labels train and evaluate the search.")
    query = gr.Textbox(label="Query", interactive=False, elem_id="label-query")
    with gr.Row():
        video = gr.Radio([], label="Result", elem_id="label-result", scale=3)
        modality = gr.Dropdown(
            [("(not said)", ""), *[(n, k) for k, n in MODALITY_NAMES.items()]],
            value="",
            label="Which modality made it relevant (optional)",
            elem_id="label-modality",
        )
    with gr.Row():
        relevant = gr.Button("Relevant", variant="primary", elem_id="label-relevant")
        not_relevant = gr.Button("Not relevant", variant="stop", elem_id="label-not-relevant")
    message = gr.Markdown(elem_id="label-message")
    table = gr.Dataframe(
        headers=LABEL_COLUMNS, label="Labels for this query", interactive=False, elem_id="labels"
    )
    with gr.Row():
        export = gr.Button("Export labels (JSONL)", elem_id="label-export")
        exported = gr.File(label="Exported labels", interactive=False)
        imported = gr.File(label="Import labels (JSONL)", file_types=[".jsonl", ".json"])

    def offer(result: dict | None):
        hits = (result or {}).get("hits", [])
        query_text = (result or {}).get("query", "")
        choices = [(f"#{h['rank']} {h['file_name']}", h["video_id"]) for h in hits]
        value = choices[0][1] if choices else None
        return (
            query_text,
            gr.Radio(choices=choices, value=value),
            labels_table(ctx, current_labels(ctx, query_text)),
        )

    def judge(is_relevant: bool):
        def handler(result, video_id, modality_key, request: gr.Request):
            hit = next(
                (h for h in (result or {}).get("hits", []) if h["video_id"] == video_id), None
            )
            if hit is None:
                raise gr.Error("Search first, then pick a result to label.")
            stored = add_label(
                ctx,
                result["query"],
                video_id,
                is_relevant,
                modality_key or "",
                hit["moment_s"],
                user_of(request),
            )
            verdict = "relevant" if is_relevant else "not relevant"
            note = f"Saved: **{hit['file_name']}** is {verdict} for “{result['query']}”."
            return note, labels_table(ctx, stored["labels"])

        return handler

    def api_label(
        query: str,
        video_id: str,
        relevant: bool,
        modality: str = "",
        moment_s: float | None = None,
        request: gr.Request = None,
    ) -> dict:
        """Store a relevance judgement for (query, video); returns it and the query's labels."""
        return add_label(ctx, query, video_id, relevant, modality, moment_s, user_of(request))

    def export_all() -> str:
        return str(export_labels(ctx))

    def import_file(file: str | None, request: gr.Request) -> str:
        if not file:
            return ""
        try:
            added = import_labels(ctx, Path(file), user_of(request))
        except ValueError as error:
            raise gr.Error(f"{Path(file).name}: {error}") from error
        return f"Imported {added} labels from {Path(file).name}."

    state = search.result
    state.change(offer, state, [query, video, table], api_visibility="private")
    relevant.click(
        judge(True), [state, video, modality], [message, table], api_visibility="private"
    )
    not_relevant.click(
        judge(False), [state, video, modality], [message, table], api_visibility="private"
    )
    gr.api(api_label, api_name="label")
    export.click(export_all, None, exported, api_visibility="private")
    imported.upload(import_file, imported, message, api_visibility="private")
