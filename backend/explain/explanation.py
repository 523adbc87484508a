"""Why a video matched a query: per modality, the heatmap, the matches, and the frame.

Reads the video's stored tokens, packed the way the searcher packs them (the same numbers the
search scored), so an explanation can never disagree with the ranking it explains.

For a search by picture, the ``image`` modality's picture is the query picture beside the frame
of its strongest match, regions paired, with the region-by-region similarity map
(:mod:`backend.explain.regions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from backend.encoders.base import (
    DOCUMENT_MODALITIES,
    IMAGE_SPACE_MODALITIES,
    Modality,
    TokenVectors,
)
from backend.explain.frames import decode_jpeg, nearest_frame
from backend.explain.heatmaps import render_frame_heatmap, render_token_heatmap
from backend.explain.regions import RegionMatch, region_match, render_region_matches
from backend.explain.similarity import SimilarityMap, modality_similarity, query_rows
from backend.search.searcher import QueryError, TokenMatch
from backend.search.token_matrix import TokenMatrix

if TYPE_CHECKING:
    from backend.collection import Collection


@dataclass(frozen=True)
class ModalityExplanation:
    modality: str
    score: float  # s_m, the MaxSim of this modality
    matches: tuple[TokenMatch, ...]  # one per query token: its best word of this modality
    similarity: SimilarityMap
    heatmap: Image.Image
    frame: Image.Image | None = None  # the frame at the strongest timed match, regions drawn
    frame_time_s: float | None = None
    regions: RegionMatch | None = None  # image: query regions against that frame's regions


@dataclass(frozen=True)
class Explanation:
    query: str
    video_id: str
    modalities: dict[str, ModalityExplanation] = field(default_factory=dict)  # best first

    @property
    def best_modality(self) -> str | None:
        return next(iter(self.modalities), None)


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _matches(smap: SimilarityMap) -> tuple[TokenMatch, ...]:
    out = []
    for row, column in enumerate(smap.best_columns):
        box = smap.boxes[column]
        out.append(
            TokenMatch(
                query_token=smap.query_labels[row],
                label=smap.column_labels[column],
                similarity=round(float(smap.similarity[row, column]), 4),
                time_s=_optional(float(smap.times[column])),
                box=None if np.isnan(box).any() else tuple(float(b) for b in box),
            )
        )
    return tuple(out)


def _frame_picture(
    smap: SimilarityMap, frames: list[dict]
) -> tuple[Image.Image | None, float | None]:
    """The frame nearest the strongest timed match, with the matched regions of that frame."""
    best = smap.best_columns
    strength = smap.similarity[np.arange(len(best)), best]
    timed = [i for i in np.argsort(-strength) if not np.isnan(smap.times[best[i]])]
    if not timed or not frames:
        return None, None
    frame_times = np.array([f["time_s"] for f in frames], np.float32)
    chosen = nearest_frame(frame_times, float(smap.times[best[timed[0]]]))
    # regions: the matched columns shown on that frame, each with its best similarity
    regions: dict[int, float] = {}
    for i in timed:
        column = int(best[i])
        if nearest_frame(frame_times, float(smap.times[column])) != chosen:
            continue
        whole_frame = np.isnan(smap.boxes[column]).any()
        if whole_frame and smap.modality != Modality.VIDEO:
            continue  # speech has a time but no place in the picture
        regions[column] = max(regions.get(column, -1.0), float(strength[i]))
    row = frames[chosen]
    image = Image.fromarray(decode_jpeg(row["jpeg"]))
    columns = list(regions)
    picture = render_frame_heatmap(
        image,
        smap.boxes[columns] if columns else np.zeros((0, 4), np.float32),
        [regions[c] for c in columns],
        scale=float(row["scale"]),
        labels=[smap.column_labels[c] for c in columns],
    )
    return picture, float(row["time_s"])


def _region_picture(
    query: TokenVectors,
    tokens: TokenVectors,
    frames: list[dict],
    image: np.ndarray | None,
    modality: Modality,
) -> tuple[Image.Image | None, float | None, RegionMatch | None]:
    """The query picture beside the frame of the strongest region match (None without a
    query picture or stored frames)."""
    asking = query.select(query_rows(query, modality))
    match = region_match(asking, tokens.select(tokens.modalities == int(modality)))
    if match is None or image is None or not frames:
        return None, None, match
    frame_times = np.array([f["time_s"] for f in frames], np.float32)
    row = frames[nearest_frame(frame_times, match.time_s)]
    picture = render_region_matches(
        Image.fromarray(np.asarray(image, np.uint8)),
        Image.fromarray(decode_jpeg(row["jpeg"])),
        match,
        frame_scale=float(row["scale"]),
    )
    return picture, float(row["time_s"]), match


def explain_tokens(
    query_text: str,
    query: TokenVectors,
    video_id: str,
    tokens: TokenVectors,
    frames: list[dict],
    max_columns: int = 40,
    image: np.ndarray | None = None,
) -> Explanation:
    """The explanation from tokens already in hand (``frames``: the store's frame rows;
    ``image``: the query picture of a search by picture)."""
    found = []
    for modality in DOCUMENT_MODALITIES:
        smap = modality_similarity(query, tokens, modality)
        if smap is None:
            continue
        score = smap.score
        heatmap = render_token_heatmap(
            smap.query_labels,
            smap.column_labels,
            smap.similarity,
            max_columns=max_columns,
            title=f"{modality.key}: MaxSim {score:.3f}",
        )
        regions = None
        if modality in IMAGE_SPACE_MODALITIES:
            frame, frame_time, regions = _region_picture(query, tokens, frames, image, modality)
        else:
            frame, frame_time = _frame_picture(smap, frames)
        found.append(
            ModalityExplanation(
                modality.key, score, _matches(smap), smap, heatmap, frame, frame_time, regions
            )
        )
    found.sort(key=lambda e: e.score, reverse=True)
    return Explanation(query_text, video_id, {e.modality: e for e in found})


def explain_hit(
    collection: Collection,
    query: str,
    video_id: str,
    max_columns: int = 40,
    image: np.ndarray | None = None,
) -> Explanation:
    """Explain why ``video_id`` matched ``query`` (with ``image``: the picture searched by,
    ``query`` its optional text) in ``collection``, modality by modality."""
    if image is not None:
        try:
            query_vectors = collection.encoder.encode_image_query(image, query or "")
        except NotImplementedError as error:
            raise QueryError(str(error)) from error
    else:
        query_vectors = collection.encoder.encode_query(query)
    if len(query_vectors) == 0:
        raise QueryError(f"the query {query!r} has nothing to search for")
    tokens = video_tokens(collection, video_id)
    frames = collection.store.frames(video_id)
    return explain_tokens(query, query_vectors, video_id, tokens, frames, max_columns, image)


def video_tokens(collection: Collection, video_id: str) -> TokenVectors:
    """One complete video's stored float32 tokens: the ones exact MaxSim scores (alone, or as
    the fast path's re-scoring). Read for this video only, never the whole collection."""
    store = collection.store
    if not store.has_video(video_id):
        raise KeyError(f"video {video_id} is not in the collection (deleted, or still indexing)")
    matrix = TokenMatrix.from_arrow(store.token_rows([video_id]), store.dim, [video_id])
    return matrix.tokens_of(0)[1]
