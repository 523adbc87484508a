"""ColQwen2.5, as CLaMR trains it: Qwen2.5-VL's last hidden states projected to 128 dimensions.

CLaMR (Wan et al., 2025, arXiv 2506.06144, §3.2) follows ColPali: every token of the joint
sequence (frames, then OCR, ASR and description text) goes through the vision-language model, and
a linear layer ``custom_text_proj`` maps its last hidden state to a 128-d vector, which is
L2-normalised and zeroed at padding.

The class subclasses ``Qwen2_5_VLForConditionalGeneration`` and adds ``custom_text_proj`` at the top
level, exactly like CLaMR's ``ColQwen2_5``, so parameter names are the same: the released LoRA
adapter (targets ``model.*.{q,k,v,o,gate,up,down}_proj`` and ``custom_text_proj``) loads with
``PeftModel.from_pretrained``. Adapters saved with transformers < 4.52 name the text layers
``model.layers.*``; PEFT maps them through the class's ``_checkpoint_conversion_mapping``.

The vision tower's windowed attention runs as a few batched calls instead of one per window
(``vision_attention``): the same numbers, far fewer kernel launches on a GPU.

Unlike CLaMR's forward, this one runs the inner ``Qwen2_5_VLModel`` only: the language-model head
(a 151k-word vocabulary per token) is never computed, since only hidden states are used. The
result is the same hidden state (the final norm's output, CLaMR's ``hidden_states[-1]``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

from backend.encoders.clamr.vision_attention import batch_vision_windows

#: CLaMR's (and ColPali's) projection size.
CLAMR_DIM = 128
#: The modules CLaMR's LoRA adapts (its README's ``--lora_target_modules``), r = alpha = 128.
CLAMR_LORA_TARGETS = (
    r"(.*(model).*(down_proj|gate_proj|up_proj|k_proj|q_proj|v_proj|o_proj).*$"
    r"|.*(custom_text_proj).*$)"
)


class ClamrModel(Qwen2_5_VLForConditionalGeneration):
    """Qwen2.5-VL with a 128-d token projection; ``forward`` returns ``(B, L, 128)`` vectors."""

    main_input_name: ClassVar[str] = "input_ids"
    #: False gives transformers' own vision attention (one call per window), for comparisons.
    batched_vision_windows: ClassVar[bool] = True

    def __init__(self, config: Qwen2_5_VLConfig) -> None:
        super().__init__(config)
        self.dim = CLAMR_DIM
        self.custom_text_proj = nn.Linear(config.text_config.hidden_size, self.dim)
        if self.batched_vision_windows:
            batch_vision_windows(self)
        self.post_init()

    def forward(  # type: ignore[override]
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        image_grid_thw: torch.LongTensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        second_per_grid_ts: torch.Tensor | None = None,
        **_ignored: Any,
    ) -> torch.Tensor:
        """Unit vectors ``(B, L, dim)`` in float32, exactly zero where ``attention_mask`` is 0.

        Extra keyword arguments (``output_hidden_states``, ``return_dict`` ... that PEFT's
        feature-extraction wrapper passes along) are ignored.
        """
        hidden = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            pixel_values=pixel_values,
            image_grid_thw=image_grid_thw,
            pixel_values_videos=pixel_values_videos,
            video_grid_thw=video_grid_thw,
            second_per_grid_ts=second_per_grid_ts,
            use_cache=False,
            return_dict=True,
        ).last_hidden_state  # (B, L, hidden)
        projected = self.custom_text_proj(hidden).float()  # (B, L, dim)
        # Normalised in float32 (CLaMR does it in the model dtype): unit length to 1e-6 in bf16.
        vectors = nn.functional.normalize(projected, p=2, dim=-1)
        # where, not multiply: a padded row could hold NaN, and NaN * 0 is NaN.
        return torch.where(attention_mask.bool().unsqueeze(-1), vectors, 0.0)
