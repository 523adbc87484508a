"""Ingest test helpers: any test taking ``corpus_file`` runs once per video in the real corpus."""

from __future__ import annotations

import pytest

from tests.conftest import NO_SHARED_DATA, SHARED_DATA


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per corpus video; without the real data, one test, skipped for the same reason
    as every other test that needs it."""
    if "corpus_file" in metafunc.fixturenames:
        listing = SHARED_DATA / "corpus_files.txt"
        if listing.is_file():
            metafunc.parametrize("corpus_file", listing.read_text().split())
        else:
            missing = pytest.param("", marks=pytest.mark.skip(reason=NO_SHARED_DATA), id="no-data")
            metafunc.parametrize("corpus_file", [missing])
