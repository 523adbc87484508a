"""The search index of one store: parts on disk, kept in step with the store's complete videos.

The index is derived data (the store's ``tokens`` table stays the truth), kept beside the store
in a folder named after its settings. It follows the store without rebuilding everything:

- videos that became complete since the last look get a new part (their tokens, assigned to
  the existing centroids), so adding one video to a 10,000-video store costs one small part;
- videos that are gone are masked out at once, and dropped from disk at the next rebuild;
- a full rebuild (one part, centroids retrained) happens when there are too many parts, too much
  is masked, or the collection has grown four times past what the centroids were trained on.

Every change is written to new folders first and published by replacing ``index.json``, under a
file lock, so a reader sees the old index or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from backend.search.index.builder import PartWriter
from backend.search.index.codecs import Precision
from backend.search.index.kmeans import auto_n_centroids, train_centroids
from backend.search.index.part import Part
from backend.search.index.view import IndexView

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "index.json"
#: Reads the store's token rows as Arrow batches; ``None`` means all rows.
TokenSource = Callable[[Sequence[str] | None], Iterable[pa.RecordBatch]]


@dataclass(frozen=True)
class IndexSettings:
    """What an index is built with; a different value is a different index (folder)."""

    precision: Precision = "int8"
    pool_threshold: float | None = None  # cosine above which neighbouring tokens merge
    n_centroids: int | None = None  # None: about 2.5 * sqrt(tokens), a power of two
    sample_per_centroid: int = 32  # training vectors per centroid
    kmeans_iterations: int = 8
    max_parts: int = 8
    max_masked_share: float = 0.3
    retrain_growth: float = 4.0

    @property
    def name(self) -> str:
        pool = "nopool" if self.pool_threshold is None else f"pool{self.pool_threshold:g}"
        centroids = "auto" if self.n_centroids is None else str(self.n_centroids)
        return f"{self.precision}-{pool}-c{centroids}"


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One writer at a time per index folder (other processes wait)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # no flock (Windows): one process per store is assumed
            pass
        yield


class SearchIndex:
    """Open with a folder and settings; :meth:`refresh`, then search its :attr:`view`."""

    def __init__(self, root: Path, settings: IndexSettings, dim: int) -> None:
        self.root = Path(root)
        self.settings = settings
        self.dim = dim
        self.parts: list[Part] = []
        self.centroids: np.ndarray | None = None  # (C, D) float32
        self.view: IndexView | None = None  # what searches read; replaced whole on refresh
        self._manifest: dict | None = None

    # ----------------------------------------------------------------- keeping up
    def refresh(self, live_ids: Sequence[str], tokens: TokenSource, n_tokens: int) -> None:
        """Make the index cover exactly ``live_ids`` (complete videos, ``n_tokens`` in all)."""
        live = set(live_ids)
        with _locked(self.root):
            manifest = self._read_manifest()
            if manifest is None or manifest["settings"] != asdict(self.settings):
                self._rebuild(live, tokens, n_tokens, retrain=True)
            else:
                self._open(manifest)
                indexed = {v for part in self.parts for v in part.video_ids}
                new = live - indexed
                masked = len(indexed - live) / max(1, len(indexed))
                grown = n_tokens > self.settings.retrain_growth * manifest["trained_tokens"]
                if (
                    grown
                    or masked > self.settings.max_masked_share
                    or (new and len(self.parts) >= self.settings.max_parts)
                ):
                    self._rebuild(live, tokens, n_tokens, retrain=grown)
                elif new:
                    self._add_part(sorted(new), tokens)
        masks = [np.array([v in live for v in p.video_ids], bool) for p in self.parts]
        self.view = IndexView(tuple(self.parts), tuple(masks), self.centroids)

    def _read_manifest(self) -> dict | None:
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        manifest = json.loads(path.read_text())
        return manifest if manifest.get("format") == FORMAT else None

    def _open(self, manifest: dict) -> None:
        if manifest == self._manifest:
            return
        self._manifest = manifest
        self.parts = [Part.open(self.root / name) for name in manifest["parts"]]
        self.centroids = np.load(self.root / manifest["centroids"])

    def _publish(self, manifest: dict, old: dict | None = None) -> None:
        temporary = self.root / f"{MANIFEST}.tmp"
        temporary.write_text(json.dumps(manifest, indent=1))
        os.replace(temporary, self.root / MANIFEST)
        if old is not None:  # open memory maps of other readers stay valid (POSIX)
            for name in set(old["parts"]) - set(manifest["parts"]):
                shutil.rmtree(self.root / name, ignore_errors=True)
            if old["centroids"] != manifest["centroids"]:
                (self.root / old["centroids"]).unlink(missing_ok=True)
        self._manifest = None
        self._open(manifest)

    def _next_name(self, manifest: dict | None) -> str:
        number = (manifest or {}).get("next_part", 0)
        return f"part-{number:06d}"

    def _writer(self, name: str, sample_rate: float) -> PartWriter:
        return PartWriter(
            self.root / name,
            self.dim,
            self.settings.precision,
            self.settings.pool_threshold,
            sample_rate=sample_rate,
        )

    def _rebuild(self, live: set[str], tokens: TokenSource, n_tokens: int, retrain: bool) -> None:
        start = time.perf_counter()
        old = self._read_manifest()
        retrain = retrain or old is None or old["settings"] != asdict(self.settings)
        n_centroids = self.settings.n_centroids or auto_n_centroids(n_tokens)
        wanted = n_centroids * self.settings.sample_per_centroid
        name = self._next_name(old)
        writer = self._writer(name, min(1.0, wanted / max(1, n_tokens)) if retrain else 0.0)
        writer.add_all(tokens(None), live)
        if retrain:
            centroids = self._train(writer.training_sample(), n_centroids, wanted)
            centroids_file, trained = f"centroids-{name}.npy", n_tokens
            np.save(self.root / centroids_file, centroids)
        else:
            self._open(old)
            centroids, trained = self.centroids, old["trained_tokens"]
            centroids_file = old["centroids"]
        writer.finish(centroids, sorted(live))
        manifest = {
            "format": FORMAT,
            "settings": asdict(self.settings),
            "dim": self.dim,
            "centroids": centroids_file,
            "trained_tokens": trained,
            "parts": [name],
            "next_part": (old or {}).get("next_part", 0) + 1,
        }
        self._publish(manifest, old)
        log.info(
            "search index rebuilt: %d videos in %.1f s", len(live), time.perf_counter() - start
        )

    def _train(self, sample: np.ndarray, n_centroids: int, wanted: int) -> np.ndarray:
        if len(sample) == 0:  # nothing indexed yet: any one direction will do
            sample = np.eye(1, self.dim, dtype=np.float32)
        if len(sample) > wanted:
            sample = sample[np.random.default_rng(0).choice(len(sample), wanted, replace=False)]
        n_centroids = max(1, min(n_centroids, len(sample) // 4))
        return train_centroids(sample, n_centroids, self.settings.kmeans_iterations)

    def _add_part(self, video_ids: list[str], tokens: TokenSource) -> None:
        manifest = self._read_manifest()
        name = self._next_name(manifest)
        writer = self._writer(name, 0.0)
        writer.add_all(tokens(video_ids), set(video_ids))
        writer.finish(self.centroids, video_ids)
        manifest = {
            **manifest,
            "parts": [*manifest["parts"], name],
            "next_part": manifest["next_part"] + 1,
        }
        self._publish(manifest)
