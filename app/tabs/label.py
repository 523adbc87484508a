"""Label tab: grade results of the current search (highly relevant 2, partly 1, not relevant 0),
export and import labels. Results are also graded in place, with the buttons on each Search
card. API endpoint ``label`` (``relevant``: yes is grade 2, no is grade 0; ``grade`` overrides).

A label's query joins the query set (set ``search``) if it is not there, so labels given here
count in the test collection (``Judge`` tab) beside those of the judging screen. Labels are
appended, never overwritten (the newest per query, video and assessor stands), so two sessions
labelling at once lose nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from app import validate
from app.assessor import assessor_of
from app.cards import MODALITY_NAMES, clock
from app.context import AppContext
from app.judging_view import GRADE_NAMES
from app.tabs.search import SearchHandles
from backend.collection import JudgingError

LABEL_COLUMNS = ["video", "relevant", "modality", "moment", "user", "labelled at"]
ANONYMOUS = "anonymous"  # labels given here without a name or a login


def current_labels(ctx: AppContext, query: str) -> list[dict]:
    labels = ctx.collection.labels(query) if query.strip() else []
    return [asdict(label) for label in sorted(labels, key=lambda lab: lab.labelled_at)]


def add_label(
    ctx: AppContext,
    query: str,
    video_id: str,
    relevant: bool,
    modality: str = "",
    moment_s: float | None = None,
    user: str = ANONYMOUS,
    grade: int | None = None,
    source: str = "label",
) -> dict:
    """Store one judgement (``grade``, else yes = 2 / no = 0); returns it and the query's
    current labels."""
    query = " ".join(validate.query(query).split())
    if not query:
        raise gr.Error("A label needs a query: search first.")
    video_id = validate.video_id(video_id, ctx.collection.has_video)
    relevant = validate.flag(relevant, "Relevant")
    modality = validate.text(modality, "Modality", 32)
    moment_s = validate.optional_number(moment_s, "The moment (seconds)", 0, 1e7)
    if modality and modality not in MODALITY_NAMES:
        raise gr.Error(f"Unknown modality {modality!r}: use one of {sorted(MODALITY_NAMES)}.")
    if grade is None:
        grade = 2 if relevant else 0
    grade = validate.number(grade, "The grade", 0, 2, integer=True)
    try:
        with ctx.label_lock:
            label = ctx.collection.judging.judge_text(
                query, video_id, grade, user or ANONYMOUS, moment_s, modality, source
            )
    except JudgingError as error:
        raise gr.Error(str(error)) from error
    return {"label": asdict(label), "labels": current_labels(ctx, query)}


def export_labels(ctx: AppContext) -> Path:
    """All current labels as JSONL (``retrieval_dev.jsonl`` lines, with every judgement)."""
    path = Path(tempfile.mkdtemp(prefix="labels-")) / "labels.jsonl"
    ctx.collection.export_labels(path)
    return path


def import_labels(ctx: AppContext, path: Path, user: str = "import") -> int:
    """Add the labels of a JSONL file (videos matched by path or file name); returns how many."""
    with ctx.label_lock:
        return ctx.collection.import_labels(path, user)


def labels_table(ctx: AppContext, labels: list[dict]) -> list[list]:
    names = {r.video_id: r.file_name for r in ctx.collection.videos()}
    return [
        [
            names.get(lab["video_id"], lab["video_id"]),
            GRADE_NAMES[lab["grade"]],
            MODALITY_NAMES.get(lab["modality"], ""),
            clock(lab["moment_s"]),
            lab["user"],
            lab["labelled_at"][:19].replace("T", " "),
        ]
        for lab in labels
    ]


def _hit(result: dict | None, video_id: str) -> dict:
    hit = next((h for h in (result or {}).get("hits", []) if h["video_id"] == video_id), None)
    if hit is None:
        raise gr.Error("Search first, then pick a result to label.")
    return hit


def build(ctx: AppContext, search: SearchHandles, assessor: gr.Textbox) -> None:
    gr.Markdown(
        "Grade the results of the last search (or use the buttons on each result card); the "
        "labels train and evaluate the search. For a fixed query set judged blind, see **Judge**."
    )
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
        relevant = gr.Button("Relevant (2)", variant="primary", elem_id="label-relevant")
        partly = gr.Button("Partly relevant (1)", elem_id="label-partly")
        not_relevant = gr.Button("Not relevant (0)", variant="stop", elem_id="label-not-relevant")
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

    def judge(grade: int):
        def handler(result, video_id, modality_key, typed, request: gr.Request):
            hit = _hit(result, video_id)
            who = assessor_of(typed, request, ANONYMOUS)
            stored = add_label(
                ctx, result["query"], video_id, grade >= 1, modality_key or "", hit["moment_s"],
                who, grade,
            )  # fmt: skip
            note = (
                f"Saved: **{hit['file_name']}** is {GRADE_NAMES[grade]} ({grade}) for "
                f"“{result['query']}” ({who})."
            )
            return note, labels_table(ctx, stored["labels"])

        return handler

    def in_place(result, typed, evt: gr.EventData, request: gr.Request):
        """A grade button on a Search result card."""
        data = evt._data if isinstance(evt._data, dict) else {}
        hit = _hit(result, validate.text(data.get("video_id"), "Video", validate.MAX_ID_CHARS))
        grade = validate.number(data.get("grade"), "The grade", 0, 2, integer=True)
        who = assessor_of(typed, request, ANONYMOUS)
        stored = add_label(
            ctx, result["query"], hit["video_id"], grade >= 1, user=who, grade=grade,
            source="search",
        )  # fmt: skip
        note = f"Saved: {hit['file_name']} = {grade} ({GRADE_NAMES[grade]}) by {who}."
        gr.Info(note)
        return note, labels_table(ctx, stored["labels"])

    def api_label(
        query: str,
        video_id: str,
        relevant: bool,
        modality: str = "",
        moment_s: float | None = None,
        grade: int | None = None,
        assessor: str = "",
        request: gr.Request = None,
    ) -> dict:
        """Store a relevance judgement for (query, video): ``relevant`` (yes = grade 2, no = 0)
        or ``grade`` (0, 1, 2); returns it and the query's labels. The assessor is the
        logged-in user, else ``assessor``, else "anonymous"."""
        who = assessor_of(assessor, request, ANONYMOUS)
        return add_label(ctx, query, video_id, relevant, modality, moment_s, who, grade, "api")

    def export_all() -> str:
        return str(export_labels(ctx))

    def import_file(file: str | None, typed: str, request: gr.Request) -> str:
        if not file:
            return ""
        try:
            added = import_labels(ctx, Path(file), assessor_of(typed, request, ANONYMOUS))
        except ValueError as error:
            raise gr.Error(f"{Path(file).name}: {error}") from error
        return f"Imported {added} labels from {Path(file).name}."

    state = search.result
    state.change(offer, state, [query, video, table], api_visibility="private")
    inputs = [state, video, modality, assessor]
    for grade, button in ((2, relevant), (1, partly), (0, not_relevant)):
        button.click(judge(grade), inputs, [message, table], api_visibility="private")
    if search.results is not None:
        search.results.submit(
            in_place, [state, assessor], [message, table], api_visibility="private"
        )
    gr.api(api_label, api_name="label")
    export.click(export_all, None, exported, api_visibility="private")
    imported.upload(import_file, [imported, assessor], message, api_visibility="private")
