"""The project's import graph: no circles between modules, and the layers import downwards only.

Imports are read with ``ast`` from the source of ``benchmark/``, ``detectors/`` and ``datasets/``,
including imports inside functions (a deferred import still ties the two modules together), but
not those under ``if TYPE_CHECKING:``, which never run. An edge goes to the module an import names: ``from a.b import c`` to ``a.b.c`` when that is a module,
else to ``a.b``. Importing a submodule also runs its package's ``__init__``, but that is no
circle of the code's own making, so parent packages get no edge of their own.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "detectors", "datasets")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (annotations only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` (at ``path``) imports."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_circle(graph, set(c)) for c in components]


def _circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path a -> ... -> a inside ``component``, for the failure message."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return sorted(component)


def test_the_graph_is_read_from_the_source():
    """The reader sees relative, absolute, submodule and deferred imports (so the test can fail)."""
    graph = _graph()
    assert "detectors.batched.registry" in graph["detectors.batched.deep_sad"]  # from .registry import ...
    assert "detectors.deep_sad" in graph["detectors.batched.deep_sad"]  # from ..deep_sad import ...
    assert "detectors.batched.aa_bigan" in graph["detectors.batched"]  # from . import aa_bigan
    assert "detectors.batched" in graph["benchmark.runner"]  # deferred, inside group_jobs
    typed = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n")
    assert {n.names[0].name for n in _runtime_nodes(typed) if isinstance(n, ast.Import)} == {"b"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circle_between_the_projects_modules():
    circles = _cycles(_graph())
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize("package", ["detectors", "datasets"])
def test_detectors_and_datasets_never_import_the_benchmark(package):
    graph = _graph()
    wrong = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.split(".")[0] == package
                   for t in targets if t.split(".")[0] == "benchmark")
    assert not wrong, wrong


def test_detector_modules_never_import_the_batched_trainers():
    """Batched trainers register for the detector class they train; a detector does not know them."""
    graph = _graph()
    wrong = sorted(f"{m} -> {t}" for m, targets in graph.items()
                   if m.startswith("detectors") and not m.startswith("detectors.batched")
                   for t in targets if t.startswith("detectors.batched"))
    assert not wrong, wrong
