"""Ingest test helpers: any test taking ``corpus_file`` runs once per video in the real corpus."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_file" in metafunc.fixturenames:
        listing = SHARED_DATA / "corpus_files.txt"
        names = listing.read_text().split() if listing.is_file() else []
        metafunc.parametrize("corpus_file", names)
