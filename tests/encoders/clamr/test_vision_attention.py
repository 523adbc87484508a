"""Batched window attention gives transformers' own vision tower's vectors, with far fewer calls."""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode

from backend.encoders.clamr.modeling_clamr import ClamrModel
from backend.encoders.clamr.tiny import tiny_config
from backend.encoders.clamr.vision_attention import BatchedWindowAttention
from backend.ingest.types import Frame, IngestedVideo
from tests.device_audit import FactoryAudit


class StockClamr(ClamrModel):
    """The vision tower exactly as transformers ships it: one attention call per window."""

    batched_vision_windows = False


class CountAttention(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.nn.functional.scaled_dot_product_attention:
            self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.fixture(scope="module")
def stock(model, tokenizer):
    twin = StockClamr(tiny_config(tokenizer)).eval()
    twin.load_state_dict(model.state_dict())
    return twin


def _odd_video(video: IngestedVideo) -> IngestedVideo:
    """Frames of an aspect ratio whose windows come in several lengths (edges are partial)."""
    rng = torch.Generator().manual_seed(3)
    frames = [
        Frame(t, torch.randint(0, 255, (150, 470, 3), generator=rng).to(torch.uint8).numpy())
        for t in (0.0, 1.0, 2.0)
    ]
    return IngestedVideo(video.probe, frames, description="odd frames")


def test_the_vision_tower_is_batched(model, stock):
    assert all(isinstance(b.attn, BatchedWindowAttention) for b in model.model.visual.blocks)
    assert not any(isinstance(b.attn, BatchedWindowAttention) for b in stock.model.visual.blocks)
    assert model.state_dict().keys() == stock.state_dict().keys()  # same names: adapters load


def test_vectors_equal_the_stock_tower_with_fewer_attention_calls(
    model, stock, processor, grid_video, counter_video
):
    videos = [grid_video, counter_video, _odd_video(counter_video)]
    batch = processor.process_videos(videos)
    with torch.inference_mode():
        with CountAttention() as ours_count:
            ours = model(**batch.inputs)
        with CountAttention() as stock_count:
            theirs = stock(**batch.inputs)
    assert (ours - theirs).abs().max() < 1e-5  # the bar is 1e-3
    text_calls = model.config.text_config.num_hidden_layers
    ours_vision, stock_vision = ours_count.calls - text_calls, stock_count.calls - text_calls
    assert stock_vision > 3 * ours_vision, (stock_vision, ours_vision)


def test_the_vision_tower_makes_no_tensor_off_its_inputs_device(model, processor, counter_video):
    batch = processor.process_videos([_odd_video(counter_video)])
    visual = model.model.visual
    with torch.inference_mode(), FactoryAudit() as audit:
        visual(batch.inputs["pixel_values_videos"], grid_thw=batch.inputs["video_grid_thw"])
    mine = [c for c in audit.calls if "vision_attention" in c.file]
    assert not mine, "\n".join(map(str, mine))


def test_switching_back_to_the_stock_tower_and_again(model, processor, counter_video):
    import copy

    from backend.encoders.clamr.vision_attention import set_batched_windows

    twin = copy.deepcopy(model)
    batch = processor.process_videos([_odd_video(counter_video)])
    with torch.inference_mode():
        expected = twin(**batch.inputs)
        set_batched_windows(twin, False)
        with CountAttention() as stock_calls:
            stock = twin(**batch.inputs)
        set_batched_windows(twin, True)
        with CountAttention() as batched_calls:
            batched = twin(**batch.inputs)
    assert stock_calls.calls > batched_calls.calls
    assert (stock - expected).abs().max() < 1e-5 and torch.equal(batched, expected)
