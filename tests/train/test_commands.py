"""``python -m backend train --switch`` and ``versions``: fine-tune, switch, search, roll back."""

from __future__ import annotations

import json

from backend.cli import main as cli
from backend.collection import Collection
from backend.config import Settings


def test_train_switch_search_and_roll_back(store_copy, capsys):
    store = str(store_copy)
    code = cli(["train", "--store", store, "--epochs", "1", "--max-steps", "3", "--switch"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "| all |" in out.out and "R@1 before" in out.out and "switched" in out.out
    assert "step    3/3" in out.err

    assert cli(["versions", "--store", store, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["active"]) for r in rows] == [("v0", False), ("v1", True)]
    assert rows[1]["adapter"].endswith("adapter") and rows[1]["missing_videos"] == 0

    adapted = Collection(Settings(store=store))  # follows the active version's adapter
    assert "+lora:" in adapted.encoder.identity
    hits = adapted.search("bin red by k seven now", k=3)
    assert hits[0].path.endswith("brbk7n.mpg")

    assert cli(["versions", "--store", store, "--activate", "v0"]) == 0
    capsys.readouterr()
    base = Collection(Settings(store=store))
    assert base.encoder.identity == "default:all-MiniLM-L6-v2"
    assert base.search("bin red by k seven now", k=1)[0].path.endswith("brbk7n.mpg")
