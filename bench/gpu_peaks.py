"""Peak dense bf16 tensor-core FLOP/s of known GPUs, to say what share of it an encode reaches.

From NVIDIA's datasheets, the dense figures (the datasheets' headline numbers are "with
sparsity", twice these):

| GPU | dense bf16 TFLOP/s | source |
|---|---|---|
| H100 SXM5 | 989 | H100 Tensor Core GPU datasheet (1,979 with sparsity) |
| H100 NVL | 835 | same datasheet (1,671 with sparsity) |
| H100 PCIe | 756 | same datasheet (1,513 with sparsity) |
| H200 SXM | 989 | H200 Tensor Core GPU datasheet (1,979 with sparsity) |
| H200 NVL | 835 | same datasheet (1,671 with sparsity) |
| A100 (SXM4 and PCIe, 40 and 80 GB) | 312 | A100 Tensor Core GPU datasheet (624 with sparsity) |
| L40S | 362 | L40S datasheet (733 with sparsity) |
| L4 | 121 | L4 Tensor Core GPU datasheet (242 with sparsity) |
| A10 | 125 | A10 Tensor Core GPU datasheet (250 with sparsity) |

Measured on this workplace's H100 80GB HBM3 (SXM): an 8192^3 bf16 product ran at 798 TFLOP/s,
81 % of the datasheet's 989, which is the ceiling a real model can approach.

>>> peak_bf16_tflops("NVIDIA H100 80GB HBM3"), peak_bf16_tflops("NVIDIA H100 PCIe")
(989.0, 756.0)
>>> peak_bf16_tflops("NVIDIA L4"), peak_bf16_tflops("NVIDIA L40S"), peak_bf16_tflops("Tesla T4")
(121.0, 362.0, None)
"""

from __future__ import annotations

#: (words that must all be in the device name, words that must not, dense bf16 TFLOP/s);
#: the first match wins, so more specific names come first.
PEAKS: tuple[tuple[tuple[str, ...], tuple[str, ...], float], ...] = (
    (("H100", "NVL"), (), 835.0),
    (("H100", "PCIE"), (), 756.0),
    (("H100",), (), 989.0),  # SXM5: "NVIDIA H100 80GB HBM3"
    (("H200", "NVL"), (), 835.0),
    (("H200",), (), 989.0),
    (("A100",), (), 312.0),
    (("L40S",), (), 362.0),
    (("L4",), ("L40",), 121.0),
    (("A10",), ("A100",), 125.0),
)


def peak_bf16_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU by its CUDA name; ``None`` when it is not in the table."""
    words = device_name.upper().replace("-", " ").split()
    for needed, excluded, tflops in PEAKS:
        if all(w in words for w in needed) and not any(w in words for w in excluded):
            return tflops
    return None
