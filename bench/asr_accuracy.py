"""Word error rate and speed of speech recognition on the shared English recordings.

    python -m bench.asr_accuracy                      # tiny.en and base, beam size from settings
    python -m bench.asr_accuracy --model tiny.en --beam-size 1 5

Reads ``asr/references.jsonl`` in the shared test material: every English file with a full
reference (not a substring, not a negative), the stereo file channel by channel, and the GRID
talking-face videos in ``corpus/grid_lipnet/``. Prints one row per file and model, then the mean
WER per model, then what each model says on the no-speech recordings (it should say nothing).
Timings are wall-clock on a shared CPU: compare them within one run only.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jiwer
import numpy as np
from num2words import num2words

from backend.config import AsrSettings
from backend.ingest.asr import SAMPLE_RATE, SpeechRecognizer

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NEGATIVES_DIR = "asr/negatives"

# Spoken forms of written abbreviations, so "Mr." and "mister" count as the same word.
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def normalise(text: str) -> str:
    """Text as words only, so that WER counts words misheard, not spelling conventions.

    Lowercase; numbers written out (``num2words``, also inside "K7" or "4th"); punctuation and
    hyphens removed; a few abbreviations spelled as spoken.

    >>> normalise("Set white in Z3, please. Mr. Smith's 21st cold-hearted 1,000%!")
    'set white in z three please mister smiths twenty first cold hearted one thousand percent'
    """
    text = text.lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(
        r"(\d+)(st|nd|rd|th)\b", lambda m: f" {num2words(int(m[1]), to='ordinal')} ", text
    )
    text = re.sub(
        r"\d+\.\d+|\d+", lambda m: f" {num2words(float(m[0]) if '.' in m[0] else int(m[0]))} ", text
    )
    text = text.replace("%", " percent ")
    text = re.sub(r"['’`]", "", text)  # don't -> dont on both sides
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(_ABBREVIATIONS.get(word, word) for word in text.split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of ``hypothesis`` against ``reference`` after :func:`normalise` on both.

    >>> word_error_rate("Go forward ten meters.", " Go forward 10 meters.")
    0.0
    >>> word_error_rate("five five", "")
    1.0
    """
    ref = normalise(reference)
    if not ref:
        raise ValueError(f"reference {reference!r} has no words")
    return float(jiwer.wer(ref, normalise(hypothesis)))


@dataclass(frozen=True)
class AsrSample:
    """One recording (or one channel of it) with what is said in it."""

    name: str  # path under the data folder, plus [left]/[right] for a stereo channel
    path: Path
    reference: str
    channel: int | None = None  # 0 left, 1 right; None: mixed down to mono


def load_samples(data_dir: Path = DEFAULT_DATA, *, grid: bool = True) -> list[AsrSample]:
    """English recordings of ``asr/references.jsonl`` whose reference is a full transcript."""
    samples = []
    for line in (data_dir / "asr" / "references.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        rel, reference = entry["path"], entry.get("reference", "")
        if (
            entry.get("language") != "en"
            or rel.startswith(NEGATIVES_DIR)
            or entry.get("reference_kind", "").startswith("only a substring")
            or reference.startswith("(")
            or (not grid and rel.startswith("corpus/"))
        ):
            continue
        if reference.startswith("LEFT:"):  # one speaker per channel
            left, right = reference.removeprefix("LEFT:").split("| RIGHT:")
            samples.append(AsrSample(f"{rel} [left]", data_dir / rel, left.strip(), 0))
            samples.append(AsrSample(f"{rel} [right]", data_dir / rel, right.strip(), 1))
        else:
            samples.append(AsrSample(rel, data_dir / rel, reference))
    return samples


def negative_files(data_dir: Path = DEFAULT_DATA) -> list[Path]:
    """Recordings without speech: a correct recogniser returns no words on them."""
    return sorted(p for p in (data_dir / NEGATIVES_DIR).iterdir() if p.is_file())


def load_audio(sample: AsrSample | Path) -> np.ndarray:
    """16 kHz mono float32, from any container ffmpeg reads (the .mpg videos too)."""
    from faster_whisper import decode_audio

    if isinstance(sample, Path):
        return decode_audio(str(sample), sampling_rate=SAMPLE_RATE)
    if sample.channel is None:
        return decode_audio(str(sample.path), sampling_rate=SAMPLE_RATE)
    channels = decode_audio(str(sample.path), sampling_rate=SAMPLE_RATE, split_stereo=True)
    return channels[sample.channel]


@dataclass(frozen=True)
class Result:
    label: str  # model and beam size
    sample: AsrSample
    hypothesis: str
    wer: float
    seconds: float
    audio_s: float

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.audio_s if self.audio_s else float("nan")


def evaluate(
    recognizer: SpeechRecognizer, samples: Sequence[AsrSample], label: str
) -> list[Result]:
    results = []
    for sample in samples:
        audio = load_audio(sample)
        start = time.perf_counter()
        transcript = recognizer.transcribe(audio)
        seconds = time.perf_counter() - start
        wer = word_error_rate(sample.reference, transcript.text)
        audio_s = audio.shape[0] / SAMPLE_RATE
        results.append(Result(label, sample, transcript.text, wer, seconds, audio_s))
    return results


def format_table(results: Sequence[Result], width: int = 44) -> str:
    def cut(text: str) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    header = f"{'model':<14} {'file':<44} {'reference':<{width}} {'hypothesis':<{width}}"
    lines = [header + f" {'WER':>6} {'sec':>6} {'RTF':>5}"]
    for r in results:
        rtf = r.real_time_factor
        lines.append(
            f"{r.label:<14} {r.sample.name[-44:]:<44} {cut(r.sample.reference):<{width}} "
            f"{cut(r.hypothesis):<{width}} {r.wer:>6.1%} {r.seconds:>6.2f} {rtf:>5.2f}"
        )
    return "\n".join(lines)


def format_summary(results: Sequence[Result]) -> str:
    lines = [f"{'model':<14} {'group':<6} {'files':>5} {'mean WER':>9} {'sec':>7} {'RTF':>5}"]
    for label in dict.fromkeys(r.label for r in results):
        mine = [r for r in results if r.label == label]
        groups = {
            "asr": [r for r in mine if not r.sample.name.startswith("corpus/")],
            "grid": [r for r in mine if r.sample.name.startswith("corpus/")],
            "all": mine,
        }
        for group, rows in groups.items():
            if rows:
                wer = sum(r.wer for r in rows) / len(rows)
                seconds = sum(r.seconds for r in rows)
                rtf = seconds / sum(r.audio_s for r in rows)
                lines.append(
                    f"{label:<14} {group:<6} {len(rows):>5} {wer:>9.1%} {seconds:>7.1f} {rtf:>5.2f}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--beam-size", nargs="+", type=int, default=[AsrSettings().beam_size])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared test material")
    parser.add_argument("--no-grid", action="store_true", help="skip the GRID videos")
    args = parser.parse_args(argv)

    samples = load_samples(args.data, grid=not args.no_grid)
    negatives = negative_files(args.data)
    results: list[Result] = []
    silent_lines = []
    for model in args.model:
        recognizer = SpeechRecognizer(AsrSettings(model=model))
        load_start = time.perf_counter()
        recognizer.transcribe(load_audio(samples[0]))  # load and warm up, untimed below
        print(f"{model}: loaded and warmed up in {time.perf_counter() - load_start:.1f} s")
        for beam in args.beam_size:
            recognizer.settings = replace(recognizer.settings, beam_size=beam)
            label = f"{model} b{beam}"
            rows = evaluate(recognizer, samples, label)
            print(format_table(rows), end="\n\n", flush=True)
            results += rows
            for path in negatives:
                text = recognizer.transcribe(load_audio(path)).text
                silent_lines.append(
                    f"{label:<14} {path.name:<14} {len(text.split())} words {text!r}"
                )
    print("Mean word error rate (per file), total seconds, real-time factor:")
    print(format_summary(results))
    print("\nNo-speech recordings (want 0 words):")
    print("\n".join(silent_lines))


if __name__ == "__main__":
    main()
