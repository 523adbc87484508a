"""describe: title, comment, file name in words and user text, once each."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from backend.ingest.description import describe, describe_name
from backend.ingest.probe import probe_video
from backend.ingest.types import VideoProbe


@pytest.fixture(scope="module")
def bunny(shared_data: Path) -> VideoProbe:
    return probe_video(shared_data / "corpus/moviepy/big_buck_bunny_432_433.webm")


def test_file_name_becomes_words(bunny: VideoProbe) -> None:
    assert describe(bunny) == "big buck bunny 432 433"


def test_title_and_user_text(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/moviepy/doc_medias_long_examples_example.mp4")
    text = describe(probe, "  a test card\n with a clock ")
    assert text == (
        "1024 x 768 25 fps Photo JPEG 75% - https://archive.org/details/VideoTestFiles. "
        "doc medias long examples example. a test card with a clock"
    )


def test_title_equal_to_file_name_is_said_once(bunny: VideoProbe) -> None:
    assert describe(replace(bunny, title="Big Buck Bunny 432-433")) == "Big Buck Bunny 432-433"


def test_title_containing_file_name_replaces_it(bunny: VideoProbe) -> None:
    probe = replace(bunny, title="Big Buck Bunny", comment="Big Buck Bunny, an open movie")
    assert describe(probe) == "Big Buck Bunny, an open movie. big buck bunny 432 433"


def test_comment_repeating_title_is_dropped(bunny: VideoProbe) -> None:
    probe = replace(bunny, title="Rabbit in the woods", comment="rabbit in the woods.")
    assert describe(probe) == "Rabbit in the woods. big buck bunny 432 433"


def test_id_only_name_gives_only_user_text(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/languagebind/zlmxeeMOGVQ.mp4")
    assert describe(probe) == ""
    assert describe(probe, "a cat") == "a cat"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("issue-134-rotate.mp4", "issue 134 rotate"),
        ("myHolidayVideo.mov", "my Holiday Video"),
        ("HTTPServer_demo.mkv", "HTTP Server demo"),
        ("Show.S01E02.1080p.x264.mkv", "Show S01E02 1080p x264"),
        ("IMG_20230115_123456.MOV", "IMG 20230115 123456"),
        ("café_à_paris.webm", "café à paris"),
        ("talk-d41d8cd98f00b204e9800998ecf8427e.mp4", "talk"),
        ("3f2a9c1b-7d4e-4f5a-9b8c-1d2e3f4a5b6c.mp4", ""),
        ("id2_vcd_swwp2s.mpg", "id2 vcd"),  # GRID's "swwp2s" is a code, not words
        ("bbaf2n.mpg", ""),
        ("zlmxeeMOGVQ.mp4", ""),  # a YouTube id
        ("no_extension", "no extension"),
    ],
)
def test_describe_name(name: str, words: str) -> None:
    assert describe_name(name) == words
