"""Browser-playable copies (H.264/AAC MP4) of uploads that browsers cannot play (.mpg, .avi ...).

Made once, after a file is indexed, into ``<uploads>/previews/<video_id>.mp4``; a result card
plays the preview when there is one. The index never depends on them: a failed preview only
means the card offers a download instead of a player.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

MAX_PREVIEW_S = 1800  # longer videos are not transcoded in the upload request
TIMEOUT_S = 300
# small and quick: at most 480 lines, H.264 + AAC, index at the front so playback starts at once
ENCODING = (
    "-vf scale=-2:'min(480,ih)' -c:v libx264 -preset veryfast -crf 28 -pix_fmt yuv420p "
    "-c:a aac -b:a 96k -movflags +faststart"
)


def ffmpeg() -> str | None:
    """Debian's ffmpeg, else the one imageio-ffmpeg ships (moviepy depends on it)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def preview_path(uploads_dir: Path, video_id: str) -> Path:
    return uploads_dir / "previews" / f"{video_id}.mp4"


def make_preview(source: Path, target: Path, duration_s: float | None = None) -> str | None:
    """Transcode ``source`` to a small MP4 at ``target``; returns why not, or None when made."""
    if duration_s is not None and duration_s > MAX_PREVIEW_S:
        return f"longer than {MAX_PREVIEW_S // 60} minutes: no preview (download to play it)"
    binary = ffmpeg()
    if binary is None:
        return "no ffmpeg to make a playable preview (download to play it)"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.mp4")
    command = [binary, "-nostdin", "-loglevel", "error", "-y", "-i", str(source)]
    command += [*ENCODING.split(), str(partial)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        partial.unlink(missing_ok=True)
        detail = getattr(error, "stderr", b"") or b""
        log.warning("preview of %s failed: %s %s", source, error, detail.decode(errors="replace"))
        return "a playable preview could not be made (download to play it)"
    partial.replace(target)  # appears complete or not at all
    return None
