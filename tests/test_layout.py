"""The house stays readable: no import cycle between our modules, no source file over 450 lines.

Every module under bench/ and retrievers/ is parsed (never imported), and every import statement
counts, at any level: top of the file, inside a function, under `if TYPE_CHECKING:`. An import
done inside a function to dodge a cycle still is one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "retrievers")
MAX_LINES = 450


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of ours (a package is its __init__.py)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name `path` imports: `import a.b` gives a.b, `from a.b import c` gives a.b.c."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (a name resolves to the longest module it starts with)."""
    known = modules()

    def ours(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    return {name: {target for dotted in imported_names(name, path)
                   if (target := ours(dotted)) is not None and target != name}
            for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, modules in sorted order)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            if (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    return next((cycle for module in sorted(graph) if (cycle := visit(module))), None)


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "bench.engine.edge" in graph["bench.engine"]  # inside open_engine(): a function-level import
    assert "bench.engine.base" in graph["bench.engine.edge"]  # a `from x import (a, b)` at the top
    assert "retrievers.bm25" in graph["bench.training.negatives"]  # inside a function, another package
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_source_file_over_450_lines() -> None:
    lengths = {path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
               for path in modules().values()}
    long = {path: lines for path, lines in lengths.items() if lines > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines, split them where a newcomer would: {long}"
