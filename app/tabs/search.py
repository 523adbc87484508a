"""Search tab: a query box, filters, and the results as cards. API endpoint ``search``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import gradio as gr

from app.cards import render_cards
from app.context import AppContext
from app.media import file_url, is_playable, jpeg_data_uri, nearest_frame_row, served_path
from app.previews import preview_path
from app.snippets import snippets
from backend.search.searcher import QueryError, SearchHit
from backend.store.records import VideoRecord

MODALITIES = ["video", "asr", "ocr", "description"]
MODES = ["modality_max", "token_max"]


def hit_json(ctx: AppContext, hit: SearchHit, record: VideoRecord | None) -> dict:
    """A hit as plain data: what the card shows, and what an API client needs."""
    video = record.ingested() if record is not None else None
    served = served_path(hit.path, ctx.settings.served_dirs()) if hit.path else None
    if served and not is_playable(served):  # a playable preview made at upload, if any
        preview = preview_path(ctx.settings.uploads_dir, hit.video_id)
        served = served_path(preview, ctx.settings.served_dirs()) or served
    return {
        "rank": hit.rank,
        "video_id": hit.video_id,
        "file_name": record.file_name if record else hit.path,
        "file_path": hit.path,  # not "path": Gradio takes dicts with a "path" for files
        "duration_s": record.duration_s if record else None,
        "score": round(hit.score, 4),
        "scores": {k: (None if v is None else round(v, 4)) for k, v in hit.scores.items()},
        "best_modality": hit.best_modality,
        "moment_s": hit.moment_s,
        "matches": {m: [asdict(t) for t in ts] for m, ts in hit.matches.items()},
        "snippets": {m: snippets(m, ts, video) for m, ts in hit.matches.items()},
        "video_url": file_url(served) if served else None,
        "playable": bool(served and is_playable(served)),
    }


def search_json(
    ctx: AppContext, query: str, k: int = 10, mode: str = "modality_max", modalities=None
) -> dict:
    """Run a search; errors in the query come back as a message for the user."""
    query = (query or "").strip()
    if not query:
        raise gr.Error("Type something to search for.")
    try:
        hits = ctx.collection.search(query, int(k), mode, list(modalities or []) or None)
    except QueryError as error:
        raise gr.Error(str(error)) from error
    records = {r.video_id: r for r in ctx.collection.store.videos([h.video_id for h in hits])}
    return {
        "query": query,
        "k": int(k),
        "mode": mode,
        "modalities": list(modalities or []),
        "hits": [hit_json(ctx, h, records.get(h.video_id)) for h in hits],
    }


def thumbnails(ctx: AppContext, result: dict | None) -> dict[str, str | None]:
    """The best moment's frame of every hit, as small data URIs."""
    out: dict[str, str | None] = {}
    for hit in (result or {}).get("hits", []):
        row = nearest_frame_row(ctx.collection.store.frames(hit["video_id"]), hit["moment_s"])
        out[hit["video_id"]] = jpeg_data_uri(row["jpeg"]) if row else None
    return out


@dataclass
class SearchHandles:
    """What other tabs listen to: the query box and the current results."""

    query: gr.Textbox
    result: gr.State  # the last search_json result (query and hits)


def build(ctx: AppContext) -> SearchHandles:
    with gr.Row():
        query = gr.Textbox(
            label="Search",
            placeholder="what is seen, said or written: e.g. bring an umbrella",
            elem_id="query",
            scale=5,
        )
        button = gr.Button("Search", variant="primary", elem_id="search-button", scale=1)
    with gr.Row():
        modalities = gr.CheckboxGroup(
            MODALITIES, label="Modalities (none ticked: all)", elem_id="modalities"
        )
        mode = gr.Radio(MODES, value=ctx.settings.backend.search.mode, label="Scoring mode")
        k = gr.Slider(1, 50, value=ctx.settings.backend.search.k, step=1, label="Results (k)")
    results = gr.HTML(render_cards(None, {}), elem_id="results")
    with gr.Accordion("Results as JSON", open=False):
        result_json = gr.JSON(label="search result", elem_id="results-json")
    state = gr.State(None)

    def run(query_text: str, k_value: float, mode_value: str, chosen: list[str]):
        result = search_json(ctx, query_text, int(k_value), mode_value, chosen)
        return result, result

    def show(result: dict | None) -> str:
        return render_cards(result, thumbnails(ctx, result))

    inputs = [query, k, mode, modalities]
    button.click(run, inputs, [result_json, state], api_name="search").then(
        show, state, results, api_visibility="private"
    )
    query.submit(run, inputs, [result_json, state], api_visibility="private").then(
        show, state, results, api_visibility="private"
    )
    return SearchHandles(query=query, result=state)
