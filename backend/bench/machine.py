"""What a benchmark ran on: CPU model, its vector capability, cores and the GPU if one is used.

Every speed figure depends on these (a bfloat16 product is fast on a CPU with AMX and 45x slower
on one with only AVX2), so every benchmark prints this line and puts the dict in its JSON.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str | None = None) -> dict[str, object]:
    """The machine a run measures: ``cpu``, ``cpu_capability`` (torch's dispatch level,
    e.g. ``AVX2`` or ``AVX512``), ``cores`` (usable by this process), ``torch``, and ``gpu``
    (the CUDA device's name when ``device`` is a CUDA device, else ``None``)."""
    import torch

    gpu = None
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(device))
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores": cores,
        "torch": torch.__version__,
        "gpu": gpu,
    }


def machine_line(info: dict[str, object]) -> str:
    """One line for a table's heading, e.g. ``AMD EPYC (AVX2), 2 cores, torch 2.13.0``.

    >>> machine_line({"cpu": "AMD EPYC", "cpu_capability": "AVX2", "cores": 2,
    ...               "torch": "2.13.0", "gpu": None})
    'AMD EPYC (AVX2), 2 cores, torch 2.13.0'
    """
    line = f"{info['cpu']} ({info['cpu_capability']}), {info['cores']} cores, torch {info['torch']}"
    if info.get("gpu"):
        line += f", GPU {info['gpu']}"
    return line
