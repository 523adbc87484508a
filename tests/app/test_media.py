"""Which uploads are accepted, where they are kept, and which files may be served."""

from __future__ import annotations

import os
from pathlib import Path

from app.media import check_upload, keep_upload, served_path
from tests.helpers import fresh_processes

MB = 2**20


def test_uploads_are_refused_with_a_reason_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "big.mkv").write_bytes(b"\0" * (2 * MB))
    (tmp_path / "clip.MP4").write_bytes(b"\0" * 10)
    assert "notes.txt: not a video file (.txt)" in check_upload(tmp_path / "notes.txt", MB)
    assert "empty.mp4: the file is empty" in check_upload(tmp_path / "empty.mp4", MB)
    big = check_upload(tmp_path / "big.mkv", MB)
    assert "big.mkv: 2 MB is over the upload limit of 1 MB" in big
    assert "VIDEOSEARCH_MAX_UPLOAD_MB" in big
    assert check_upload(tmp_path / "clip.MP4", MB) is None  # broken streams: the indexer says
    assert "did not arrive" in check_upload(tmp_path / "gone.mp4", MB)


def test_kept_uploads_keep_their_name_and_never_overwrite(tmp_path: Path) -> None:
    uploads = tmp_path / "media"
    first, second = tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"
    for path, data in ((first, b"one"), (second, b"two")):
        path.parent.mkdir()
        path.write_bytes(data)
    assert keep_upload(first, uploads) == (uploads / "clip.mp4", True)
    assert keep_upload(second, uploads) == (uploads / "clip-1.mp4", True)
    assert keep_upload(first, uploads) == (uploads / "clip.mp4", False)  # same bytes: reused
    assert (uploads / "clip-1.mp4").read_bytes() == b"two"


def test_only_files_inside_the_served_folders_are_served(tmp_path: Path) -> None:
    served, secret = tmp_path / "media", tmp_path / "store"
    served.mkdir()
    secret.mkdir()
    (served / "ok.mp4").write_bytes(b"x")
    (secret / "meta.lance").write_bytes(b"x")
    os.symlink(secret / "meta.lance", served / "link.mp4")
    dirs = [served.resolve()]
    assert served_path(served / "ok.mp4", dirs) == (served / "ok.mp4").resolve()
    assert served_path(served / ".." / "store" / "meta.lance", dirs) is None
    assert served_path(served / "link.mp4", dirs) is None  # a link out is followed, then refused
    assert served_path(served, dirs) is None  # folders are never files to serve
    assert served_path(served / "missing.mp4", dirs) is None


def _keep(args: tuple[str, str]) -> tuple[str, bool]:
    path, uploads = args
    kept, copied = keep_upload(Path(path), Path(uploads))
    return str(kept), copied


def test_uploads_of_one_name_at_once_each_get_their_own_file(tmp_path: Path) -> None:
    """Eight processes at once keep different files of one name, then four the same bytes
    again: every file lands whole under its own name, nothing is overwritten, a repeat finds
    its copy, and no temporary file is left."""
    uploads = tmp_path / "media"
    sources = []
    for n in range(8):
        source = tmp_path / f"in{n}" / "clip.mp4"
        source.parent.mkdir()
        source.write_bytes(f"video {n} ".encode() * 50_000)
        sources.append(str(source))
    with fresh_processes(4) as pool:
        kept = list(pool.map(_keep, [(s, str(uploads)) for s in sources]))
        kept += pool.map(_keep, [(s, str(uploads)) for s in sources[:4]])
    names = {Path(path).name for path, _ in kept}
    assert names == {"clip.mp4", *(f"clip-{n}.mp4" for n in range(1, 8))}
    for (path, _), source in zip(kept, sources + sources[:4], strict=True):
        assert Path(path).read_bytes() == Path(source).read_bytes()
    assert sum(copied for _, copied in kept) == 8  # the repeats found their first copy
    assert sorted(p.name for p in uploads.iterdir()) == sorted(names)  # no .incoming-* left
