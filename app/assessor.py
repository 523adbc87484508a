"""Who is judging: the logged-in user when the app has passwords, else a name typed once.

The typed name is kept in the browser (``gr.BrowserState``: localStorage), so a reload or an app
restart does not ask again, and two browsers are two assessors. Every label carries it.
"""

from __future__ import annotations

import gradio as gr

from app import validate

#: Where the browser keeps the name (the value is a name, not a secret).
STORAGE_KEY = "videosearch-assessor"
MAX_NAME_CHARS = 64


def logged_in(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request else ""


def assessor_of(typed: str | None, request: gr.Request | None, fallback: str = "") -> str:
    """The logged-in user, else the typed name, else ``fallback``; "" if none of them."""
    name = logged_in(request) or validate.text(typed, "Your name", MAX_NAME_CHARS).strip()
    return " ".join(name.split()) or fallback


def build(blocks: gr.Blocks) -> gr.Textbox:
    """The name box (restored from the browser on load; fixed when logged in)."""
    with gr.Row(equal_height=True):
        box = gr.Textbox(
            label="Assessor",
            placeholder="your name, once",
            max_lines=1,
            elem_id="assessor",
            scale=1,
            min_width=180,
        )
        gr.Markdown(
            "Every label carries this name (the login, when the app has passwords). Grade "
            "results on their cards, in **Label**, or build a test collection in **Judge**.",
            elem_id="assessor-help",
        )
    saved = gr.BrowserState("", storage_key=STORAGE_KEY, secret=STORAGE_KEY)

    def restore(name: str | None, request: gr.Request):
        user = logged_in(request)
        if user:
            return gr.Textbox(value=user, interactive=False, info="logged in")
        return name or ""

    blocks.load(restore, saved, box, api_visibility="private", show_progress="hidden")
    box.change(lambda name: name, box, saved, api_visibility="private", show_progress="hidden")
    return box
