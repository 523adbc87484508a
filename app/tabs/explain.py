"""Explain tab: MaxSim heatmaps for one result, per modality, and the matched frame region;
for a search by picture, which region of the picture matched which region of a frame.
API endpoint ``explain``."""

from __future__ import annotations

from dataclasses import asdict

import gradio as gr

from app import validate
from app.cards import MODALITY_NAMES, clock
from app.context import AppContext
from app.tabs.search import SearchHandles
from backend.collection import Explanation, QueryError, stack_vertically

BEST = "best"
MAX_COLUMNS = 28  # document words per heatmap: the matches and their neighbours


def explanation_json(explanation: Explanation) -> dict:
    """The numbers behind the pictures: per modality the score, matches and shown matrix."""
    return {
        "query": explanation.query,
        "video_id": explanation.video_id,
        "best_modality": explanation.best_modality,
        "modalities": {
            key: {
                "score": round(item.score, 4),
                "matches": [asdict(m) for m in item.matches],
                "query_tokens": list(item.similarity.query_labels),
                "columns": list(item.similarity.column_labels),
                "frame_time_s": item.frame_time_s,
                **({"regions": _regions_json(item.regions)} if item.regions is not None else {}),
            }
            for key, item in explanation.modalities.items()
        },
    }


def _regions_json(match) -> dict:
    """A picture query's regions against the regions of its best frame (boxes in pixels)."""
    return {
        "time_s": match.time_s,
        "query_regions": list(match.query_labels),
        "frame_regions": list(match.frame_labels),
        "query_boxes": [[round(float(v), 1) for v in box] for box in match.query_boxes],
        "frame_boxes": [[round(float(v), 1) for v in box] for box in match.frame_boxes],
        "similarity": [[round(float(v), 4) for v in row] for row in match.similarity],
        "best": [int(i) for i in match.best],
    }


def _matches_markdown(explanation: Explanation) -> str:
    lines = ["| modality | query word | best match | similarity | time |", "|---|---|---|---|---|"]
    for key, item in explanation.modalities.items():
        star = " ★" if key == explanation.best_modality else ""
        for match in item.matches:
            lines.append(
                f"| {MODALITY_NAMES[key]}{star} | {match.query_token} | {match.label} | "
                f"{match.similarity:.3f} | {clock(match.time_s)} |"
            )
    return "\n".join(lines)


def _sheet(explanation: Explanation):
    return stack_vertically([item.heatmap for item in explanation.modalities.values()])


def build(ctx: AppContext, search: SearchHandles) -> None:
    gr.Markdown(
        "Each query word (rows) against the words of one modality of the video (columns); "
        "colour is similarity, the outlined cell is the word's best match (MaxSim takes it). "
        "The modality's score is the mean of the outlined values. "
        "For a search by picture, *looks like* pairs the picture's regions with those of the "
        "best frame (boxes on both, joined) above their region-by-region similarity map."
    )
    with gr.Row():
        video = gr.Dropdown(
            [], label="Result", elem_id="explain-result", scale=3, allow_custom_value=True
        )
        modality = gr.Radio(
            [BEST, *MODALITY_NAMES], value=BEST, label="Modality", elem_id="explain-modality"
        )
        button = gr.Button("Explain", elem_id="explain-button", scale=1)
    heatmap = gr.Image(
        label="Token heatmap",
        show_label=False,
        type="pil",
        format="png",
        elem_id="heatmap",
        interactive=False,
    )
    with gr.Row():
        frame = gr.Image(
            label="Matched frame",
            type="pil",
            format="png",
            elem_id="heatmap-frame",
            interactive=False,
        )
        table = gr.Markdown(elem_id="explain-matches")
    sheet = gr.Image(
        label="All modalities, best first",
        type="pil",
        format="png",
        elem_id="heatmaps",
        interactive=False,
    )
    with gr.Accordion("Explanation as JSON", open=False):
        as_json = gr.JSON(label="explanation")
    state = gr.State(None)

    def run(query: str, video_id: str | None, chosen: str, picture=None):
        """``picture``: the one the last search used (a session state, not an API input)."""
        if not video_id:
            raise gr.Error("Search first, then pick a result to explain.")
        video_id = validate.video_id(video_id, ctx.collection.has_video)
        try:
            explanation = ctx.collection.explain(
                validate.query(query), video_id, max_columns=MAX_COLUMNS, image=picture
            )
        except (QueryError, KeyError) as error:
            raise gr.Error(str(error).strip("'\"")) from error
        key = explanation.best_modality if chosen == BEST else chosen
        item = explanation.modalities.get(key)
        if item is None:
            raise gr.Error(f"this video has no {MODALITY_NAMES.get(key, key)} tokens")
        return explanation_json(explanation), item.heatmap, item.frame, explanation

    def run_quietly(query: str, video_id: str | None, chosen: str, picture=None):
        """After a search: explain the top result, or leave the tab as it is if none."""
        if not video_id or not ((query or "").strip() or picture is not None):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            return run(query, video_id, chosen, picture)
        except gr.Error:
            if chosen == BEST:
                raise
            return run(query, video_id, BEST, picture)  # the top result lacks the modality

    def details(explanation: Explanation | None):
        if explanation is None:
            return None, ""
        return _sheet(explanation), _matches_markdown(explanation)

    def offer(result: dict | None):
        hits = (result or {}).get("hits", [])
        choices = [
            (f"#{h['rank']} {h['file_name']} ({h['score']:.3f})", h["video_id"]) for h in hits
        ]
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

    inputs = [search.query, video, modality]
    if search.picture is not None:  # a State: the ``explain`` API keeps its three inputs
        inputs.append(search.picture)
    outputs = [as_json, heatmap, frame, state]
    button.click(run, inputs, outputs, api_name="explain").then(
        details, state, [sheet, table], api_visibility="private"
    )
    for trigger in (video.input, modality.input):
        trigger(run, inputs, outputs, api_visibility="private").then(
            details, state, [sheet, table], api_visibility="private"
        )
    search.result.change(offer, search.result, video, api_visibility="private").then(
        run_quietly, inputs, outputs, api_visibility="private"
    ).then(details, state, [sheet, table], api_visibility="private")
