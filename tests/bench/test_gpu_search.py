"""The GPU search bench's rows, run small on the CPU: our resident search finds the exact top 10."""

from __future__ import annotations

from backend.bench.gpu_search import GpuBenchConfig, format_gpu_table, modality_ids, run_gpu_bench


def test_rows_on_a_small_collection():
    config = GpuBenchConfig(
        n_videos=300,
        tokens_per_video=64,
        dim=32,
        queries=4,
        repeat=1,
        device="cpu",
        chunk_videos=128,
    )
    result = run_gpu_bench(config, log=lambda _: None)
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {
        "plain torch (float16, dense)",
        "ours, resident float16 (torch)",
        "ours, resident int8 (torch)",
    }
    assert rows["ours, resident float16 (torch)"]["recall_at_10"] == 1.0
    assert rows["ours, resident float16 (torch)"]["max_score_error"] < 2e-3
    assert rows["ours, resident int8 (torch)"]["recall_at_10"] >= 0.9
    assert rows["ours, resident int8 (torch)"]["bytes_per_video"] < 0.6 * 64 * 32 * 2 + 64 * 8
    table = format_gpu_table(result)
    assert "| ours, resident int8 (torch) |" in table and "300 videos x 64 tokens" in table


def test_layout_shares():
    ids = modality_ids(256)
    assert [ids.count(m) for m in (1, 2, 3, 4)] == [96, 96, 32, 32]
