"""CLaMR's training losses over a batch of ``B`` (query, video) pairs with in-batch negatives.

Wan et al., "CLaMR: Contextualized Late-Interaction for Multimodal Content Retrieval", 2025
(arXiv 2506.06144), §3.4 and App. A.1. Shapes: queries ``(B, Q, D)`` with a ``(B, Q)`` mask,
videos ``(B, S, D)`` with ``(B, S)`` modality ids (``Modality``; 0 = PAD marks padding and
template tokens, which never score), query types ``(B,)`` (the modality each query targets).

Scores use the backend's one late-interaction implementation (``backend.search.maxsim``), so
training and search agree on the definition, including its ``1/Q`` normalisation::

    s^m_{k,j} = (1/Q_k) sum_q max_{t in video j, modality m} <q_k, t>       (per modality)
    s_{k,j}   = max_m s^m_{k,j}                  (modality_max, CLaMR's LI_mw, Eq. 3)
             or (1/Q_k) sum_q max_{t in video j} <q_k, t>   (token_max, LI_context, Eq. 1)

A modality a video lacks scores ``-inf`` (never chosen, contributes exp(-inf) = 0).

A query with no known type (PAD), or whose type its own video lacks, uses ``s_{k,k}`` as the
positive in the modality-aware losses. Where CLaMR's code and paper differ, the paper is followed
(see ``hard_negative_info_nce``); the temperature is CLaMR's fixed 0.02 (the paper calls it
learnable, the code keeps it constant).

>>> import torch
>>> q = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])                      # (B=2, Q=1, D=2)
>>> docs = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 0.0]]])   # (B=2, S=2, D=2)
>>> modalities = torch.tensor([[2, 3], [2, 0]])                          # ASR, OCR | ASR, pad
>>> per_modality = modality_scores(q, torch.ones(2, 1, dtype=torch.bool), docs, modalities)
>>> per_modality[0, 0, 2:4]             # query 0 vs video 0: ASR 1.0, OCR 0.0
tensor([1., 0.])
>>> aggregate(per_modality)             # modality_max
tensor([[1., 0.],
        [1., 1.]])
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from backend.encoders.base import Modality
from backend.search.maxsim import maxsim_per_modality, token_max

Aggregation = Literal["modality_max", "token_max"]
N_MODALITIES = len(Modality)  # columns indexed by Modality id; column PAD stays -inf
CLAMR_TEMPERATURE = 0.02
_NEG_INF = float("-inf")


def _flatten_documents(docs: torch.Tensor, doc_modalities: torch.Tensor):
    """``(B, S, D)`` videos to real tokens ``(N, D)``, their owners and modalities ``(N,)``."""
    keep = doc_modalities != int(Modality.PAD)
    owner = torch.arange(docs.shape[0], device=docs.device).unsqueeze(1).expand_as(doc_modalities)
    return docs[keep], owner[keep], doc_modalities[keep]


def modality_scores(
    query: torch.Tensor, query_mask: torch.Tensor, docs: torch.Tensor, doc_modalities: torch.Tensor
) -> torch.Tensor:
    """``s^m_{k,j}`` for every query ``k``, video ``j`` and modality id ``m``: ``(B, B, M)``."""
    vectors, owner, modality = _flatten_documents(docs, doc_modalities)
    rows = [
        maxsim_per_modality(q[mask.bool()], vectors, owner, modality, docs.shape[0], N_MODALITIES)
        for q, mask in zip(query, query_mask, strict=True)
    ]
    return torch.nan_to_num(torch.stack(rows), nan=_NEG_INF)


def token_max_scores(
    query: torch.Tensor, query_mask: torch.Tensor, docs: torch.Tensor, doc_modalities: torch.Tensor
) -> torch.Tensor:
    """``LI_context`` (Eq. 1): every query token's best match in any modality, ``(B, B)``."""
    vectors, owner, _ = _flatten_documents(docs, doc_modalities)
    rows = [
        token_max(q[mask.bool()], vectors, owner, docs.shape[0])
        for q, mask in zip(query, query_mask, strict=True)
    ]
    return torch.nan_to_num(torch.stack(rows), nan=_NEG_INF)


def aggregate(per_modality: torch.Tensor) -> torch.Tensor:
    """``LI_mw`` (Eq. 3): the best modality's score, ``(B, B, M) -> (B, B)``."""
    return per_modality.max(dim=-1).values


def _positives(
    scores: torch.Tensor, per_modality: torch.Tensor, query_types: torch.Tensor
) -> torch.Tensor:
    """``s^{m*_k}_{k,k}`` per query ``(B,)``; ``s_{k,k}`` where the type is unknown or absent."""
    k = torch.arange(scores.shape[0], device=scores.device)
    typed = per_modality[k, k, query_types.long()]
    usable = (query_types != int(Modality.PAD)) & torch.isfinite(typed)
    return torch.where(usable, typed, scores[k, k])


def info_nce(scores: torch.Tensor, temperature: float = CLAMR_TEMPERATURE) -> torch.Tensor:
    """In-batch InfoNCE (Eq. 2), ``(B, B)`` scores with positives on the diagonal.

    ``L = -(1/B) sum_k log( exp(s_kk / t) / sum_j exp(s_kj / t) )``
    """
    labels = torch.arange(scores.shape[0], device=scores.device)
    return F.cross_entropy(scores / temperature, labels)


def hard_positive_info_nce(
    scores: torch.Tensor,
    per_modality: torch.Tensor,
    query_types: torch.Tensor,
    temperature: float = CLAMR_TEMPERATURE,
) -> torch.Tensor:
    """InfoNCE with correct-modality positives (``L_ModPos``, Eq. 4).

    The positive is scored on the query's own modality only; negatives are unchanged::

        L = -(1/B) sum_k log( exp(s^{m*_k}_kk / t) /
                              (exp(s^{m*_k}_kk / t) + sum_{j!=k} exp(s_kj / t)) )
    """
    k = torch.arange(scores.shape[0], device=scores.device)
    logits = scores.clone()
    logits[k, k] = _positives(scores, per_modality, query_types)
    return F.cross_entropy(logits / temperature, k)


def hard_negative_info_nce(
    scores: torch.Tensor,
    per_modality: torch.Tensor,
    query_types: torch.Tensor,
    temperature: float = CLAMR_TEMPERATURE,
) -> torch.Tensor:
    """InfoNCE with modality negatives (``L_ModNeg``, Eq. 5).

    Negatives are the other videos, the other modalities of the same video and every modality
    of the other videos::

        L = -(1/B) sum_k log( exp(s^{m*}_kk / t) /
                              (sum_j sum_m exp(s^m_kj / t) + sum_{j!=k} exp(s_kj / t)) )

    (the positive ``s^{m*}_kk`` is the term ``j = k, m = m*`` of the double sum). CLaMR's code
    computes this correct-modality positive but then uses the aggregated ``s_kk`` instead, and
    leaves ``s^{m*}_kk`` among the negatives; the paper's form is implemented here.
    """
    batch, _, n_mod = per_modality.shape
    k = torch.arange(batch, device=scores.device)
    positive = _positives(scores, per_modality, query_types)
    types = query_types.long()
    modality_cells = per_modality.clone()  # (B, B, M): drop PAD and the positive's own cell
    modality_cells[..., int(Modality.PAD)] = _NEG_INF
    own = (query_types != int(Modality.PAD)) & torch.isfinite(per_modality[k, k, types])
    modality_cells[k[own], k[own], types[own]] = _NEG_INF
    off_diagonal = scores.masked_fill(
        torch.eye(batch, dtype=torch.bool, device=scores.device), _NEG_INF
    )
    logits = torch.cat(
        [positive.unsqueeze(1), modality_cells.view(batch, batch * n_mod), off_diagonal], 1
    )
    return F.cross_entropy(logits / temperature, torch.zeros_like(k))


def pairwise_softplus(scores: torch.Tensor) -> torch.Tensor:
    """Pairwise ranking against the hardest in-batch negative (CLaMR's ``pairwise`` loss).

    ``L = (1/B) sum_k softplus( max_{j!=k} s_kj - s_kk )``
    """
    batch = scores.shape[0]
    eye = torch.eye(batch, dtype=torch.bool, device=scores.device)
    hardest = scores.masked_fill(eye, _NEG_INF).max(dim=1).values
    return F.softplus(hardest - scores.diagonal()).mean()


LossKind = Literal[
    "contrastive", "contrastive_hard_positive", "contrastive_hard_negative", "pairwise"
]


def clamr_loss(
    kind: LossKind,
    query: torch.Tensor,
    query_mask: torch.Tensor,
    docs: torch.Tensor,
    doc_modalities: torch.Tensor,
    query_types: torch.Tensor | None = None,
    aggregation: Aggregation = "modality_max",
    temperature: float = CLAMR_TEMPERATURE,
) -> torch.Tensor:
    """One of CLaMR's losses (names as in its ``--loss_type``) from embeddings, as a scalar.

    CLaMR's released model: ``kind="contrastive"``, ``aggregation="modality_max"``.
    """
    per_modality = modality_scores(query, query_mask, docs, doc_modalities)
    if aggregation == "modality_max":
        scores = aggregate(per_modality)
    else:
        scores = token_max_scores(query, query_mask, docs, doc_modalities)
    if kind == "contrastive":
        return info_nce(scores, temperature)
    if kind == "pairwise":
        return pairwise_softplus(scores)
    if query_types is None:
        raise ValueError(f"{kind} needs query_types: the modality each query targets")
    if kind == "contrastive_hard_positive":
        return hard_positive_info_nce(scores, per_modality, query_types, temperature)
    if kind == "contrastive_hard_negative":
        return hard_negative_info_nce(scores, per_modality, query_types, temperature)
    raise ValueError(f"unknown CLaMR loss {kind!r}")
