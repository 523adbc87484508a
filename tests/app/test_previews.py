"""Playable previews of uploads browsers cannot play."""

from __future__ import annotations

from pathlib import Path

import av

from app.previews import MAX_PREVIEW_S, make_preview


def test_an_mpeg1_clip_becomes_a_small_h264_mp4(shared_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "previews" / "clip.mp4"
    assert make_preview(shared_data / "corpus/grid_lipnet/bbaf2n.mpg", target, 3.0) is None
    with av.open(str(target)) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
        assert codecs == {"video": "h264", "audio": "aac"}
        assert container.streams.video[0].height <= 480
    assert not list(target.parent.glob("*.partial.mp4"))


def test_no_preview_for_what_cannot_or_should_not_be_made(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mpg"
    broken.write_bytes(b"not a video")
    assert "could not be made" in make_preview(broken, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert "longer than" in make_preview(broken, tmp_path / "out.mp4", MAX_PREVIEW_S + 1)
