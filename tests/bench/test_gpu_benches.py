"""The CLaMR GPU benchmarks' CPU-side parts: their input, the peak table, and the wheel trim."""

from __future__ import annotations

import zipfile

import pytest

from backend.encoders.base import Modality
from backend.encoders.clamr.frames import PatchGeometry
from backend.encoders.clamr.processing_clamr import ClamrProcessor
from backend.encoders.clamr.tiny import build_tiny_tokenizer
from bench.clamr_inputs import synthetic_video
from bench.gpu_peaks import peak_bf16_tflops


def test_synthetic_input_is_clamrs_size():
    processor = ClamrProcessor(build_tiny_tokenizer(), PatchGeometry())
    sequence = processor.encode_document(synthetic_video(0))
    counts = {m: int((sequence.modalities == int(m)).sum()) for m in Modality}
    assert counts[Modality.VIDEO] == 300  # ten 640x360 frames at <= 224x224: 5 x 6 x 10
    assert counts[Modality.ASR] == 256  # CLaMR's per-text limit, reached
    assert counts[Modality.OCR] > 20 and counts[Modality.DESCRIPTION] > 20
    again = synthetic_video(0)  # deterministic
    assert again.frames[3].image.tobytes() == synthetic_video(0).frames[3].image.tobytes()


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.0),
        ("NVIDIA H200", 989.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA L4", 121.0),
        ("NVIDIA L40S", 362.0),
        ("NVIDIA A10", 125.0),
        ("Tesla T4", None),
    ],
)
def test_peak_table(name, tflops):
    assert peak_bf16_tflops(name) == tflops


def test_trimmed_bitsandbytes_wheel_keeps_one_cuda_build(tmp_path):
    pytest.importorskip("bitsandbytes")
    from bench.trim_bnb_wheel import trim

    wheel = trim("130", tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    libraries = sorted(n.rsplit("/", 1)[-1] for n in names if n.endswith(".so"))
    assert libraries == ["libbitsandbytes_cpu.so", "libbitsandbytes_cuda130.so"]
    assert any(n.endswith(".dist-info/RECORD") for n in names)
    assert "bitsandbytes/__init__.py" in names
