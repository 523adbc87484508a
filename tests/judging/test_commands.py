"""The judging command line on a small real store, as a script would use it (in this
process: ``backend.cli.main`` with the arguments a shell would pass)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cli import main


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_pool_label_agreement_and_qrels(
    tiny_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    def cli(store: Path, *args: str) -> str:
        code, out, err = run(capsys, *args, "--store", str(store))
        assert code == 0, err[-2000:]
        return out

    queries = tmp_path / "set.tsv"
    queries.write_text("q1\tbring an umbrella for the rain\tspeech\nq2\tbanana bread\n")
    assert "2 queries added" in cli(tiny_store, "queries", "import", str(queries))

    pools = json.loads(cli(tiny_store, "pool", "--depth", "2", "--json"))
    assert set(pools) == {"q1", "q2"}
    rain = next(c for c in pools["q1"] if c["file_name"] == "rain.mp4")
    assert rain["video_id"] == "rain" and rain["rankers"]["modality_max"] == 1

    for user, grades in (("ann", (2, 0)), ("bob", (2, 1))):
        for video, grade in zip(("rain.mp4", "sun"), grades):  # a file name or an id
            cli(tiny_store, "label", "--query-id", "q1", "--video", video, "--grade", str(grade),
                "--user", user, "--moment", "1.5")  # fmt: skip
    listed = {q["qid"]: q for q in json.loads(cli(tiny_store, "queries", "list", "--json"))}
    assert listed["q1"]["settled"] == 1 and listed["q1"]["disagreements"] == 1

    agreement = json.loads(cli(tiny_store, "agreement", "--json"))
    kappa = agreement["statistics"]["cohen_kappa"]
    assert kappa["pairs"] == 2 and agreement["unsettled_disagreements"] == 1
    # by hand: observed 1/2; chance: ann (2, 0), bob (2, 1) -> P(2) = 1/2 * 1/2 = 1/4
    assert abs(kappa["value"] - (0.5 - 0.25) / (1 - 0.25)) < 1e-9

    out = tmp_path / "qrels.txt"
    code, _, err = run(capsys, "qrels", "export", "--store", str(tiny_store), "--out", str(out))
    assert code == 0 and "left out until adjudicated" in err
    assert out.read_text() == "q1 0 rain.mp4 2\n"
    code, _, err = run(capsys, "label", "--query-id", "q9", "--video", "rain", "--grade", "2",
                       "--store", str(tiny_store))  # fmt: skip
    assert code == 2 and "no query 'q9'" in err
