"""The similarity map of one modality, with the real default encoder's sub-word tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.encoders.base import Modality
from backend.encoders.default.encoder import DefaultEncoder
from backend.explain.similarity import column_groups, modality_similarity
from backend.search.maxsim import maxsim_per_modality
from tests.helpers import make_video


@pytest.fixture(scope="module")
def encoder() -> DefaultEncoder:
    return DefaultEncoder()


def test_sub_words_of_one_word_become_one_column(encoder: DefaultEncoder) -> None:
    video = make_video("v", "preheat the oven to two hundred degrees")
    tokens = encoder.encode_video(video)
    query = encoder.encode_query("heat the oven")
    smap = modality_similarity(query, tokens, Modality.ASR)
    asr_tokens = int((tokens.modalities == int(Modality.ASR)).sum())
    assert asr_tokens > 7  # "preheat" and friends are split into word-pieces...
    assert smap.column_labels == tuple(video.transcript.segments[0].text.split())  # ...words here
    assert smap.similarity.shape == (len(query), 7)
    assert smap.column_labels[smap.best_columns[-1]] == "oven"


def test_score_is_the_searchers_maxsim(encoder: DefaultEncoder) -> None:
    video = make_video("v", "heavy rain is expected on Tuesday so bring an umbrella")
    tokens = encoder.encode_video(video)
    query = encoder.encode_query("will it rain on Tuesday")
    s = maxsim_per_modality(
        torch.from_numpy(query.vectors),
        torch.from_numpy(tokens.vectors),
        torch.zeros(len(tokens), dtype=torch.int64),
        torch.from_numpy(tokens.modalities.astype(np.int64)),
        n_videos=1,
        n_modalities=5,
    )[0]
    for modality in (Modality.ASR, Modality.OCR, Modality.DESCRIPTION):
        smap = modality_similarity(query, tokens, modality)
        assert smap.score == pytest.approx(float(s[int(modality)]), abs=1e-5)
    assert modality_similarity(query, tokens, Modality.VIDEO) is None  # no tags: no map


def test_repeated_word_at_another_time_is_another_column() -> None:
    nan = np.nan
    groups = column_groups(
        ("rain", "rain", "rain"),
        np.array([1.0, 1.0, 4.0], np.float32),
        np.array([[0, 0, 1, 1], [0, 0, 1, 1], [nan, nan, nan, nan]], np.float32),
    )
    assert groups.tolist() == [0, 0, 1]
