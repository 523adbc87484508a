"""TREC qrels: read and written as trec_eval does; ``eval --qrels`` on a file written by hand
gives the metrics a hand calculation gives (graded nDCG, recall, MRR, judged@10)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from backend.cli import main
from backend.eval.metrics import judged_at, per_query_graded
from backend.eval.qrels import Qrel, format_qrels, read_qrels
from tests.judging.conftest import tiny_store, tiny_template  # noqa: F401 - fixtures

QRELS = """\
q1 0 rain.mp4 2
q1 0 sun.mp4 1
q1 0 gone.mp4 1
q1 0 bread.mp4 0
q2 0 bread.mp4 0
"""


def hand_metrics(ranking: list[str], grades: dict[str, int]) -> dict[str, float]:
    """trec_eval's definitions, written out: gain = grade, discount log2(rank + 1)."""
    dcg = sum(grades.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranking[:10], 1))
    ideal = sorted(grades.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, 1))
    relevant = {doc for doc, g in grades.items() if g >= 1}
    first = next((r for r, doc in enumerate(ranking, 1) if doc in relevant), None)
    return {
        "nDCG@10": dcg / idcg,
        "R@1": len(relevant & set(ranking[:1])) / len(relevant),
        "R@10": len(relevant & set(ranking[:10])) / len(relevant),
        "MRR": 1 / first if first else 0.0,
        "judged@10": sum(doc in grades for doc in ranking[:10]) / len(ranking[:10]),
    }


def test_read_and_format_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text(QRELS)
    qrels = read_qrels(path)
    assert qrels["q1"] == {"rain.mp4": 2, "sun.mp4": 1, "gone.mp4": 1, "bread.mp4": 0}
    lines = [Qrel(q, d, g) for q, docs in qrels.items() for d, g in docs.items()]
    assert sorted(format_qrels(lines).splitlines()) == sorted(QRELS.splitlines())
    path.write_text("q1 rain.mp4 2\n")
    with pytest.raises(ValueError, match=r"qrels.txt:1: expected 'qid 0 docid grade'"):
        read_qrels(path)


def test_graded_metrics_by_hand() -> None:
    grades = {"a": 2, "b": 1, "c": 0, "z": 1}  # z: relevant, never retrieved
    ranking = ["c", "b", "x", "a"]
    got = per_query_graded({"q": grades}, {"q": [(d, 0.0) for d in ranking]})["q"]
    dcg = 1 / math.log2(3) + 2 / math.log2(5)
    idcg = 2 + 1 / math.log2(3) + 1 / math.log2(4)
    assert got["nDCG@10"] == pytest.approx(dcg / idcg)
    assert got["R@1"] == 0 and got["R@5"] == pytest.approx(2 / 3) and got["MRR"] == 0.5
    assert judged_at(set(grades), ranking) == 0.75
    assert per_query_graded({"q": {"a": 0}}, {"q": [("a", 0.0)]}) == {}  # nothing relevant


def test_eval_qrels_on_a_hand_written_file(
    tiny_store: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    def cli(*args: str) -> str:
        code = main([*args, "--store", str(tiny_store)])
        out = capsys.readouterr()
        assert code == 0, out.err
        return out.out

    queries = tmp_path / "set.tsv"
    queries.write_text("q1\tbring an umbrella for the rain\tspeech\nq2\tbanana bread\n")
    cli("queries", "import", str(queries))
    qrels = tmp_path / "qrels.txt"
    qrels.write_text(QRELS)
    found = cli("search", "bring an umbrella for the rain", "-k", "10", "--json")
    ranking = [Path(hit["path"]).name for hit in json.loads(found)]
    assert ranking[0] == "rain.mp4" and len(ranking) == 4

    report = json.loads(cli("eval", "--qrels", str(qrels), "--json"))
    assert report["relevance"].startswith("qrels") and report["n_queries"] == 2
    late = report["systems"]["late interaction (modality_max)"]["per_query"]
    assert set(late) == {"q1"}  # q2 has no relevant video: not scored, as in trec_eval
    expected = hand_metrics(ranking, read_qrels(qrels)["q1"])
    for metric, value in expected.items():
        assert late["q1"][metric] == pytest.approx(value), metric
    assert "judged@10" in cli("eval", "--qrels", str(qrels))
    assert main(["eval", "--store", str(tiny_store)]) == 2  # neither file given
