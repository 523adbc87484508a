"""The real app as a subprocess (``python -m app``) on a temp store and a free port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_cli

STARTUP_TIMEOUT_S = 120
#: Two real videos: a GRID speaker ("bin blue at f two now") and the counter test card.
PAIR = ("corpus/grid_lipnet/bbaf2n.mpg", "corpus/pyscenedetect/counter.mp4")
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # labels are on disk once written
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def start_app(store: Path, log: Path, *flags: str, env: dict[str, str] | None = None) -> AppServer:
    """Start the app and wait until it answers; fails with its log if it does not."""
    port = free_port()
    environment = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **(env or {}),
    }
    command = [sys.executable, "-m", "app", "--store", str(store), "--port", str(port), *flags]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    server = AppServer(process, f"http://127.0.0.1:{port}/", log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    pytest.fail(f"the app did not answer within {STARTUP_TIMEOUT_S} s:\n{server.log_tail()}")


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Callable[..., AppServer]]:
    """Start apps (each call one more); all are stopped after the test."""
    started: list[AppServer] = []

    def factory(store: Path, *flags: str, env: dict[str, str] | None = None) -> AppServer:
        server = start_app(store, tmp_path / "app.log", *flags, env=env)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def indexed_pair(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two videos of ``PAIR`` indexed once with the command line; copy it before use
    (``copy_store``)."""
    store = tmp_path_factory.mktemp("pair") / "store"
    done = run_cli("index", *(str(shared_data / name) for name in PAIR), "--store", str(store))
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def copy_store(store: Path, target: Path) -> Path:
    """A private copy of an indexed store, safe to train on and switch."""
    shutil.copytree(store, target)
    return target
