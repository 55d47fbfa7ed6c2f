"""The shape of the code (issue #17): no import cycle, no over-long module, layers kept apart.

Everything is read from the source with ``ast`` (nothing is imported), over the project's
own code: ``analytics``, ``ui``, ``pages``, ``bench`` and ``app.py`` (tests are not part of
it). Each rule is a small function over a folder, and each has a test feeding it a tiny
synthetic project that breaks it, so none of them can pass by finding nothing.

Import edges: every ``import``/``from ... import`` in a module counts, at module level or
inside a function (a function-level import only defers a cycle to the first call, and is
how the old ``ui.state`` <-> ``ui.auth`` cycle hid), except imports under
``if TYPE_CHECKING:``, which never run. ``from package import name`` is an edge to
``package.name`` when that is a module of the project, else to ``package``.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("analytics", "ui", "pages", "bench", "app.py")
"""The project's code: packages and top-level scripts, relative to the repository root."""

MAX_LINES = 800

OVER_LONG_TODAY: set[str] = set()
"""Modules allowed over MAX_LINES: none. (During the #17 split this listed the modules being
split; entries may only go: the test fails for a module listed here that is under the limit.)"""


# --- reading the project -------------------------------------------------------------------


def python_files(root: Path, parts: tuple[str, ...] = PROJECT) -> list[Path]:
    """The ``.py`` files of ``parts`` (folders searched recursively, or single files)."""
    files: list[Path] = []
    for part in parts:
        path = root / part
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.is_file():
            files.append(path)
    return files


def module_name(root: Path, path: Path) -> str:
    """``analytics/storage/db.py`` -> ``analytics.storage.db``; a package is its folder."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every name an import statement of ``tree`` brings in (absolute, with its line),
    at any depth, leaving out ``if TYPE_CHECKING:`` blocks (their ``else`` counts)."""

    def visit(node: ast.AST) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for statement in child.orelse:
                    yield from visit_one(statement)
            else:
                yield from visit_one(child)

    def visit_one(node: ast.AST) -> Iterator[tuple[str, int]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno
        else:
            yield from visit(node)

    yield from visit(tree)


def import_graph(root: Path, parts: tuple[str, ...] = PROJECT) -> dict[str, dict[str, int]]:
    """Module -> the project's modules it imports (with the line of the first import)."""
    paths = {module_name(root, path): path for path in python_files(root, parts)}
    graph: dict[str, dict[str, int]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: dict[str, int] = {}
        for name, line in imported_names(tree, module, path.name == "__init__.py"):
            # ``from package import name``: the module package.name, else the package
            while name and name not in paths:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.setdefault(name, line)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]`` (depth-first, in sorted order), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph.get(module, {})):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def describe_cycle(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    """``a (line 3) -> b (line 9) -> a``: each hop with the line of its import."""
    hops = [
        f"{module} (line {graph[module][target]})" for module, target in itertools.pairwise(cycle)
    ]
    return " -> ".join([*hops, cycle[-1]])


def line_counts(root: Path, parts: tuple[str, ...] = PROJECT) -> dict[str, int]:
    """Lines per module, by path relative to ``root``."""
    return {
        path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in python_files(root, parts)
    }


def over_long(counts: dict[str, int], allowed: set[str]) -> tuple[dict[str, int], list[str]]:
    """Modules over ``MAX_LINES`` that are not allowed, and allowed ones no longer over."""
    over = {path: lines for path, lines in counts.items() if lines > MAX_LINES}
    return {path: over[path] for path in sorted(set(over) - allowed)}, sorted(allowed - set(over))


def streamlit_imports(root: Path, parts: tuple[str, ...] = ("analytics",)) -> list[str]:
    """``module:line`` of every import of streamlit (or a streamlit submodule) in ``parts``."""
    found = []
    for path in python_files(root, parts):
        module = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, line in imported_names(tree, module, path.name == "__init__.py"):
            if name == "streamlit" or name.startswith("streamlit."):
                found.append(f"{module}:{line}")
    return found


SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(?:CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+)?(?:TABLE|VIEW|INDEX)\b"
    r"|\bWITH\s+\w+\s+AS\s*\("
)
"""SQL as this project writes it (keywords in capitals), in a string literal."""

DATABASE_CALLS = frozenset({"execute", "executemany", "sql", "frame", "row", "cursor", "query"})
"""Methods that run SQL (DuckDB's and ``Database``'s): a page calls the library instead."""

SQL_MODULES = ("duckdb", "analytics.storage.sql")


def sql_in_pages(root: Path, parts: tuple[str, ...] = ("pages", "app.py")) -> list[str]:
    """``module:line what`` for each SQL string, SQL-running call or SQL import in ``parts``."""
    found = []
    for path in python_files(root, parts):
        module = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if SQL.search(node.value):
                    found.append(f"{module}:{node.lineno} SQL text")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in DATABASE_CALLS
            ):
                found.append(f"{module}:{node.lineno} .{node.func.attr}()")
        for name, line in imported_names(tree, module, False):
            if any(name == sql or name.startswith(f"{sql}.") for sql in SQL_MODULES):
                found.append(f"{module}:{line} imports {name}")
    return found


# --- the project --------------------------------------------------------------------------------


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph(ROOT)
    assert {"app", "analytics.cli", "ui.state", "ui.auth", "pages.overview", "bench"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {describe_cycle(graph, cycle)}"


def test_no_module_is_over_800_lines() -> None:
    counts = line_counts(ROOT)
    assert len(counts) > 50  # the whole project was read
    too_long, no_longer = over_long(counts, OVER_LONG_TODAY)
    assert too_long == {}, f"modules over {MAX_LINES} lines (split them by role): {too_long}"
    assert no_longer == [], (
        f"remove from OVER_LONG_TODAY (now {MAX_LINES} lines or fewer): {no_longer}"
    )


def test_analytics_never_imports_streamlit() -> None:
    assert streamlit_imports(ROOT) == []


def test_pages_hold_no_sql() -> None:
    assert sql_in_pages(ROOT) == []


# --- each check can fail ----------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    # ui.state imports ui.auth inside a function (as the old cycle did), ui.auth imports
    # ui.state at the top through a relative import; ui.charts' import of ui.state only
    # under TYPE_CHECKING and ui.format's from-import of a name are no cycle.
    root = _write(
        tmp_path,
        {
            "ui/__init__.py": '"""UI."""\n',
            "ui/state.py": "import os\n\n\ndef scope():\n    from ui.auth import current\n"
            "    return current()\n",
            "ui/auth.py": "from .state import scope\n\n\ndef current():\n    return 1\n",
            "ui/charts.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
            "    import ui.format\nelse:\n    import ui.state\n",
            "ui/format.py": "from ui.charts import TYPE_CHECKING\n",
        },
    )
    graph = import_graph(root, ("ui",))
    assert graph["ui.state"] == {"ui.auth": 5}
    assert graph["ui.auth"] == {"ui.state": 1}
    assert graph["ui.charts"] == {"ui.state": 6}  # the else branch runs, TYPE_CHECKING's not
    assert graph["ui.format"] == {"ui.charts": 1}
    cycle = find_cycle(graph)
    assert cycle == ["ui.auth", "ui.state", "ui.auth"]
    assert describe_cycle(graph, cycle) == "ui.auth (line 1) -> ui.state (line 5) -> ui.auth"
    del graph["ui.state"]["ui.auth"]
    assert find_cycle(graph) is None


def test_a_longer_cycle_through_a_package_is_found() -> None:
    graph = {"a": {"b.c": 1}, "b": {}, "b.c": {"d": 2}, "d": {"a": 3}, "e": {"a": 1}}
    assert find_cycle(graph) == ["a", "b.c", "d", "a"]


def test_over_long_modules_and_stale_allowances_are_found(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "analytics/long.py": "x = 1\n" * (MAX_LINES + 1),
            "analytics/limit.py": "x = 1\n" * MAX_LINES,
            "analytics/listed.py": "x = 1\n" * (MAX_LINES + 5),
            "analytics/split.py": "x = 1\n" * 10,
        },
    )
    counts = line_counts(root, ("analytics",))
    assert counts["analytics/long.py"] == MAX_LINES + 1
    allowed = {"analytics/listed.py", "analytics/split.py"}
    assert over_long(counts, allowed) == (
        {"analytics/long.py": MAX_LINES + 1},
        ["analytics/split.py"],
    )


def test_streamlit_in_analytics_is_found(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "analytics/__init__.py": "",
            "analytics/clean.py": "import os\nfrom typing import TYPE_CHECKING\n\n"
            "if TYPE_CHECKING:\n    import streamlit\n",
            "analytics/top.py": "import streamlit as st\n",
            "analytics/deep.py": "def f():\n    from streamlit.runtime import exists\n",
        },
    )
    assert sorted(streamlit_imports(root)) == ["analytics.deep:2", "analytics.top:1"]


def test_sql_in_a_page_is_found(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "pages/clean.py": 'st.write("Select the clients from the list")\n'
            "rows = metrics.summary(database(), filters)\n",
            "pages/text.py": 'QUERY = """\n    SELECT label\n    FROM clients\n"""\n',
            "pages/writes.py": "x = 'DELETE FROM contacts WHERE client_id = $id'\n",
            "pages/calls.py": "db = database()\nrows = db.frame(fragment)\n",
            "pages/kit.py": "from analytics.storage.sql import sql\n",
            "app.py": "import duckdb\n",
        },
    )
    assert sorted(sql_in_pages(root)) == [
        "app:1 imports duckdb",
        "pages.calls:2 .frame()",
        "pages.kit:1 imports analytics.storage.sql.sql",
        "pages.text:1 SQL text",
        "pages.writes:1 SQL text",
    ]
