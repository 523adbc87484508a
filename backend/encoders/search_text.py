"""One normalisation of words for matching, used on both sides: documents and queries.

Speech recognisers and OCR write numbers as digits and glue letters to them ("F2", "K7"), while
people type "f two"; the same words must meet in the same tokens. So each word is split at
letter/digit boundaries and numbers are written out. BM25 uses the same function, so the two
searches compare on equal terms.

>>> normalise_word("F2")
'f two'
>>> normalise_word("22")
'twenty-two'
>>> normalise_word("Hello,")
'hello,'
>>> split_words("Frame = 22  PTS")
['Frame', '=', '22', 'PTS']
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

_LETTER_DIGIT_BOUNDARY = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MAX_SPELLED_DIGITS = 9  # longer digit runs (ids, phone numbers) stay digits


def split_words(text: str) -> list[str]:
    """Whitespace-separated words, as displayed."""
    return text.split()


def _spell_number(match: re.Match[str]) -> str:
    digits = match.group(0)
    if len(digits.replace(".", "").replace(",", "")) > _MAX_SPELLED_DIGITS:
        return digits
    try:
        if "," in digits and "." not in digits and len(digits.split(",")[-1]) == 3:
            return num2words(int(digits.replace(",", "")))
        return num2words(float(digits.replace(",", ".")) if "." in digits else int(digits))
    except (ValueError, OverflowError):
        return digits


def normalise_word(word: str) -> str:
    """Lower-case, unicode-normalised, numbers spelled out, letters and digits apart."""
    word = unicodedata.normalize("NFKC", word).lower()
    word = _LETTER_DIGIT_BOUNDARY.sub(" ", word)
    return _NUMBER.sub(_spell_number, word)


def normalise_text(text: str) -> str:
    return " ".join(normalise_word(w) for w in split_words(text))
