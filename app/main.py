"""The app: tabs put together, ``demo`` at module level (Gradio's convention), and ``launch``.

Settings come from the environment once, at import (``python -m app`` turns its flags into
environment variables before importing this module).
"""

from __future__ import annotations

import logging
import os
import sys

import gradio as gr

from app import assessor, gradio_cache
from app.cards import CSS
from app.context import AppContext
from app.judging_view import CSS as JUDGING_CSS
from app.settings import AppSettings, check_access
from app.tabs import explain, judge, label, search, status, train, upload
from backend.collection import StoreError

TITLE = "Video search"
INTRO = (
    "# Video search\n"
    "Find the moment in your videos by what is **seen**, **said** and **written** in them. "
    "Each modality is scored by late interaction (MaxSim over word tokens); "
    "the best one wins, and **Explain** shows why."
)


def build_app(ctx: AppContext) -> gr.Blocks:
    # Gradio's own upload copies are dropped after a day; the app keeps its copies in uploads.
    # The size limit is Gradio's max_file_size (see launch), checked again per file by the app.
    with gr.Blocks(title=TITLE, delete_cache=(3600, 86400)) as blocks:
        gr.Markdown(INTRO)
        status_line = status.build(ctx)
        name = assessor.build(blocks)  # who labels (Label, Judge, the result cards)
        with gr.Tabs():
            with gr.Tab("Search", id="search"):
                handles = search.build(ctx)
            with gr.Tab("Explain", id="explain"):
                explain.build(ctx, handles)
            with gr.Tab("Upload & index", id="upload") as upload_tab:
                collection, list_collection = upload.build(ctx)
            with gr.Tab("Label", id="label"):
                label.build(ctx, handles, name)
            with gr.Tab("Judge", id="judge") as judge_tab:
                judge.build(ctx, name, judge_tab)
            with gr.Tab("Train", id="train") as train_tab:
                train.build(ctx, blocks, train_tab)
        blocks.load(ctx.status_line, None, status_line, api_visibility="private")
        handles.result.change(
            ctx.status_line, None, status_line, api_visibility="private", show_progress="hidden"
        )
        blocks.load(list_collection, None, collection, api_visibility="private")
        upload_tab.select(list_collection, None, collection, api_visibility="private")
    return blocks


context = AppContext(AppSettings.from_env())
demo = build_app(context)


def launch(blocks: gr.Blocks = demo, ctx: AppContext = context) -> None:
    """Refuse a public address without passwords, open the store (refusing one built by
    another encoder), start indexing the demo collection if the store is empty, and serve.

    The upload limit is Gradio's ``max_file_size``: the server stops reading a file at the limit
    (413) instead of storing all of it first, and the browser refuses a too-large file before
    sending a byte. The price: a drop of several files with one too large is refused whole
    (the browser names the file), where a check after arrival could index the others.
    """
    settings = ctx.settings
    access = check_access(settings)
    if access.refusal:
        sys.exit(f"error: {access.refusal}")
    print(access.line, file=sys.stderr, flush=True)  # Space and container logs show it
    try:
        ctx.collection.open()  # opens (or creates) the store now, not on first click
    except StoreError as error:
        sys.exit(f"error: {error}")
    ctx.warm_up()
    if ctx.start_demo_indexing():
        logging.getLogger(__name__).info("indexing the demo collection in the background")
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    # Gradio's queue rebuilds a pandas table of every event it has served, after every event,
    # for its /monitoring page (which this app does not use): 5 % of the app's time two minutes
    # into bench.load, growing with every search. Once per thousand events is plenty.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    gradio_cache.install()  # output pictures written whole (two requests, one picture)
    blocks.queue(default_concurrency_limit=4)
    blocks.launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=list(settings.auth) or None,
        auth_message="This video collection is password protected.",
        allowed_paths=[str(p) for p in settings.served_dirs()],
        max_file_size=settings.max_upload_bytes,
        show_error=True,
        css=CSS + JUDGING_CSS,
        theme=gr.themes.Soft(),
        footer_links=["api"],
    )
