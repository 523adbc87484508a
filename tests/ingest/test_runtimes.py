"""Which runtime runs the ingest models, and that choosing it sends nothing anywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Counts the processes Python's multiprocessing starts while OpenVINO is imported and used the
#: way ingest uses it (its telemetry sends each event from a forked process).
WATCH_FORKS = """
import multiprocessing.popen_fork as popen_fork
started = popen_fork.Popen._launch
def counted(self, process):
    print("forked", flush=True)
    return started(self, process)
popen_fork.Popen._launch = counted
from backend.ingest.runtimes import import_openvino, openvino_computes_bfloat16, prefers_openvino
openvino_computes_bfloat16()
prefers_openvino("openvino")
core = import_openvino().Core()
print("imported", core.get_property("CPU", "FULL_DEVICE_NAME") != "", flush=True)
import time; time.sleep(1)  # a telemetry send starts on a worker thread: give it time
"""


def test_openvino_is_imported_without_sending_telemetry(tmp_path: Path) -> None:
    """Without ``import_openvino``'s declined consent, this run forks (seen: a plain ``import
    openvino`` in the same setting printed "forked"); that control is not a test here because
    on a machine with internet it would send a real event."""
    # A home with no opt-in file: where OpenVINO's telemetry would send an event on import.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WATCH_FORKS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "imported True" in done.stdout
    assert "forked" not in done.stdout
    assert not (tmp_path / "intel").exists()  # no client id or consent file written either
