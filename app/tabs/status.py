"""The status line: encoder, number of videos, store, CPU or GPU, and background work."""

from __future__ import annotations

import gradio as gr

from app.context import AppContext

REFRESH_S = 4.0


def build(ctx: AppContext) -> gr.Markdown:
    """The line, refreshed every few seconds (videos appear as indexing completes them)."""
    line = gr.Markdown(elem_id="status")
    timer = gr.Timer(REFRESH_S)
    timer.tick(ctx.status_line, None, line, api_visibility="private", show_progress="hidden")
    return line
