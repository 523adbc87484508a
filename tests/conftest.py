"""Shared fixtures: the real test material beside the repository."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test material not found at {SHARED_DATA}: the tests need ../shared/data")
    return SHARED_DATA


def run_cli(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    """``python -m backend ARGS`` from the repository root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass(frozen=True)
class IndexedCorpus:
    store: Path
    report: dict  # the JSON that `index --json` printed
    seconds: float  # wall time of the first run


@pytest.fixture(scope="session")
def corpus_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> IndexedCorpus:
    """The whole real corpus indexed once per test session with the command line."""
    store = tmp_path_factory.mktemp("corpus") / "store"
    start = time.perf_counter()
    done = run_cli("index", str(shared_data / "corpus"), "--store", str(store), "--json")
    seconds = time.perf_counter() - start
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return IndexedCorpus(store, json.loads(done.stdout), seconds)
