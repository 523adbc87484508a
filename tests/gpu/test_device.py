"""The one test that runs where there is no GPU: it says so, and the rest is not collected."""

from __future__ import annotations

import pytest
import torch

from tests.gpu.conftest import NO_CUDA

pytestmark = pytest.mark.gpu


def test_a_cuda_device_is_there():
    if not torch.cuda.is_available():
        pytest.skip(NO_CUDA)
    name = torch.cuda.get_device_name()
    free, total = torch.cuda.mem_get_info()
    print(
        f"\n{name}: {free / 2**30:.1f} of {total / 2**30:.1f} GiB free, torch {torch.__version__}"
    )
    assert torch.ones(1, device="cuda").item() == 1.0
