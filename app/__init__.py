"""The browser app (Gradio): search with explanations, upload and index, label relevance.

``python -m app [--store DIR] [--port N] [--host H]``; ``app.main.demo`` is the Blocks object.
"""
