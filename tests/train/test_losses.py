"""CLaMR's losses against a plain-loop reference written straight from the paper's equations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.encoders.base import Modality
from backend.train import losses

B, Q, S, D, TAU = 4, 5, 9, 8, 0.05
REAL = [int(m) for m in Modality if m != Modality.PAD]


@pytest.fixture(scope="module")
def batch():
    """Random unit vectors; ragged queries; padded videos, one without OCR; varied query types."""
    rng = np.random.default_rng(7)
    query = rng.normal(size=(B, Q, D))
    docs = rng.normal(size=(B, S, D))
    query /= np.linalg.norm(query, axis=-1, keepdims=True)
    docs /= np.linalg.norm(docs, axis=-1, keepdims=True)
    query_mask = np.arange(Q)[None, :] < np.array([5, 3, 4, 2])[:, None]
    modalities = np.array(
        [
            [0, 1, 1, 2, 2, 3, 4, 4, 0],
            [1, 1, 1, 2, 2, 2, 4, 0, 0],  # no OCR
            [0, 0, 1, 3, 3, 3, 2, 4, 4],
            [1, 2, 3, 4, 1, 2, 3, 4, 0],
        ]
    )
    types = np.array([int(Modality.ASR), int(Modality.OCR), int(Modality.PAD), int(Modality.VIDEO)])
    return query, query_mask, docs, modalities, types  # query 1 targets OCR, which video 1 lacks


def _tensors(batch):
    query, mask, docs, modalities, types = batch
    return (
        torch.tensor(query, dtype=torch.float32, requires_grad=True),
        torch.tensor(mask),
        torch.tensor(docs, dtype=torch.float32, requires_grad=True),
        torch.tensor(modalities),
        torch.tensor(types),
    )


def reference_scores(batch):
    """s^m_kj and both aggregations by explicit loops (Eq. 1 and Eq. 3, 1/Q normalised)."""
    query, mask, docs, modalities, _ = batch
    per_modality = np.full((B, B, len(Modality)), -math.inf)
    token = np.full((B, B), -math.inf)
    for k in range(B):
        q_tokens = [query[k, i] for i in range(Q) if mask[k, i]]
        for j in range(B):
            real = [docs[j, s] for s in range(S) if modalities[j, s] != 0]
            token[k, j] = np.mean([max(float(q @ t) for t in real) for q in q_tokens])
            for m in REAL:
                tokens = [docs[j, s] for s in range(S) if modalities[j, s] == m]
                if tokens:
                    per_modality[k, j, m] = np.mean(
                        [max(float(q @ t) for t in tokens) for q in q_tokens]
                    )
    return per_modality, per_modality.max(axis=-1), token


def _log_softmax_first(terms: list[float]) -> float:
    finite = [t for t in terms if t != -math.inf]
    top = max(finite)
    return terms[0] - (top + math.log(sum(math.exp(t - top) for t in finite)))


def _positive(per_modality, scores, types, k):
    typed = per_modality[k, k, types[k]]
    return typed if types[k] != 0 and typed != -math.inf else scores[k, k]


def reference_info_nce(scores):
    return -np.mean(
        [
            _log_softmax_first(
                [scores[k, k] / TAU] + [scores[k, j] / TAU for j in range(B) if j != k]
            )
            for k in range(B)
        ]
    )


def reference_hard_positive(per_modality, scores, types):
    out = []
    for k in range(B):
        terms = [_positive(per_modality, scores, types, k) / TAU]
        terms += [scores[k, j] / TAU for j in range(B) if j != k]
        out.append(-_log_softmax_first(terms))
    return np.mean(out)


def reference_hard_negative(per_modality, scores, types):
    out = []
    for k in range(B):
        typed = types[k] != 0 and per_modality[k, k, types[k]] != -math.inf
        terms = [_positive(per_modality, scores, types, k) / TAU]
        for j in range(B):
            for m in REAL:
                if not (typed and j == k and m == types[k]):
                    terms.append(per_modality[k, j, m] / TAU)
        terms += [scores[k, j] / TAU for j in range(B) if j != k]
        out.append(-_log_softmax_first(terms))
    return np.mean(out)


def reference_pairwise(scores):
    return np.mean(
        [
            np.log1p(np.exp(max(scores[k, j] for j in range(B) if j != k) - scores[k, k]))
            for k in range(B)
        ]
    )


def test_scores_equal_the_loop_reference(batch):
    query, mask, docs, modalities, _ = _tensors(batch)
    per_modality, modality_max, token = reference_scores(batch)
    ours = losses.modality_scores(query, mask, docs, modalities)
    assert np.allclose(ours.detach().numpy(), per_modality, atol=1e-5)
    assert torch.isinf(ours[:, 1, int(Modality.OCR)]).all()  # video 1 has no OCR
    assert np.allclose(losses.aggregate(ours).detach().numpy(), modality_max, atol=1e-5)
    token_ours = losses.token_max_scores(query, mask, docs, modalities)
    assert np.allclose(token_ours.detach().numpy(), token, atol=1e-5)


@pytest.mark.parametrize("aggregation", ["modality_max", "token_max"])
def test_info_nce_and_pairwise_equal_the_reference(batch, aggregation):
    query, mask, docs, modalities, types = _tensors(batch)
    _, modality_max, token = reference_scores(batch)
    scores = modality_max if aggregation == "modality_max" else token
    for kind, expected in (
        ("contrastive", reference_info_nce(scores)),
        ("pairwise", reference_pairwise(scores)),
    ):
        got = losses.clamr_loss(kind, query, mask, docs, modalities, types, aggregation, TAU)
        assert got.item() == pytest.approx(expected, rel=1e-4)


def test_modality_aware_losses_equal_the_reference(batch):
    query, mask, docs, modalities, types = _tensors(batch)
    per_modality, scores, _ = reference_scores(batch)
    hard_positive = losses.clamr_loss(
        "contrastive_hard_positive", query, mask, docs, modalities, types, temperature=TAU
    )
    assert hard_positive.item() == pytest.approx(
        reference_hard_positive(per_modality, scores, batch[4]), rel=1e-4
    )
    hard_negative = losses.clamr_loss(
        "contrastive_hard_negative", query, mask, docs, modalities, types, temperature=TAU
    )
    assert hard_negative.item() == pytest.approx(
        reference_hard_negative(per_modality, scores, batch[4]), rel=1e-4
    )
    # more negatives can only make the same positive harder to pick
    assert hard_negative.item() > hard_positive.item()


def test_losses_train_both_towers(batch):
    for kind in (
        "contrastive",
        "contrastive_hard_positive",
        "contrastive_hard_negative",
        "pairwise",
    ):
        query, mask, docs, modalities, types = _tensors(batch)
        losses.clamr_loss(kind, query, mask, docs, modalities, types).backward()
        for grad in (query.grad, docs.grad):
            assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_modality_aware_losses_need_query_types(batch):
    query, mask, docs, modalities, _ = _tensors(batch)
    with pytest.raises(ValueError, match="query_types"):
        losses.clamr_loss("contrastive_hard_negative", query, mask, docs, modalities)


@pytest.mark.parametrize("aggregation", ["modality_max", "token_max"])
def test_every_loss_makes_its_tensors_on_the_inputs_device(batch, aggregation):
    """No tensor made without ``device=`` anywhere under the losses (the crash of fine-tuning on
    a GPU was ``maxsim._segment_max``'s CPU buffer, called from ``modality_scores``)."""
    from tests.device_audit import FactoryAudit

    query, mask, docs, modalities, types = _tensors(batch)
    kinds = ["contrastive", "contrastive_hard_positive", "contrastive_hard_negative", "pairwise"]
    with FactoryAudit() as audit:
        for kind in kinds:
            losses.clamr_loss(kind, query, mask, docs, modalities, types, aggregation, TAU)
    assert not audit.calls, "\n".join(map(str, audit.calls))
