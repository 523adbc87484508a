"""Hugging Face Spaces entry point: the same app as ``python -m app``.

Settings come from the environment (the Space's variables and secrets), see ``app/settings.py``;
Spaces sets ``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT``, which the app honours.
"""

from app.main import demo, launch

__all__ = ["demo"]

if __name__ == "__main__":
    launch()
