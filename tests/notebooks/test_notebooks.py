"""The notebooks run as written: every code cell, in order, in one namespace, from the repo root.

No Jupyter kernel is needed (none is a dependency); a cell's last expression is what Jupyter
would display, so the test evaluates it too and checks what the quick start claims to show.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def run_cells(notebook: Path) -> tuple[dict, list[object]]:
    """Execute the code cells; returns the namespace and each cell's displayed value."""
    cells = json.loads(notebook.read_text())["cells"]
    namespace: dict = {"__name__": "__main__"}
    shown: list[object] = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(notebook), "exec"), namespace)
        value = None
        if last is not None:
            value = eval(compile(ast.Expression(last.value), str(notebook), "eval"), namespace)
        shown.append(value)
    return namespace, shown


@pytest.mark.timeout(900)
def test_quickstart_indexes_searches_explains_and_evaluates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(os.environ, "QUICKSTART_STORE", str(tmp_path / "store"))
    namespace, shown = run_cells(ROOT / "notebooks" / "quickstart.ipynb")

    info = shown[1]
    assert info["videos"] == len(list((ROOT / "assets" / "demo").glob("*.mp4")))
    top = namespace["top"]
    assert Path(top.path).name == "banana_bread.mp4"
    assert top.best_modality == "asr"
    matches = shown[2]
    assert any(label.lower() == "oven" for _, label, _ in matches), matches
    assert isinstance(shown[3], Image.Image) and shown[3].width > 100
    late = namespace["eval_report"].systems[0]
    assert late.rows["all"]["R@1"] >= 0.75, late.rows["all"]
