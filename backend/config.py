"""All settings of the pipeline in one typed object, read once and passed down.

Every stage receives only its own section (``settings.asr``, ``settings.ocr`` ...). The command
line and the app build one :class:`Settings` (defaults, then environment, then flags) and never
read the environment anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

#: The folder the README names as the default store (relative to the working directory).
DEFAULT_STORE = "data/store"
STORE_ENV = "VIDEOSEARCH_STORE"


@dataclass(frozen=True)
class FrameSettings:
    """How frames are sampled from a video."""

    every_s: float = 1.0  # one frame per this many seconds, plus scene changes
    scene_threshold: float = 27.0  # PySceneDetect ContentDetector threshold
    # Mean abs difference (0-255) of 32x32 grey thumbnails under which a frame repeats the last
    # kept one. Low, because a change of on-screen text alone moves it little (counter.mp4: 1.84).
    near_duplicate_diff: float = 1.5
    max_frames: int = 600  # cap per video; sampling spreads out evenly past it
    analysis_width: int = 256  # frames are downscaled to this width for scene detection


@dataclass(frozen=True)
class AsrSettings:
    """Speech recognition with faster-whisper (CTranslate2)."""

    model: str = "tiny.en"  # "tiny.en", "base" (packaged), a local CTranslate2 folder or a hub name
    beam_size: int = 5
    vad: bool = True
    language: str | None = None  # None: detect
    cpu_threads: int = 2
    compute_type: str = "int8"
    # A segment this likely to be non-speech and this unsure is dropped (hallucination guard);
    # below max_no_speech_prob it takes a lower avg_logprob (backend.ingest.asr.is_hallucination).
    max_no_speech_prob: float = 0.4
    min_avg_logprob: float = -0.7


@dataclass(frozen=True)
class OcrSettings:
    """On-screen text recognition on sampled frames."""

    engine: Literal["rapidocr", "easyocr"] = "rapidocr"
    min_score: float = 0.5
    languages: tuple[str, ...] = ("en",)
    # Re-read a frame where no word was found on a contrast-equalised copy (CLAHE): finds
    # low-contrast scene text the detector misses (backend.ingest.ocr.second_look).
    second_look: bool = True
    # Video frames are read incrementally (backend.ingest.ocr.incremental): text is detected
    # where the picture changed and recognised only where it is new. False: every sampled frame
    # is read whole at its own resolution (the slower path, kept for comparison).
    incremental: bool = True
    # Incremental reading detects text at the frame's own resolution on the first frame, every
    # this many frames, and (if full_on_scene_changes) on scene changes; in between at a short
    # side of coarse_side pixels, plus its own resolution where small text was. Fewer full
    # frames or a smaller coarse side cost less CPU and find small text later or not at all.
    full_resolution_every: int = 4
    full_on_scene_changes: bool = True
    coarse_side: int = 320
    # What runs RapidOCR's text detector and recogniser (backend.ingest.runtimes): "auto" is
    # OpenVINO in bfloat16 where the CPU computes bfloat16 natively (1.5x and 1.7x faster there;
    # together nine tenths of OCR's CPU), otherwise onnxruntime; "onnx" and "openvino" pin one.
    runtime: Literal["auto", "onnx", "openvino"] = "auto"


@dataclass(frozen=True)
class TileSettings:
    """How the frame tagger's tiles are laid out and which of their labels count.

    Chosen on the corpus with ``bench/vision_signal.py``. Tiles of half the short side,
    overlapping by half, are the only layout that finds the parakeet (a sixth of the frame wide);
    two-thirds tiles and non-overlapping ones miss it. On partial crops, object labels are mostly
    texture confusions ("Band-Aid" 0.86 on a flyer, "ring binder" 0.93 on a gym wall) that cost
    other queries their rank, so tiles speak only of animals and people (``vocabulary="living"``).
    Measured: the parakeet query's video rises from rank 22 of 48 to 3; fifteen other visual
    queries keep their MRR (0.80), which falls to 0.73 when tiles may use every label.
    """

    scale: float = 0.5  # tile side as a fraction of the frame's short side; 0: no tiles
    overlap: float = 0.5
    min_score: float = 0.5  # a tile sees less context than the frame, so it must be surer
    margin: float = 0.25  # a whole-frame label comes back for a tile only this much surer
    vocabulary: Literal["living", "all"] = "living"


@dataclass(frozen=True)
class VisionSettings:
    """What the frames show, as words (an image classifier whose weights ship in a package)."""

    enabled: bool = True
    top_k: int = 3
    min_score: float = 0.15
    tiles: TileSettings = field(default_factory=TileSettings)
    window_s: float = 10.0  # one tag per label per this many seconds, at its best frame
    # The classifier looks at a sampled frame only this long after the last one it looked at,
    # or at a scene change (0: every sampled frame). Measured on the corpus (bench.corpus,
    # bench.image_queries): 2.0 halves vision's CPU (12.3 -> 7.0 s per minute of video; ingest
    # 16.2 -> 13.4 s wall per minute) and the picture tokens, but picture queries find their
    # video less often (R@1 0.937 -> 0.913) and their moment less precisely, so it is off.
    every_s: float = 0.0
    # What runs the classifier (backend.ingest.vision.classifier): "auto" is OpenVINO in
    # bfloat16 where the CPU computes bfloat16 natively (vision 1.7x faster there), otherwise
    # onnxruntime in float32; "onnx", "openvino" and "torch" pin one.
    runtime: Literal["auto", "onnx", "openvino", "torch"] = "auto"


@dataclass(frozen=True)
class EncoderSettings:
    """Which encoder turns queries and videos into token vectors."""

    name: Literal["default", "clamr"] = "default"
    model: str | None = None  # clamr: base model name or local path
    # LoRA adapter: default: a folder `backend train` wrote; clamr: a hub name or local path
    adapter: str | None = None
    device: str = "auto"  # "auto", "cpu", "cuda"
    load_in_4bit: bool = False
    batch_size: int = 32
    # What runs the default encoder's MiniLM: "auto" is onnxruntime (the same vectors as torch
    # for a third of a query's CPU: backend.encoders.default.onnx_states), torch if it fails.
    runtime: Literal["auto", "onnx", "torch"] = "auto"


@dataclass(frozen=True)
class SearchSettings:
    """Ranking, and the fast path (``backend.search.index``); the defaults were chosen by
    ``python -m backend bench search`` (see docs/search_scale.md)."""

    k: int = 10
    mode: Literal["modality_max", "token_max"] = "modality_max"
    moment_window_s: float = 2.0  # the best moment is the best-scoring window of this width
    exact: bool = False  # True: exact MaxSim over every float32 token, no index
    # Collections with fewer tokens are searched exactly: it is fast there, and no index is kept.
    fast_min_tokens: int = 100_000
    precision: Literal["float32", "float16", "int8", "binary"] = "int8"  # index vectors
    pool_threshold: float | None = None  # merge neighbouring tokens above this cosine
    n_centroids: int | None = None  # None: a power of two near 2.5 * sqrt(tokens)
    nprobe: int = 64  # centroids probed per query token
    n_candidates: int = 128  # videos re-scored exactly: at least this, 2 * k, and ...
    rescore_tokens: int = 32_768  # ... as many videos as hold about this many tokens
    index_dir: str | None = None  # where indexes of a remote (URI) store are kept
    threads: int | None = 1  # threads for a search's small matrix products (None: as set)
    # "cuda" (or "cpu"): exact MaxSim with every token resident on that device
    # (backend.search.resident), for any collection size; None: the paths above.
    device: str | None = None
    resident_precision: Literal["float16", "int8"] = "float16"  # int8: half the memory


@dataclass(frozen=True)
class RaySettings:
    """Ingest on a Ray cluster (``index --ray``): workers ingest and encode, one writer commits."""

    enabled: bool = False
    address: str | None = None  # None: start a local cluster; "auto" or "ray://host:10001": join
    workers: int = 2  # ingest workers (each loads the ASR, OCR, vision and encoder models)
    cpus_per_worker: float = 1.0
    max_attempts: int = 3  # a video whose worker died is tried again, up to this many times
    in_flight_per_worker: int = 2  # videos queued per worker (keeps workers busy between commits)


@dataclass(frozen=True)
class IngestSettings:
    """How the ingest stages share the CPU (backend.ingest.pipeline)."""

    # ASR, OCR and vision of a video run side by side, and the next video is decoded while this
    # one is analysed, encoded and stored. False: one stage after another, each model using
    # every core (the slower path, kept for comparison).
    parallel_stages: bool = True
    # Intra-op threads per model when stages run side by side: three stages of one thread
    # each, plus a decode, keep two cores busy without oversubscribing them.
    threads_per_stage: int = 1
    # Nice value of the threads that run the stages (backend.ingest.priority): a search in the
    # same process goes first. 0: the caller's priority.
    nice: int = 10
    # Files after the next one are read ahead too while the files read ahead come to less than
    # this many seconds of video (their frames wait in memory): short files end unevenly, and a
    # third one in flight fills the core a finished stage frees (corpus ingest, alternating
    # runs: 11.0-11.4 against 11.5-11.9 s per minute of video). 0: the next file only.
    read_ahead_s: float = 120.0


@dataclass(frozen=True)
class Settings:
    store: str = DEFAULT_STORE  # a local folder or any URI LanceDB accepts
    frames: FrameSettings = field(default_factory=FrameSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    ocr: OcrSettings = field(default_factory=OcrSettings)
    vision: VisionSettings = field(default_factory=VisionSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    ray: RaySettings = field(default_factory=RaySettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(store=env.get(STORE_ENV, DEFAULT_STORE))

    def with_store(self, store: str | Path | None) -> Settings:
        return self if store is None else replace(self, store=str(store))
