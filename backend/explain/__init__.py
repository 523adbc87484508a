"""Why a video matched: MaxSim heatmaps per modality and the matched regions of frames."""

from backend.explain.explanation import Explanation, ModalityExplanation, explain_hit
from backend.explain.heatmaps import render_frame_heatmap, render_token_heatmap
from backend.explain.similarity import SimilarityMap, modality_similarity

__all__ = [
    "Explanation",
    "ModalityExplanation",
    "SimilarityMap",
    "explain_hit",
    "modality_similarity",
    "render_frame_heatmap",
    "render_token_heatmap",
]
