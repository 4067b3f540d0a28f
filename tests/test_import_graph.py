"""The import graph of controller/p4mobility: no circles, and the layers hold.

Rule: every module is read with ``ast`` (nothing is imported) and every import
statement counts: at module level, inside functions, and under
``if TYPE_CHECKING:`` too (an annotation-only import still ties the two
modules together; the fastpath<->sa and mag<->mag_persist circles of issue 12
were of that kind). ``from pkg import name`` is an edge to ``pkg.name`` when
that is a module, else to ``pkg``. Importing ``pkg.sub`` is not counted as
importing ``pkg/__init__.py`` (Python runs it first, but an ``__init__`` that
re-exports its own submodules is the normal layout, not a circle).

Layers: the sans-I/O cores (CORE_PACKAGES, the one list to extend) never import
the adapters (runtime, lab, cli, p4rt), contain no argparse and print nothing;
nothing outside ``cli/`` imports ``cli``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "controller" / "p4mobility"
TOP = "p4mobility"

# Sans-I/O core packages: add every new generic core package here.
CORE_PACKAGES = ("mh", "ipsec", "nd", "pmip", "binding", "mip", "ha")
# Adapters: a core package never imports these.
ADAPTER_PACKAGES = ("runtime", "lab", "cli", "p4rt")

# Circles allowed for now: none. An entry here that no longer exists fails
# test_known_cycles_still_exist.
KNOWN_CYCLES: list[frozenset[str]] = []


# -- the analysis ---------------------------------------------------------------------------------

def find_modules(root: Path, top: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package) for every .py under ``root`` (package ``top``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [top, *path.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts.pop()
        out[".".join(parts)] = (path, is_pkg)
    return out


def _resolve_from(node: ast.ImportFrom, name: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    if not is_pkg:
        parts.pop()
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, is_pkg: bool, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file that names a module of ``known``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):  # every level: module, function, class, if TYPE_CHECKING
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, name, is_pkg)
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in known:
                    out.append((sub, node.lineno))
                elif base in known:
                    out.append((base, node.lineno))
    return out


def import_graph(root: Path = ROOT, top: str = TOP) -> dict[str, dict[str, int]]:
    """Module -> {imported module: first line}."""
    mods = find_modules(root, top)
    known = set(mods)
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_pkg) in mods.items():
        edges: dict[str, int] = {}
        for target, line in imports_of(name, path, is_pkg, known):
            edges.setdefault(target, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[frozenset[str]]:
    """Strongly connected components with a circle in them (Tarjan), each as a set of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, {}):
                found.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def one_circle(graph: dict[str, dict[str, int]], comp: frozenset[str]) -> str:
    """A readable circle through ``comp``: ``a (line 3) -> b (line 9) -> a``."""
    start = min(comp)
    paths = {start: [start]}
    todo = [start]
    while todo:  # breadth first inside the component, back to start
        v = todo.pop(0)
        for w in sorted(graph[v]):
            if w == start and (v != start or len(comp) == 1):
                hops = paths[v] + [start]
                return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(hops, hops[1:])) + f" -> {start}"
            if w in comp and w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    return ", ".join(sorted(comp))


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    g = import_graph()
    # guard against a vacuous pass (wrong ROOT): the packages this test is about are all there
    assert {f"{TOP}.{p}" for p in CORE_PACKAGES + ADAPTER_PACKAGES} <= set(g), sorted(g)
    return g


# -- the analysis itself, on a package made for it ------------------------------------------------

def test_analysis_counts_function_level_relative_and_type_checking_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import A\n")
    (pkg / "a.py").write_text("A = 1\ndef f():\n    from .b import g\n    return g\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\ng = 2\n")
    (pkg / "c.py").write_text("import pkg.sub.d\nfrom pkg import A\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "d.py").write_text("from ..c import x\nfrom .. import b\n")
    g = import_graph(pkg, "pkg")
    assert g["pkg.a"] == {"pkg.b": 3}  # inside a function
    assert g["pkg.b"] == {"pkg.a": 3}  # under TYPE_CHECKING, `from . import a` names the module
    assert g["pkg"] == {"pkg.a": 1}
    assert g["pkg.c"] == {"pkg.sub.d": 1, "pkg": 2}  # `from pkg import A`: A is no module
    assert g["pkg.sub.d"] == {"pkg.c": 1, "pkg.b": 2}  # level 2 from a submodule
    assert sorted(map(sorted, cycles(g))) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.d"]]
    assert one_circle(g, frozenset({"pkg.a", "pkg.b"})) == "pkg.a (line 3) -> pkg.b (line 3) -> pkg.a"


# -- the rules on controller/p4mobility -----------------------------------------------------------

def test_no_import_cycles(graph):
    new = [c for c in cycles(graph) if c not in KNOWN_CYCLES]
    assert not new, "import circles:\n" + "\n".join(one_circle(graph, c) for c in new)


def test_known_cycles_still_exist(graph):
    """An allow-listed circle that was removed must leave KNOWN_CYCLES too."""
    current = cycles(graph)
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in current]
    assert not gone, f"these circles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_core_packages_never_import_adapters(graph):
    bad = [f"{m} -> {t} (line {line})" for m, edges in sorted(graph.items()) if _package(m) in CORE_PACKAGES
           for t, line in edges.items() if _package(t) in ADAPTER_PACKAGES]
    assert not bad, "core packages importing adapters:\n" + "\n".join(bad)


def test_nothing_outside_cli_imports_cli(graph):
    bad = [f"{m} -> {t} (line {line})" for m, edges in sorted(graph.items()) if _package(m) != "cli"
           for t, line in edges.items() if _package(t) == "cli"]
    assert not bad, "modules importing the command line:\n" + "\n".join(bad)


def test_core_packages_have_no_argparse_and_print_nothing():
    bad = []
    for name, (path, _) in sorted(find_modules(ROOT, TOP).items()):
        if _package(name) not in CORE_PACKAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names) or (
                    isinstance(node, ast.ImportFrom) and node.module == "argparse"):
                bad.append(f"{name} line {node.lineno}: argparse")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                bad.append(f"{name} line {node.lineno}: print()")
            elif (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
                  and isinstance(node.value, ast.Name) and node.value.id == "sys"):
                bad.append(f"{name} line {node.lineno}: sys.{node.attr}")
    assert not bad, "command-line code in core packages:\n" + "\n".join(bad)
