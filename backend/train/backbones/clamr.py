"""Fine-tuning CLaMR: ColQwen2.5 with LoRA (r = alpha = 128 on CLaMR's target modules).

As the paper trains it: base weights in 4-bit NF4 (QLoRA; ``load_in_4bit``) on a GPU, LoRA on
every attention and MLP projection of the language model plus ``custom_text_proj``, paged 8-bit
AdamW. By default training continues from the released adapter (``meetdavidwan/clamr``);
``adapter="none"`` starts a fresh LoRA on the base model, as the paper did.

Documents are built by the same processor the encoder uses; their frames come from the store's
thumbnails (at most the processor's ten per video), so training never decodes a video file.

In 4-bit, PEFT's ``prepare_model_for_kbit_training`` casts every bf16 parameter that is not a
4-bit weight to float32: the embeddings, norms, biases and ``custom_text_proj``. The residual
stream then runs in float32 while training, but in bf16 once the saved adapter is loaded for
search; on an H100 the trained model's vectors and the reloaded adapter's differed by up to
0.031. Those parameters are frozen, so they are cast back to their loaded dtype (exactly: bf16
-> float32 -> bf16 loses nothing), and the model trained is the model search will run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

from backend.config import EncoderSettings
from backend.encoders.base import Encoder
from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.frames import select_frames
from backend.encoders.clamr.loading import load_base, load_processor, resolve_source
from backend.encoders.clamr.modeling_clamr import CLAMR_LORA_TARGETS
from backend.encoders.clamr.processing_clamr import ClamrBatch
from backend.ingest.types import Frame, IngestedVideo
from backend.train.backbones.base import Backbone, BatchVectors
from backend.train.settings import TrainSettings

VISION_TOWER = r".*visual.*"


def prepare_quantized(
    model: torch.nn.Module, checkpointing: bool, checkpointing_kwargs: dict | None = None
) -> torch.nn.Module:
    """PEFT's k-bit preparation (frozen base, gradient checkpointing, input gradients) without
    its float32 upcast of the frozen bf16 parameters (see the module docstring)."""
    loaded = {name: p.dtype for name, p in model.named_parameters()}
    model = prepare_model_for_kbit_training(
        model,
        use_gradient_checkpointing=checkpointing,
        gradient_checkpointing_kwargs=checkpointing_kwargs,
    )
    for name, parameter in model.named_parameters():
        if parameter.dtype != loaded[name] and not parameter.requires_grad:
            parameter.data = parameter.data.to(loaded[name])
    return model


class ClamrBackbone(Backbone):
    name = "clamr"
    needs_frames = True

    def __init__(self, settings: TrainSettings) -> None:
        super().__init__()
        source = resolve_source(
            EncoderSettings(
                name="clamr",
                model=settings.model,
                adapter=settings.adapter,
                device=settings.device,
                load_in_4bit=settings.load_in_4bit,
            )
        )
        model, base_name = load_base(source)
        checkpointing = {"use_reentrant": False}
        if source.load_in_4bit:
            model = prepare_quantized(model, settings.gradient_checkpointing, checkpointing)
        elif settings.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing)
            model.enable_input_require_grads()
        if source.adapter:
            model = PeftModel.from_pretrained(model, source.adapter, is_trainable=True)
        else:
            config = LoraConfig(
                r=settings.rank,
                lora_alpha=settings.alpha,
                lora_dropout=settings.dropout,
                target_modules=CLAMR_LORA_TARGETS,
                # CLaMR's regex was written when the vision tower was ``visual.*``; since
                # transformers 4.52 it is ``model.visual.*`` and would match its MLPs too.
                exclude_modules=VISION_TOWER,
                init_lora_weights="gaussian",  # as ColPali, which CLaMR builds on
            )
            model = get_peft_model(model, config)
        self.processor = load_processor(base_name)
        self.peft = self.module = model.train()
        self.identity = f"{source.identity}+training"

    def select_frames(self, frames: Sequence[Frame]) -> list[Frame]:
        """The frames the processor would keep (chosen before any thumbnail is decoded)."""
        return select_frames(frames, self.processor.config.max_frames)

    def _run(self, batch: ClamrBatch) -> torch.Tensor:
        inputs = {k: v.to(self.device) for k, v in batch.inputs.items()}
        return self.module(**inputs)  # (B, L, 128), zero at padding

    def encode_batch(self, queries: Sequence[str], videos: Sequence[IngestedVideo]) -> BatchVectors:
        processor = self.processor
        query_batch = processor.collate([processor.encode_query(t) for t in queries])
        query = self._run(query_batch)
        doc_batch = processor.collate([processor.encode_document(v) for v in videos])
        docs = self._run(doc_batch)
        modalities = np.zeros(docs.shape[:2], np.int64)  # left padding, as the batch
        for row, sequence in enumerate(doc_batch.sequences):
            modalities[row, docs.shape[1] - len(sequence) :] = sequence.modalities
        return BatchVectors(
            query=query,
            query_mask=query_batch.inputs["attention_mask"].bool().to(query.device),
            docs=docs,
            doc_modalities=torch.from_numpy(modalities).to(docs.device),
        )

    def as_encoder(self) -> Encoder:
        return ClamrEncoder.from_model(self.peft, self.processor, self.identity, batch_size=4)
