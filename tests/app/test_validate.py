"""What the API accepts: each wrong value gets a message that says what was expected."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from app import validate


def test_text_and_queries_have_a_type_and_a_length() -> None:
    assert validate.query("  rain  ") == "rain" and validate.query(None) == ""
    with pytest.raises(gr.Error, match="The query: expected text, got int"):
        validate.query(5)
    with pytest.raises(gr.Error, match="100,000 characters long; at most 1,000"):
        validate.query("x" * 100_000)
    with pytest.raises(gr.Error, match="NUL"):
        validate.text("a\x00b", "The description")


def test_numbers_are_numbers_in_their_range() -> None:
    assert validate.number(3, "Epochs", 1, 10, integer=True) == 3
    assert validate.number(2.0, "Epochs", 1, 10, integer=True) == 2
    for wrong in (True, "3", None, [3], float("nan"), float("inf"), 0, 11, 2.5):
        with pytest.raises(gr.Error, match="Epochs"):
            validate.number(wrong, "Epochs", 1, 10, integer=True)
    assert validate.optional_number(None, "The moment", 0, 10) is None


def test_ids_have_their_format_and_must_exist() -> None:
    known = {"65c664db8ff012f8f79b6af1741f75ef"}
    assert validate.video_id(next(iter(known)), known.__contains__) in known
    for path_like in ("../x", "/etc/passwd", "a b", "'; --", "x" * 129):
        with pytest.raises(gr.Error, match=r"is not a valid id|characters long"):
            validate.video_id(path_like, known.__contains__)
    with pytest.raises(gr.Error, match="not in the collection"):
        validate.video_id("0" * 32, known.__contains__)
    with pytest.raises(gr.Error, match="expected text"):
        validate.video_id(12, known.__contains__)
    assert validate.version_name("v12") == "v12" and validate.version_name("") == ""
    with pytest.raises(gr.Error, match="like v0 or v1"):
        validate.version_name("v0/../..")


def test_only_files_gradio_received_are_taken(tmp_path: Path) -> None:
    root = tmp_path / "gradio"
    (root / "abc").mkdir(parents=True)
    inside = root / "abc" / "clip.mp4"
    inside.write_bytes(b"x")
    assert validate.uploaded_files([str(inside)], root) == [inside]
    assert validate.uploaded_files(None, root) == []
    for outside in ("/etc/passwd", str(root / ".." / "clip.mp4"), str(tmp_path)):
        with pytest.raises(gr.Error, match="not a file uploaded to this app"):
            validate.uploaded_files([outside], root)
    with pytest.raises(gr.Error, match="expected a list"):
        validate.uploaded_files([5], root)
