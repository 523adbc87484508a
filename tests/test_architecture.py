"""The shape of the code, checked: one door into the backend, one writer of the store.

- ``app/`` and ``backend/cli.py`` import from the backend only ``backend.collection`` and
  ``backend.config`` (the command line may also import the ``add_*`` functions by which other
  packages register their sub-commands), and the app does not reach through the collection to
  the store, searcher, indexer or encoder behind it.
- A store's privates stay inside ``backend/store/``: no ``store._db``, no ``_``-names imported
  from ``backend.store`` modules.
- Nothing outside ``backend/store/`` writes a LanceDB table itself: writes are methods of
  ``VideoStore`` (and ``StoreVersions``), which commit under the store's write lock.

Parsed with ``ast``, so the checks see imports inside functions too, and nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

DOORS = {"backend.collection", "backend.config"}
THROUGH_THE_DOOR = {"store", "searcher", "indexer", "encoder"}
#: LanceDB table (and connection) methods that change a store.
TABLE_WRITES = {
    "add",
    "delete",
    "update",
    "merge_insert",
    "optimize",
    "compact_files",
    "cleanup_old_versions",
    "add_columns",
    "alter_columns",
    "drop_columns",
    "restore",
    "create_table",
    "drop_table",
    "create_index",
    "create_scalar_index",
}


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO_ROOT / folder).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(REPO_ROOT)}:{node.lineno}"


def _backend_imports(tree: ast.Module) -> list[tuple[ast.AST, str, list[str]]]:
    """(node, module, names) for every import of a ``backend`` module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, a.name, []) for a in node.names if a.name.split(".")[0] == "backend"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "backend":  # from backend import collection
                found += [(node, f"backend.{a.name}", []) for a in node.names]
            elif node.module.startswith("backend."):
                found.append((node, node.module, [a.name for a in node.names]))
    return found


def _is_registrar(module: str, names: list[str]) -> bool:
    """``from backend.<package>.commands import add_commands``: a sub-command registration."""
    last = module.rsplit(".", 1)[-1]
    return last in ("commands", "cli") and bool(names) and all(n.startswith("add_") for n in names)


def test_the_app_and_the_command_line_enter_the_backend_through_the_collection():
    wrong = []
    for path in [*_modules("app"), REPO_ROOT / "backend" / "cli.py"]:
        is_cli = path.name == "cli.py" and path.parent.name == "backend"
        for node, module, names in _backend_imports(_tree(path)):
            if module in DOORS or (is_cli and _is_registrar(module, names)):
                continue
            wrong.append(f"{_where(path, node)} imports {module}")
    assert not wrong, (
        "app/ and backend/cli.py may import only backend.collection and backend.config "
        "(add a Collection method, or re-export the type from backend.collection):\n"
        + "\n".join(wrong)
    )


def _terminal_name(node: ast.AST) -> str:
    """``ctx.collection.store`` -> "store"; ``store`` -> "store"; a call -> its function's."""
    if isinstance(node, ast.Call):
        return _terminal_name(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def test_the_app_does_not_reach_through_the_collection():
    wrong = []
    for path in _modules("app"):
        for node in ast.walk(_tree(path)):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in THROUGH_THE_DOOR
                and _terminal_name(node.value) == "collection"
            ):
                wrong.append(f"{_where(path, node)} uses collection.{node.attr}")
    assert not wrong, "use (or add) a Collection method instead:\n" + "\n".join(wrong)


def _outside_the_store() -> list[Path]:
    store = REPO_ROOT / "backend" / "store"
    return [p for p in _modules("backend", "app", "bench") if store not in p.parents]


def test_nothing_outside_the_store_package_touches_a_store_private():
    wrong = []
    for path in _outside_the_store():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("backend.store"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                wrong += [f"{_where(path, node)} imports {node.module}.{n}" for n in private]
            elif (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and ("store" in _terminal_name(node.value).lower() or node.attr == "_db")
            ):
                wrong.append(f"{_where(path, node)} touches {ast.unparse(node)}")
    assert not wrong, "give the store a public method instead:\n" + "\n".join(wrong)


def _is_table_handle(node: ast.AST, handles: set[str]) -> bool:
    """``x.table(...)``, ``x.open_table(...)``, or a local name bound to one."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("table", "open_table")
    return isinstance(node, ast.Name) and node.id in handles


def test_nothing_outside_the_store_package_writes_a_table_itself():
    wrong = []
    for path in _outside_the_store():
        for function in ast.walk(_tree(path)):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
                continue
            handles = {
                target.id
                for node in ast.walk(function)
                if isinstance(node, ast.Assign) and _is_table_handle(node.value, set())
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in TABLE_WRITES
                    and _is_table_handle(node.func.value, handles)
                ):
                    wrong.append(f"{_where(path, node)} {ast.unparse(node.func)}")
    assert not wrong, (
        "write through VideoStore's methods (they hold the store's write lock):\n"
        + "\n".join(sorted(set(wrong)))
    )
