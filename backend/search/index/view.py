"""A consistent snapshot of the index for searching: parts, which videos are live, centroids.

:meth:`SearchIndex.refresh` builds a new view and swaps it in whole, so a search that took a view
keeps reading one consistent index even while another thread refreshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.search.index.candidates import Probe, approximate_scores, top_candidates
from backend.search.index.part import Part
from backend.search.index.rescore import Rescored, rescore


@dataclass(frozen=True)
class IndexView:
    parts: tuple[Part, ...]
    live: tuple[np.ndarray, ...]  # per part: (V_part,) bool, the videos still in the store
    centroids: np.ndarray  # (C, D) float32
    _segment_ok: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_live_videos(self) -> int:
        return int(sum(mask.sum() for mask in self.live))

    def candidates(
        self,
        query: np.ndarray,
        nprobe: int,
        n: int,
        allowed: np.ndarray,
        by_video: bool,
        at_least: int = 1,
    ) -> list[np.ndarray]:
        """For each part, the local indices of the (at most) ``n`` most promising live videos.

        When the index holds at most ``n`` live videos, all of them are candidates; when fewer
        than ``at_least`` videos touch a probed centroid, others fill up to it.
        """
        if self.n_live_videos <= n:
            return [np.flatnonzero(mask) for mask in self.live]
        probe = Probe.of(query, self.centroids, nprobe)
        scored = [
            approximate_scores(part, probe, segment_ok, by_video)
            for part, segment_ok in zip(self.parts, self._segments_ok(allowed))
        ]
        return self._fill(top_candidates(scored, n), at_least)

    def _segments_ok(self, allowed: np.ndarray) -> list[np.ndarray]:
        """Per part, the segments of live videos in allowed modalities (cached per filter)."""
        key = tuple(bool(a) for a in allowed)
        if key not in self._segment_ok:
            self._segment_ok[key] = [
                live[part.seg_video] & allowed[part.seg_modality]
                for part, live in zip(self.parts, self.live)
            ]
        return self._segment_ok[key]

    def _fill(self, chosen: list[np.ndarray], at_least: int) -> list[np.ndarray]:
        """Add untouched live videos until there are ``at_least`` (or all of them)."""
        missing = min(at_least, self.n_live_videos) - sum(len(c) for c in chosen)
        if missing <= 0:
            return chosen
        filled = []
        for videos, live in zip(chosen, self.live):
            spare = np.setdiff1d(np.flatnonzero(live), videos)[: max(0, missing)]
            missing -= len(spare)
            filled.append(np.union1d(videos, spare))
        return filled

    def rescore(
        self, query: np.ndarray, chosen: list[np.ndarray], allowed: np.ndarray, n_ids: int
    ) -> list[tuple[Part, Rescored]]:
        return [
            (part, rescore(part, query, videos, allowed, n_ids))
            for part, videos in zip(self.parts, chosen)
            if len(videos)
        ]

    def disk_bytes(self) -> dict[str, int]:
        """Bytes on disk by file kind (``vectors``, ``codes``, ``labels.arrow``, ...)."""
        sizes: dict[str, int] = {"centroids": self.centroids.nbytes}
        for part in self.parts:
            for name, size in part.disk_bytes().items():
                key = name.removesuffix(".bin")
                sizes[key] = sizes.get(key, 0) + size
        return sizes
