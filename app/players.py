"""Where a stored video plays from in the browser: its own file if the app serves it and a
browser can play it, else the playable preview made at upload, else nowhere (a download)."""

from __future__ import annotations

from dataclasses import dataclass

from app.media import file_url, is_playable, served_path
from app.previews import preview_path
from app.settings import AppSettings


@dataclass(frozen=True)
class VideoSource:
    url: str | None  # relative to the page; None: the app does not serve the file
    playable: bool  # False: offer a download instead of a player


def video_source(settings: AppSettings, path: str, video_id: str) -> VideoSource:
    served = served_path(path, settings.served_dirs()) if path else None
    if served and not is_playable(served):  # a playable preview made at upload, if any
        preview = preview_path(settings.uploads_dir, video_id)
        served = served_path(preview, settings.served_dirs()) or served
    return VideoSource(file_url(served) if served else None, bool(served and is_playable(served)))
