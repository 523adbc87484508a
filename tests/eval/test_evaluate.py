"""`eval` on the real dev queries over the real corpus: the table, and the bounds we promise."""

from __future__ import annotations

import json

from tests.conftest import IndexedCorpus, run_cli


def test_eval_table_meets_the_bounds(corpus_store: IndexedCorpus, shared_data):
    queries = str(shared_data / "retrieval_dev.jsonl")
    table = run_cli("eval", queries, "--store", str(corpus_store.store))
    assert table.returncode == 0, table.stderr
    for heading in ("R@1", "R@5", "R@10", "nDCG@10", "MRR", "moment", "BM25"):
        assert heading in table.stdout
    print(table.stdout)

    report = json.loads(
        run_cli("eval", queries, "--store", str(corpus_store.store), "--json").stdout
    )
    assert report["n_queries"] == 9 and not report["queries_without_indexed_relevant_video"]
    late = report["systems"]["late interaction (modality_max)"]["metrics"]
    bm25 = report["systems"]["BM25 (asr+ocr+description)"]["metrics"]
    assert late["speech"]["R@1"] >= 0.75
    assert late["ocr"]["R@1"] >= 0.75
    assert late["all"]["nDCG@10"] > bm25["all"]["nDCG@10"]
    assert late["ocr"]["moment"] == 1.0  # "Frame = 22" is found at 2 s (PTS 2.1 s)
