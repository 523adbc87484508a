"""Load CLaMR: Qwen2.5-VL base weights, then the LoRA adapter with ``PeftModel.from_pretrained``.

``EncoderSettings`` choose what: ``adapter`` (default ``meetdavidwan/clamr``; ``"none"`` for the
bare base), ``model`` (default: the base the adapter's ``adapter_config.json`` names, which for
CLaMR is ``Qwen/Qwen2.5-VL-3B-Instruct``), ``device`` and ``load_in_4bit``. Either may be a hub
name (needs the internet once, then the local cache) or a local folder.

On a GPU the model runs in bfloat16, or in 4-bit NF4 with bitsandbytes as CLaMR was trained
(QLoRA: NF4, double quantisation, bf16 compute). On a CPU it runs in float32; 4-bit is refused.

``custom_text_proj`` is not part of Qwen2.5-VL's checkpoint. CLaMR creates it randomly (after
``set_seed(42)``) and trains LoRA on top of it. If neither the base checkpoint nor the adapter
holds its weights, it is drawn here from a fixed CPU seed, so vectors are at least the same on
every machine and run; a warning says so, because they then cannot equal the authors' exactly.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from backend.config import EncoderSettings
from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.modeling_clamr import ClamrModel
from backend.encoders.clamr.processing_clamr import ClamrProcessor

log = logging.getLogger(__name__)

DEFAULT_ADAPTER = "meetdavidwan/clamr"
DEFAULT_BASE = "Qwen/Qwen2.5-VL-3B-Instruct"
NO_ADAPTER = ("", "none")
PROJECTION_SEED = 42  # transformers TrainingArguments' default seed, which CLaMR keeps


class ClamrLoadError(RuntimeError):
    """CLaMR cannot be loaded; the message says what is missing and how to provide it."""


@dataclass(frozen=True)
class ClamrSource:
    """What to load and where, checked without loading anything."""

    model: str | None  # None: the base named in the adapter's config
    adapter: str | None  # None: no adapter
    device: torch.device
    load_in_4bit: bool

    @property
    def identity(self) -> str:
        return f"clamr:{self.model or 'adapter-base'}+{self.adapter or 'no-adapter'}"


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def _check_local(name: str, what: str, hub_example: str) -> None:
    if _looks_like_path(name) and not Path(name).expanduser().exists():
        raise ClamrLoadError(
            f"{name}: the CLaMR {what} folder does not exist. Give an existing local folder, or "
            f"a Hugging Face name such as {hub_example} with internet access (downloaded once, "
            "then read from the cache)."
        )


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ClamrLoadError(f"device {device!r} asked, but torch sees no CUDA GPU here")
    return torch.device(device)


def resolve_source(settings: EncoderSettings) -> ClamrSource:
    """Check the settings cheaply: device, 4-bit support, local folders that must exist."""
    device = resolve_device(settings.device)
    if settings.load_in_4bit and device.type != "cuda":
        raise ClamrLoadError(
            "4-bit loading (bitsandbytes NF4) needs a CUDA GPU, and this run is on the CPU. "
            "Turn 4-bit off to run CLaMR in float32 on the CPU (slow for a 3B model), or run on a "
            "machine with an NVIDIA GPU."
        )
    if settings.load_in_4bit and importlib.util.find_spec("bitsandbytes") is None:
        raise ClamrLoadError("4-bit loading needs bitsandbytes: pip install bitsandbytes")
    adapter = DEFAULT_ADAPTER if settings.adapter is None else settings.adapter
    adapter = None if adapter.strip().lower() in NO_ADAPTER else adapter
    if adapter:
        _check_local(adapter, "adapter", DEFAULT_ADAPTER)
    if settings.model:
        _check_local(settings.model, "base model", DEFAULT_BASE)
    return ClamrSource(settings.model, adapter, device, settings.load_in_4bit)


def _base_of(adapter: str) -> str:
    """The base model an adapter was trained on (``base_model_name_or_path``)."""
    from peft import PeftConfig

    local = Path(adapter).expanduser() / "adapter_config.json"
    if local.is_file():
        name = json.loads(local.read_text()).get("base_model_name_or_path")
    else:
        name = PeftConfig.from_pretrained(adapter).base_model_name_or_path
    if name and _looks_like_path(name) and not Path(name).expanduser().exists():
        # a folder on the machine the adapter was trained on
        log.warning("%s names its base as %s, not here: using %s", adapter, name, DEFAULT_BASE)
        name = None
    return name or DEFAULT_BASE


def _model_kwargs(source: ClamrSource) -> dict:
    if source.device.type != "cuda":
        return {"dtype": torch.float32}
    kwargs: dict = {"dtype": torch.bfloat16, "device_map": {"": source.device.index or 0}}
    if source.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_quant_storage=torch.bfloat16,
            # kept in bf16 so that a projection missing from the checkpoint can be seeded
            llm_int8_skip_modules=["custom_text_proj", "lm_head"],
        )
    return kwargs


def seed_projection(model: ClamrModel, seed: int = PROJECTION_SEED) -> None:
    """Draw ``custom_text_proj`` from a CPU generator: the same weights on every device."""
    projection = model.custom_text_proj
    std = getattr(model.config.get_text_config(), "initializer_range", 0.02)
    weight = torch.randn(projection.weight.shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        projection.weight.copy_(weight * std)
        projection.bias.zero_()


def _loading_failed(what: str, name: str, hub_example: str, cause: Exception) -> ClamrLoadError:
    reason = " ".join(str(cause).split())
    folder = f"models/{hub_example.split('/')[-1]}"
    return ClamrLoadError(
        f"{name}: could not load the CLaMR {what} ({type(cause).__name__}: {reason}). Provide it "
        f"as a local folder (for example after `hf download {hub_example} "
        f"--local-dir {folder}`, then pass that folder), or as a Hugging Face name such as "
        f"{hub_example} on a machine with internet access."
    )


def load_base(source: ClamrSource) -> tuple[ClamrModel, str]:
    """The base model without any adapter (projection seeded if missing), and its name.

    Shared by :func:`load_model` and fine-tuning (``backend.train``), which adds its own LoRA.
    """
    base = source.model
    if base is None:
        try:
            base = _base_of(source.adapter) if source.adapter else DEFAULT_BASE
        except (OSError, ValueError) as cause:
            raise _loading_failed(
                "adapter", source.adapter or "", DEFAULT_ADAPTER, cause
            ) from cause
    try:
        model, info = ClamrModel.from_pretrained(
            base, output_loading_info=True, **_model_kwargs(source)
        )
    except (OSError, ValueError) as cause:
        raise _loading_failed("base model", base, DEFAULT_BASE, cause) from cause
    if any(key.startswith("custom_text_proj") for key in info["missing_keys"]):
        seed_projection(model)
        log.warning(
            "%s has no custom_text_proj weights: seeded them with %d (CLaMR draws them at random "
            "before training its LoRA; an adapter without them cannot be reproduced exactly)",
            base,
            PROJECTION_SEED,
        )
    return model, base


def load_model(source: ClamrSource) -> tuple[nn.Module, str]:
    """The model (with its adapter) in eval mode, and the base model name used."""
    from peft import PeftModel

    model, base = load_base(source)
    if source.adapter:
        try:
            model = PeftModel.from_pretrained(model, source.adapter)
        except (OSError, ValueError) as cause:
            raise _loading_failed("adapter", source.adapter, DEFAULT_ADAPTER, cause) from cause
    return model.eval(), base


def load_processor(name: str) -> ClamrProcessor:
    try:
        return ClamrProcessor.from_pretrained(name)
    except (OSError, ValueError) as cause:
        raise _loading_failed("tokenizer and image processor", name, DEFAULT_BASE, cause) from cause


def _check_tokens(model: nn.Module, processor: ClamrProcessor) -> None:
    config = model.config
    pairs = {
        "<|image_pad|>": config.image_token_id,
        "<|video_pad|>": config.video_token_id,
        "<|vision_start|>": config.vision_start_token_id,
        "<|vision_end|>": config.vision_end_token_id,
    }
    wrong = {
        t: (processor.token_ids[t], i) for t, i in pairs.items() if processor.token_ids[t] != i
    }
    if wrong:
        raise ClamrLoadError(f"tokenizer and model disagree on special token ids: {wrong}")


def load(source: ClamrSource) -> tuple[nn.Module, ClamrProcessor]:
    model, base = load_model(source)
    processor = load_processor(base)
    _check_tokens(model, processor)
    return model, processor


def build_encoder(settings: EncoderSettings) -> ClamrEncoder:
    """Settings checked now; weights loaded on the first query or video."""
    source = resolve_source(settings)
    return ClamrEncoder(lambda: load(source), source.identity, settings.batch_size)
