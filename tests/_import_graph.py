"""The import graph of the `l0` package, read from its source with `ast` (nothing imported).

Every `import` statement counts: at module level, inside functions (lazy imports still run),
and inside `if TYPE_CHECKING:` blocks. Each edge remembers whether it runs: a TYPE_CHECKING
import never executes, so it cannot make a module read a clock, but it still ties the two
modules' meanings together, so it counts for cycles and layers.

`from pkg import name` is an edge to `pkg.name` when that is a module, else to `pkg`; an
import of a module outside l0 is recorded by its top-level name (`anyio`, `time`). Importing a
submodule also runs its parents' `__init__`; that is Python's mechanics, not a dependency the
code chose, so it is not an edge (grimp and import-linter count the same way).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import l0

ROOT = Path(l0.__file__).resolve().parent


@dataclass(frozen=True)
class Edge:
    target: str  # an l0 module, or the top-level name of another package
    runs: bool  # False inside `if TYPE_CHECKING:`


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(nodes: Iterable[ast.AST], runs: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below `nodes`, with whether it runs (False under `if TYPE_CHECKING:`)."""
    for node in nodes:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, False)
            yield from _statements(node.orelse, runs)
            continue
        yield node, runs
        yield from _statements(ast.iter_child_nodes(node), runs)


def _nearest_module(name: str) -> str:
    known = modules()
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the importing module's package
        package = module if modules()[module].name == "__init__.py" else module.rsplit(".", 1)[0]
        parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base
        for alias in node.names
    ]


@functools.cache
def graph() -> dict[str, frozenset[Edge]]:
    """module -> the modules it imports (see the module docstring)."""
    found: dict[str, frozenset[Edge]] = {}
    for module, path in modules().items():
        edges = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, runs in _statements(tree.body, True):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _targets(module, node):
                if target == "l0" or target.startswith("l0."):
                    target = _nearest_module(target)
                    if target != module:
                        edges.add(Edge(target, runs))
                elif target != "__future__":
                    edges.add(Edge(target.split(".")[0], runs))
        found[module] = frozenset(edges)
    return found


def l0_edges(*, running_only: bool = False) -> dict[str, set[str]]:
    """The graph restricted to l0 modules."""
    return {
        module: {
            e.target
            for e in edges
            if e.target in modules() and (e.runs or not running_only)
        }
        for module, edges in graph().items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def reach(start: Iterable[str]) -> dict[str, list[str]]:
    """Every l0 module the `start` modules load when imported or run (TYPE_CHECKING-only
    imports excluded), each with the import chain that reaches it."""
    running = l0_edges(running_only=True)
    paths = {module: [module] for module in start}
    todo = list(paths)
    while todo:
        module = todo.pop()
        for target in sorted(running[module]):
            if target not in paths:
                paths[target] = [*paths[module], target]
                todo.append(target)
    return paths


def external_imports(module: str) -> set[str]:
    """The non-l0 top-level modules `module` imports where it runs."""
    return {e.target for e in graph()[module] if e.runs and e.target not in modules()}
