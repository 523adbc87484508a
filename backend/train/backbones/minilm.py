"""Fine-tuning the default encoder: LoRA on MiniLM's attention and feed-forward layers.

A batch is encoded exactly as ``DefaultEncoder`` encodes at search time (the same query words
with stop words dropped, the same document units per modality, the same word-pieces kept), only
with gradients: every query and every unit of every video is one sequence of one forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from peft import LoraConfig, PeftModel, get_peft_model

from backend.encoders.base import Encoder
from backend.encoders.default.documents import document_units
from backend.encoders.default.encoder import DefaultEncoder, query_words
from backend.encoders.default.token_model import (
    MiniLMTokenModel,
    load_minilm,
    token_states,
    tokenize_words,
)
from backend.encoders.lora import adapter_or_none
from backend.encoders.search_text import normalise_word
from backend.ingest.types import IngestedVideo
from backend.train.backbones.base import Backbone, BatchVectors, pad_rows
from backend.train.settings import TrainSettings

#: BERT's query/key/value projections and its three dense layers per block (not the pooler,
#: which token vectors never use).
MINILM_LORA_TARGETS = (
    r".*encoder\.layer\.\d+\."
    r"(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"
)
SEQUENCES_PER_FORWARD = 64  # sequences of similar length run together (less padding)


class MiniLMBackbone(Backbone):
    name = "default"

    def __init__(self, settings: TrainSettings) -> None:
        super().__init__()
        self.tokenizer, base = load_minilm()
        adapter = adapter_or_none(settings.adapter)
        if adapter is not None:
            model = PeftModel.from_pretrained(base, adapter, is_trainable=True)
        else:
            config = LoraConfig(
                r=settings.rank,
                lora_alpha=settings.alpha,
                lora_dropout=settings.dropout,
                target_modules=MINILM_LORA_TARGETS,
            )
            model = get_peft_model(base, config)
        if settings.device.startswith("cuda") or (
            settings.device == "auto" and torch.cuda.is_available()
        ):
            model = model.to("cuda")
        self.peft = self.module = model.train()

    def can_encode(self, video: IngestedVideo) -> bool:
        return bool(document_units(video))

    def _states(self, sequences: list[list[str]]) -> list[torch.Tensor]:
        rows: list[torch.Tensor | None] = [None] * len(sequences)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), SEQUENCES_PER_FORWARD):
            chunk = order[start : start + SEQUENCES_PER_FORWARD]
            tokenized = tokenize_words(self.tokenizer, [sequences[i] for i in chunk])
            for i, row in zip(chunk, token_states(self.module, tokenized)):
                rows[i] = row
        return rows  # type: ignore[return-value]

    def encode_batch(self, queries: Sequence[str], videos: Sequence[IngestedVideo]) -> BatchVectors:
        query_sequences = [[normalise_word(w) for w in query_words(t, True)] for t in queries]
        units = [document_units(v) for v in videos]
        unit_sequences = [[normalise_word(w.text) for w in u.words] for us in units for u in us]
        rows = self._states(query_sequences + unit_sequences)
        query, query_mask = pad_rows(rows[: len(queries)])
        cursor, docs, modalities = len(queries), [], []
        for video_units in units:
            parts = rows[cursor : cursor + len(video_units)]
            cursor += len(video_units)
            docs.append(torch.cat(parts) if parts else rows[0].new_zeros((0, rows[0].shape[1])))
            modalities.append(
                torch.cat(
                    [
                        torch.full((len(p),), int(u.modality), dtype=torch.long)
                        for p, u in zip(parts, video_units)
                    ]
                    or [torch.zeros(0, dtype=torch.long)]
                )
            )
        doc_vectors, _ = pad_rows(docs)
        doc_modalities, _ = pad_rows([m.to(doc_vectors.device) for m in modalities])
        return BatchVectors(query, query_mask, doc_vectors, doc_modalities)

    def as_encoder(self) -> Encoder:
        token_model = MiniLMTokenModel.from_loaded(self.tokenizer, self.peft)
        return DefaultEncoder(token_model=token_model)
