"""Search tab: a query box, a picture box, filters, and the results as cards.

API endpoints ``search`` (text), ``search_image`` (a picture, with optional text) and
``more_like_this`` (the frame of a result at its moment). The picture box searches as soon as a
picture is uploaded or pasted; "More like this" on a card searches with that card's frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import gradio as gr
import numpy as np

from app import validate
from app.cards import JUDGE_IN_PLACE_JS, MORE_LIKE_THIS_JS, render_cards
from app.context import AppContext
from app.media import jpeg_data_uri, nearest_frame_row
from app.players import video_source
from app.snippets import snippets
from backend.collection import QueryError, SearchHit, VideoRecord

MODALITIES = ["video", "asr", "ocr", "description", "image"]
MAX_PICTURE_PIXELS = 40_000_000  # a 40-megapixel photo; the model looks at 224x224 crops
MAX_RESULTS = 50  # results a search shows (the slider's top)
MODES = ["modality_max", "token_max"]


def hit_json(ctx: AppContext, hit: SearchHit, record: VideoRecord | None) -> dict:
    """A hit as plain data: what the card shows, and what an API client needs."""
    video = record.ingested() if record is not None else None
    source = video_source(ctx.settings, hit.path, hit.video_id)
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
        "video_url": source.url,
        "playable": source.playable,
    }


def search_json(
    ctx: AppContext, query: str, k: int = 10, mode: str = "modality_max", modalities=None
) -> dict:
    """Run a search; errors in the query come back as a message for the user."""
    query = validate.query(query)
    if not query:
        raise gr.Error("Type something to search for.")
    chosen = list(modalities or []) or None
    hits = _searched(lambda: ctx.collection.search(query, int(k), mode, chosen))
    return _result(ctx, hits, query, k, mode, modalities)


def picture(value) -> np.ndarray:
    """A picture from the picture box or the API as ``(H, W, 3)`` uint8 RGB, or a message."""
    if value is None:
        raise gr.Error("Upload or paste a picture to search by.")
    array = np.asarray(value)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.size == 0:
        raise gr.Error(f"The picture must be an RGB image, not an array of shape {array.shape}.")
    if array.shape[0] * array.shape[1] > MAX_PICTURE_PIXELS:
        raise gr.Error("The picture is larger than 40 megapixels: send a smaller copy.")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3])


def search_image_json(
    ctx: AppContext,
    image,
    query: str = "",
    k: int = 10,
    mode: str = "modality_max",
    modalities=None,
) -> dict:
    """Search by a picture, with optional text (both: the best modality wins)."""
    pixels, query = picture(image), validate.query(query)
    chosen = list(modalities or []) or None
    hits = _searched(lambda: ctx.collection.search_image(pixels, query, int(k), mode, chosen))
    return _result(ctx, hits, query, k, mode, modalities, picture=list(pixels.shape[:2]))


def more_like_this_json(
    ctx: AppContext,
    video_id: str,
    time_s: float | None,
    k: int = 10,
    mode: str = "modality_max",
    modalities=None,
) -> tuple[dict, np.ndarray]:
    """Search with the stored frame of ``video_id`` nearest ``time_s``; the result and the frame."""
    video_id = validate.video_id(video_id, ctx.collection.has_video)
    if time_s is not None:
        time_s = validate.number(time_s, "The moment", 0.0, 1e7)
    try:
        frame = ctx.collection.moment_frame(video_id, time_s)
    except KeyError as error:
        raise gr.Error(str(error).strip("'\"")) from error
    result = search_image_json(ctx, frame, "", k, mode, modalities)
    result["more_like_this"] = {"video_id": video_id, "time_s": time_s}
    return result, frame


def api_settings(k, mode, modalities) -> tuple[int, str, list[str]]:
    """The search settings an API call gave, checked (the page's controls bound them there)."""
    k = validate.number(k, "Results (k)", 1, MAX_RESULTS, integer=True)
    if mode not in MODES:
        raise gr.Error(f"The scoring mode must be one of {MODES}, not {mode!r:.60}.")
    return k, mode, validate.names(modalities, "The modalities")


def _searched(search):
    try:
        return search()
    except QueryError as error:
        raise gr.Error(str(error)) from error


def _result(ctx: AppContext, hits, query: str, k, mode: str, modalities, **extra) -> dict:
    records = {r.video_id: r for r in ctx.collection.videos([h.video_id for h in hits])}
    return {
        "query": query,
        "k": int(k),
        "mode": mode,
        "modalities": list(modalities or []),
        **extra,
        "hits": [hit_json(ctx, h, records.get(h.video_id)) for h in hits],
    }


def thumbnails(ctx: AppContext, result: dict | None) -> dict[str, str | None]:
    """The best moment's frame of every hit, as small data URIs."""
    out: dict[str, str | None] = {}
    for hit in (result or {}).get("hits", []):
        row = nearest_frame_row(ctx.collection.frames(hit["video_id"]), hit["moment_s"])
        out[hit["video_id"]] = jpeg_data_uri(row["jpeg"]) if row else None
    return out


@dataclass
class SearchHandles:
    """What other tabs listen to: the query box and the current results."""

    query: gr.Textbox
    result: gr.State  # the last search_json result (query and hits)
    results: gr.HTML | None = None  # the cards; their grade buttons trigger its ``submit``
    picture: gr.State | None = None  # the picture the last search used (None: text only)


def build(ctx: AppContext) -> SearchHandles:
    with gr.Row():
        query = gr.Textbox(
            label="Search",
            placeholder="what is seen, said or written: e.g. bring an umbrella",
            elem_id="query",
            scale=5,
        )
        image = gr.Image(
            label="or a picture",
            type="numpy",
            sources=["upload", "clipboard"],
            elem_id="query-image",
            height=120,
            scale=2,
        )
        button = gr.Button("Search", variant="primary", elem_id="search-button", scale=1)
    with gr.Row():
        modalities = gr.CheckboxGroup(
            MODALITIES, label="Modalities (none ticked: all)", elem_id="modalities"
        )
        mode = gr.Radio(MODES, value=ctx.settings.backend.search.mode, label="Scoring mode")
        k = gr.Slider(
            1, MAX_RESULTS, value=ctx.settings.backend.search.k, step=1, label="Results (k)"
        )
    results = gr.HTML(
        render_cards(None, {}),
        elem_id="results",
        js_on_load=JUDGE_IN_PLACE_JS + MORE_LIKE_THIS_JS,
    )
    with gr.Accordion("Results as JSON", open=False):
        result_json = gr.JSON(label="search result", elem_id="results-json")
    state = gr.State(None)
    in_box = gr.State(None)  # the box's picture: a State, so the ``search`` API stays text-only
    searched = gr.State(None)  # the picture the last search used, for Explain
    api_picture = gr.Button("Search by picture", visible=False, elem_id="search-image-api")

    def run(query_text: str, k_value: float, mode_value: str, chosen: list[str], boxed):
        if boxed is not None:
            return run_picture(boxed, query_text, k_value, mode_value, chosen)
        result = search_json(ctx, query_text, int(k_value), mode_value, chosen)
        return result, result, None

    def run_picture(image, query: str, k: float, mode: str, modalities: list[str]):
        """Search by ``image`` (an uploaded picture), with ``query`` text if any."""
        result = search_image_json(ctx, image, query, int(k), mode, modalities)
        return result, result, picture(image)

    def on_picture(picked, query_text: str, k_value: float, mode_value: str, chosen: list[str]):
        """A picture uploaded or pasted searches at once; clearing the box searches nothing."""
        if picked is None:
            return gr.skip(), gr.skip(), gr.skip()
        return run_picture(picked, query_text, k_value, mode_value, chosen)

    def more(k_value: float, mode_value: str, chosen: list[str], evt: gr.EventData):
        data = evt._data if isinstance(evt._data, dict) else {}
        result, frame = more_like_this_json(
            ctx, data.get("video_id"), data.get("time_s"), int(k_value), mode_value, chosen
        )
        return result, result, frame, frame, frame, ""

    def search(
        query_text: str,
        k_value: int = 10,
        mode_value: str = "modality_max",
        chosen: list[str] | None = None,
    ) -> dict:
        """Search the collection by text: what is seen, said or written. (The parameter names
        are the API's since it was the Search button's event: callers name them.)"""
        return search_json(ctx, query_text, *api_settings(k_value, mode_value, chosen))

    def more_like_this(
        video_id: str,
        time_s: float | None = None,
        k: int = 10,
        mode: str = "modality_max",
        modalities: list[str] | None = None,
    ) -> dict:
        """Search with the frame of a result at its moment (a picture query)."""
        return more_like_this_json(ctx, video_id, time_s, *api_settings(k, mode, modalities))[0]

    def show(result: dict | None) -> str:
        return render_cards(result, thumbnails(ctx, result))

    inputs = [query, k, mode, modalities, in_box]
    outputs = [result_json, state, searched]
    picture_inputs = [image, query, k, mode, modalities]
    # The ``search`` API is its own endpoint, not the button's event: a script's search then
    # skips what only the page needs (the results State, which Gradio hashes whole before and
    # after every call for the tabs that listen to it, and the JSON box): under load
    # (bench.load) that was a fifth of the app's time.
    button.click(run, inputs, outputs, api_visibility="private").then(
        show, state, results, api_visibility="private"
    )
    query.submit(run, inputs, outputs, api_visibility="private").then(
        show, state, results, api_visibility="private"
    )
    image.change(lambda picked: picked, image, in_box, api_visibility="private")
    image.input(on_picture, picture_inputs, outputs, api_visibility="private").then(
        show, state, results, api_visibility="private"
    )
    api_picture.click(run_picture, picture_inputs, outputs, api_name="search_image").then(
        show, state, results, api_visibility="private"
    )
    results.select(
        more, [k, mode, modalities], [*outputs, image, in_box, query], api_visibility="private"
    ).then(show, state, results, api_visibility="private")
    gr.api(search, api_name="search")
    gr.api(more_like_this, api_name="more_like_this")
    return SearchHandles(query=query, result=state, results=results, picture=searched)
