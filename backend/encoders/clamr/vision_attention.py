"""The vision tower's windowed attention as a few batched calls instead of one call per window.

Qwen2.5-VL's vision tower attends inside windows of 112x112 pixels (28 of its 32 blocks) and
inside each temporal patch (the other four). transformers 4.57 passes the windows as
``cu_seqlens`` and, unless ``attn_implementation="flash_attention_2"`` (a variable-length
kernel, when flash-attn is installed), splits the sequence and calls attention once per window:
for ten 224x224 frames that is 20 windows x 28 blocks + 5 groups x 4 blocks = 580 calls per
video, each a few kernels on 64 tokens, and a ``cu_seqlens.tolist()`` (a GPU sync) per block.
On an H100 this made encoding bound by the CPU launching kernels (5,720 attention calls for 16
videos), which is why 4-bit ran faster than bf16 there: the GPU was idle most of the time.

Windows of one length are independent problems of one shape, so here they are stacked and run
as ONE call of shape ``(windows, heads, length, head_dim)`` per distinct length (square frames
give one length; other aspect ratios a few more at the edges). Nothing is padded or masked, so
each window's result is what its own call gives (the same kernel on the same numbers). The
grouping is computed once per ``cu_seqlens`` tensor (two per forward: windows and temporal
patches) and reused by all blocks, so there is one host sync per tensor, not one per block.

With ``flash_attention_2`` configured, transformers' own variable-length call is used as is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch.utils.weak import WeakIdKeyDictionary
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import (
    ALL_ATTENTION_FUNCTIONS,
    Qwen2_5_VLVisionAttention,
    apply_rotary_pos_emb_vision,
    eager_attention_forward,
)


@dataclass(frozen=True)
class WindowGroup:
    """All windows of one ``length``: ``count`` of them, their tokens at ``index``.

    ``index`` is ``(count * length,)`` token positions, window by window; ``None`` when the
    group is the whole sequence in order (every window has this length), so no gather is needed.
    """

    length: int
    count: int
    index: torch.Tensor | None


def window_groups(cu_seqlens: torch.Tensor) -> list[WindowGroup]:
    """Windows (``cu_seqlens``: ``(W + 1,)`` boundaries) grouped by length, in first-seen order.

    >>> [(g.length, g.count, g.index) for g in window_groups(torch.tensor([0, 4, 8, 12]))]
    [(4, 3, None)]
    >>> [(g.length, g.count, g.index.tolist()) for g in window_groups(torch.tensor([0, 2, 5, 7]))]
    [(2, 2, [0, 1, 5, 6]), (3, 1, [2, 3, 4])]
    """
    bounds = cu_seqlens.tolist()  # the one host sync for this set of windows
    starts: dict[int, list[int]] = {}
    for start, end in itertools.pairwise(bounds):
        if end > start:
            starts.setdefault(end - start, []).append(start)
    if len(starts) == 1:
        ((length, firsts),) = starts.items()
        return [WindowGroup(length, len(firsts), None)]
    groups, device = [], cu_seqlens.device
    for length, firsts in starts.items():
        offsets = torch.arange(length, dtype=torch.int64, device=device)
        first = torch.tensor(firsts, dtype=torch.int64, device=device)
        groups.append(WindowGroup(length, len(firsts), (first.unsqueeze(1) + offsets).reshape(-1)))
    return groups


class _GroupCache:
    """Groupings per ``cu_seqlens`` tensor, shared by every block of one tower (weakly held, so
    a forward's tensors and their groupings go away together)."""

    def __init__(self) -> None:
        self._groups: WeakIdKeyDictionary = WeakIdKeyDictionary()

    def get(self, cu_seqlens: torch.Tensor) -> list[WindowGroup]:
        groups = self._groups.get(cu_seqlens)
        if groups is None:
            groups = window_groups(cu_seqlens)
            self._groups[cu_seqlens] = groups
        return groups


class BatchedWindowAttention(Qwen2_5_VLVisionAttention):
    """Qwen2.5-VL's vision attention (same weights, same names) with windows batched by length."""

    def __init__(self, config, cache: _GroupCache | None = None) -> None:
        super().__init__(config)
        self._cache = cache or _GroupCache()

    def forward(
        self,
        hidden_states: torch.Tensor,
        cu_seqlens: torch.Tensor,
        rotary_pos_emb: torch.Tensor | None = None,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        **kwargs,
    ) -> torch.Tensor:
        implementation = self.config._attn_implementation
        if implementation == "flash_attention_2":  # already one variable-length call
            return super().forward(
                hidden_states, cu_seqlens, rotary_pos_emb, position_embeddings, **kwargs
            )
        attention = (
            eager_attention_forward
            if implementation in (None, "eager")
            else ALL_ATTENTION_FUNCTIONS[implementation]
        )
        seq_length = hidden_states.shape[0]
        query, key, value = (
            self.qkv(hidden_states)
            .reshape(seq_length, 3, self.num_heads, -1)
            .permute(1, 0, 2, 3)
            .unbind(0)
        )  # each (S, heads, head_dim)
        cos, sin = position_embeddings
        query, key = apply_rotary_pos_emb_vision(query, key, cos, sin)
        out = None
        for group in self._cache.get(cu_seqlens):
            shape = (group.count, group.length, self.num_heads, -1)
            q, k, v = (
                (t if group.index is None else t[group.index]).reshape(shape).transpose(1, 2)
                for t in (query, key, value)
            )  # (windows, heads, length, head_dim)
            result = attention(
                self,
                q,
                k,
                v,
                attention_mask=None,
                scaling=self.scaling,
                dropout=0.0 if not self.training else self.attention_dropout,
                is_causal=False,
                **kwargs,
            )[0].reshape(group.count * group.length, -1)  # (windows * length, heads * dim)
            if group.index is None:
                out = result
            else:
                if out is None:
                    out = result.new_empty((seq_length, result.shape[-1]))
                out[group.index] = result
        return self.proj(out)


def batch_vision_windows(model: torch.nn.Module) -> int:
    """Give every vision block of a Qwen2.5-VL model batched window attention; returns how many.

    Called on a freshly built model (before weights are loaded), so the new modules take the
    checkpoint's weights under the same names (``...blocks.N.attn.qkv`` / ``.proj``).
    """
    cache = _GroupCache()
    blocks = model.model.visual.blocks
    for block in blocks:
        old = block.attn
        with torch.device("meta"):  # no second copy of the weights, not even briefly
            new = BatchedWindowAttention(old.config, cache)
        new.load_state_dict(old.state_dict(), assign=True)  # the same tensors, same device
        block.attn = new.train(old.training)
    return len(blocks)


def set_batched_windows(model: torch.nn.Module, batched: bool) -> None:
    """Switch a loaded model's vision attention between batched windows and transformers' own
    per-window calls, keeping its weights (quantized ones too): for before/after benchmarks."""
    for block in model.model.visual.blocks:
        attention = block.attn
        if batched and not isinstance(attention, BatchedWindowAttention):
            attention.__class__ = BatchedWindowAttention
            attention._cache = _GroupCache()
        elif not batched and isinstance(attention, BatchedWindowAttention):
            attention.__class__ = Qwen2_5_VLVisionAttention
