"""Shared fixtures: the real test material beside the repository.

Tests that need the real data (videos, recordings, images in ``../shared/data``) take the
``shared_data`` fixture and nothing else: on a checkout without that folder (anyone who clones
the repository) they are skipped, every self-contained test still runs (the demo collection is
in the repository), and the run ends with one line saying how many were skipped and why. With
the data (CI), all run; ``VIDEOSEARCH_REQUIRE_SHARED_DATA=1`` turns a missing folder into a
failure there. ``VIDEOSEARCH_SHARED_DATA=DIR`` reads the data from elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "VIDEOSEARCH_SHARED_DATA"
REQUIRE_ENV = "VIDEOSEARCH_REQUIRE_SHARED_DATA"
SHARED_DATA = Path(os.environ.get(SHARED_DATA_ENV) or REPO_ROOT.parent / "shared" / "data")
#: The skip reason of every real-data test: the summary counts skips by it.
NO_SHARED_DATA = f"no real test material at {SHARED_DATA}"


def skip_without_shared_data() -> None:
    """Skip the calling test (or fail it, where the data is required) if the data is missing."""
    if SHARED_DATA.is_dir():
        return
    if os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0"):
        pytest.fail(f"{NO_SHARED_DATA}, and {REQUIRE_ENV} says the tests need it")
    pytest.skip(NO_SHARED_DATA)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    skip_without_shared_data()
    return SHARED_DATA


#: How long a slow or GPU test may take before it is failed as hung (the default suite's limit is
#: pyproject's `timeout`).
LONG_SUITE_TIMEOUT_S = 3600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") or item.get_closest_marker("gpu"):
            item.add_marker(pytest.mark.timeout(LONG_SUITE_TIMEOUT_S))


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's last line: how many tests were skipped for want of the real data, and why
    (after pytest's own "N passed, M skipped", so it is what a reader sees last)."""
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if terminalreporter is None:
        return
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and NO_SHARED_DATA in str(report.longrepr[-1])
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped: they need the real test material, and there is "
            f"none at {SHARED_DATA} (put ../shared/data beside the checkout, or set "
            f"{SHARED_DATA_ENV}=DIR); every other test ran.",
            yellow=True,
            bold=True,
        )


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


@pytest.fixture(scope="session")
def picture_videos(shared_data: Path):
    """Four corpus videos ingested by what they look like only (``tests.pictures``), once."""
    from tests.pictures import VIDEOS, ingest_pictures

    return ingest_pictures([shared_data / "corpus" / name for name in VIDEOS])
