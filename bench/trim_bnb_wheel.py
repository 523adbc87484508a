"""Repack an installed bitsandbytes as a wheel holding one CUDA build, small enough to carry.

    python -m bench.trim_bnb_wheel --cuda 130 --out .whl

bitsandbytes' wheel holds a native library per CUDA and ROCm version (about 250 MB installed);
a GPU machine needs the one matching its torch (``torch.version.cuda`` 13.0 -> ``cuda130``) and
the CPU one. The wheel is built from the package as installed here (same version everywhere:
pure Python plus those libraries), with a fresh RECORD, so pip installs it like the original.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import sys
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def trim(cuda: str, out: Path) -> Path:
    dist = importlib.metadata.distribution("bitsandbytes")
    root = Path(dist.locate_file(""))
    keep_library = {f"libbitsandbytes_cuda{cuda}.so", "libbitsandbytes_cpu.so"}
    files = []
    for entry in dist.files or []:
        path = str(entry)
        if "__pycache__" in path or path.endswith(".pyc") or path.endswith("RECORD"):
            continue
        name = Path(path).name
        if name.startswith("libbitsandbytes_") and name not in keep_library:
            continue
        if (root / path).is_file():
            files.append(path)
    info = f"bitsandbytes-{dist.version}.dist-info"
    tag = next(
        line.split(": ", 1)[1]
        for line in (root / info / "WHEEL").read_text().splitlines()
        if line.startswith("Tag: ")
    )
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"bitsandbytes-{dist.version}-{tag}.whl"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            data = (root / path).read_bytes()
            archive.writestr(path, data)
            records.append(_record_line(path, data))
        records.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cuda", default="130", help="CUDA version digits: 130 for CUDA 13.0")
    parser.add_argument("--out", type=Path, default=Path(".whl"))
    args = parser.parse_args(argv)
    wheel = trim(args.cuda, args.out)
    print(f"{wheel} ({wheel.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
