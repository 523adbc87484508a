"""A short text about a video from what people wrote about it: its title, comment and file name.

File names are often the only words a video comes with (``big_buck_bunny_0_30.webm``,
``myHolidayVideo.mp4``), so they are split into words; tokens that are ids rather than words
(``d41d8cd98f00b204``, a YouTube id such as ``zlmxeeMOGVQ``, ``bbaf2n``) are dropped.

>>> describe_name("myHolidayVideo_2019-d41d8cd98f00b204e9800998ecf8427e.mp4")
'my Holiday Video 2019'
>>> describe_name("big_buck_bunny_0_30.webm")
'big buck bunny 0 30'
"""

from __future__ import annotations

import re
from pathlib import PurePath

from backend.ingest.types import VideoProbe

_SEPARATORS = re.compile(r"[\W_]+")  # anything but letters and digits, in any script
_CAMEL = (
    re.compile(r"(?<=[a-z])(?=[A-Z])"),  # myHoliday -> my Holiday
    re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])"),  # HTTPServer -> HTTP Server
)
_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]{8,}", re.IGNORECASE)
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9]{11}")
_EPISODE = re.compile(r"s\d+e\d+", re.IGNORECASE)
_MAX_FIELD = 300  # characters kept from one metadata field: a description, not a transcript


def describe(probe: VideoProbe, user_text: str | None = None) -> str:
    """Title, comment, file name in words and the user's text, each once, joined with ". "."""
    parts: list[tuple[str, str]] = []  # (text, comparison key)
    for text in (probe.title, probe.comment, describe_name(probe.path.name), user_text):
        text = _clean(text)
        key = _key(text)
        # Skip what adds nothing: a title that is just the file name, a comment that repeats it;
        # a later, longer text replaces an earlier one it contains.
        if not key.strip() or any(key in earlier for _, earlier in parts):
            continue
        parts = [(part, earlier) for part, earlier in parts if earlier not in key]
        parts.append((text, key))
    return ". ".join(part for part, _ in parts)


def describe_name(file_name: str) -> str:
    """The words in a file name: extension dropped, split on ``_ - .`` and camelCase, ids dropped.

    Letters and digits stay together (``S01E02``, ``1080p``, ``video7020``): apart they mean less.
    """
    words: list[str] = []
    for token in _SEPARATORS.split(_UUID.sub(" ", PurePath(file_name).stem)):
        if token and not _looks_like_id(token):
            words.extend(_split_camel(token))
    return " ".join(words)


def _split_camel(token: str) -> list[str]:
    for boundary in _CAMEL:
        token = boundary.sub(" ", token)
    return token.split()


def _looks_like_id(token: str) -> bool:
    """Whether a file-name token is a hash or an id rather than words or a number."""
    if token.isdigit() or _EPISODE.fullmatch(token):
        return False  # years, dates, episode numbers carry meaning
    if _HEX.fullmatch(token) and any(c.isdigit() for c in token):
        return True  # hashes and UUID pieces
    runs = re.findall(r"[^\W\d_]+|\d+", token)
    if len(runs) >= 3 and len(token) >= 4:
        return True  # letters and digits interleaved: "bbaf2n", "a1b2c3"
    # 11 characters (a YouTube id) with capitals or digits mid-way: "zlmxeeMOGVQ"
    return bool(_YOUTUBE_ID.fullmatch(token) and re.search(r"[a-z][A-Z]{2,}|\d", token))


def _clean(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text[:_MAX_FIELD].rstrip(" .")


def _key(text: str) -> str:
    """What texts are compared on: their words, lower-case, padded so ``in`` matches whole words."""
    words = [word.lower() for token in _SEPARATORS.split(text) for word in _split_camel(token)]
    return " " + " ".join(words) + " "
