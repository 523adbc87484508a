"""The search benchmark end to end, on a collection small enough for the test suite."""

from __future__ import annotations

import json

from backend.bench.search_bench import BenchConfig, format_table, run_bench
from backend.bench.synthetic import SyntheticCollection, SyntheticSpec
from backend.cli import main


def test_one_run_measures_every_row(tmp_path):
    config = BenchConfig(
        n_videos=120,
        tokens_per_video=16,
        dim=32,
        queries=3,
        repeat=1,
        settings=("float16", "int8-pool0.9"),
        lancedb_queries=2,
        workdir=str(tmp_path),
    )
    result = run_bench(config, log=lambda _: None)
    names = [row["name"] for row in result["rows"]]
    assert names[0].startswith("exact MaxSim")
    assert "two-stage, float16" in names and "two-stage, int8-pool0.9" in names
    assert any(n.startswith("torch einsum") for n in names)
    assert any(n.startswith("LanceDB flat") for n in names)
    for row in result["rows"]:
        if row["name"].startswith(("exact", "two-stage", "LanceDB")):
            assert row["recall_at_10"] >= 0.7  # 120 videos: nearly all are candidates
        if row["queries"]:
            assert 0 < row["p50_ms"] <= row["p95_ms"]
    table = format_table(result)
    assert "| two-stage, float16 |" in table
    # What it ran on: the machine and the kernels this run measured (it built the indexes).
    assert result["machine"]["cpu_capability"] and result["machine"]["cores"] >= 1
    assert table.splitlines()[1].startswith(f"Machine: {result['machine']['cpu']}")
    assert any(use.startswith("k-means assignment") for use in result["kernels"])
    assert "build s per M tokens" in table
    fresh = next(r for r in result["rows"] if r["name"] == "two-stage, float16")
    assert fresh["build_s"] > 0
    # A second run reuses the store and its indexes (no build time to report).
    again = run_bench(config, log=lambda _: None)
    assert all(r["build_s"] is None for r in again["rows"])


def test_the_command_prints_json(tmp_path, capsys):
    code = main(
        [
            "bench",
            "search",
            "--videos",
            "60",
            "--tokens",
            "8",
            "--dim",
            "16",
            "--queries",
            "2",
            "--repeat",
            "1",
            "--setting",
            "int8",
            "--no-baselines",
            "--workdir",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in result["rows"]] == [
        "exact MaxSim (ours, --exact)",
        "two-stage, int8",
    ]


def test_queries_come_from_their_target_video():
    collection = SyntheticCollection(SyntheticSpec(50, tokens_per_video=32, dim=32))
    target, query = collection.query(0)
    best = (query.vectors @ collection.video(target).vectors.T).max(axis=1)
    assert (best[: len(best) * 3 // 4] > 0.7).all()  # the copied tokens match their source
