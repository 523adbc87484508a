"""A first start on an empty store indexes the demo collection in the background; searching
works from the first second and finds the demo's answers once it is done."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from gradio_client import Client

from app.settings import DEMO_DIR
from tests.app.conftest import AppServer


@pytest.mark.slow
def test_first_start_indexes_the_demo_collection(app_factory, tmp_path: Path) -> None:
    server: AppServer = app_factory(tmp_path / "store")
    client = Client(server.url, verbose=False)
    early = client.predict("bring an umbrella", 3, "modality_max", [], api_name="/search")
    assert len(early["hits"]) < 6  # answered at once, while the demo is still being indexed
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if len(client.predict(api_name="/collection")["videos"]) == 6:
            break
        time.sleep(5)
    else:
        pytest.fail(f"the demo collection was not indexed in time:\n{server.log_tail()}")
    queries = [json.loads(line) for line in (DEMO_DIR / "queries.jsonl").read_text().splitlines()]
    found = 0
    for query in queries:
        hits = client.predict(query["query"], 1, "modality_max", [], api_name="/search")["hits"]
        found += hits[0]["file_name"] in query["relevant"]
    assert found >= len(queries) * 0.7, f"{found} of {len(queries)} demo queries answered first"
