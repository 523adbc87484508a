"""Query sets from the eval JSONL, a TSV, or typed lines; errors name the file and line."""

from __future__ import annotations

import json

import pytest

from backend.judging.query_files import parse_lines, read_query_file, text_qid


def test_the_eval_jsonl_is_a_query_set(tmp_path, shared_data):
    specs = read_query_file(shared_data / "retrieval_dev.jsonl")
    assert len(specs) == 9 and specs[2].qid == "grid_bbaf2n"
    assert specs[2].text == "bin blue at f two now" and specs[2].query_type == "speech"
    bare = tmp_path / "bare.jsonl"  # queries with no relevant videos yet
    bare.write_text(json.dumps({"qid": "x1", "query": "a  red fox"}) + "\n")
    found = [(s.qid, s.text, s.query_type) for s in read_query_file(bare)]
    assert found == [("x1", "a red fox", "")]


def test_tsv_and_typed_lines(tmp_path):
    tsv = tmp_path / "set.tsv"
    tsv.write_text("# my set\nq1\tred fox\tvisual\nq2\tbin blue\n")
    assert [(s.qid, s.query_type) for s in read_query_file(tsv)] == [("q1", "visual"), ("q2", "")]
    tsv.write_text("q1\tred fox\njust words\n")
    with pytest.raises(ValueError, match=r"set.tsv:2: expected qid<TAB>query"):
        read_query_file(tsv)
    typed = parse_lines("just words\nq9\tother words")
    assert [s.qid for s in typed] == [text_qid("Just  WORDS"), "q9"]
    with pytest.raises(ValueError, match="no such file"):
        read_query_file(tmp_path / "missing.tsv")
