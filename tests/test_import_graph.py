"""The core (analytics/, data/, geo/) imports one way: no module reaches back to one that imports it.

A cycle hidden by a function-level import still couples the modules (and breaks when someone moves the
import to the top), so the graph counts every import, wherever it is written. The refresh orchestrator
(data/derived.py) imports the table builders at the top; their shared pieces sit below them
(data/tablebuild.py).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ("analytics", "data", "geo")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in CORE for p in sorted((ROOT / pkg).rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """module -> the core modules it imports (top-level or inside a function)."""
    mods = core_modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in mods:
                for a in node.names:   # `from data import words` names a module; `from data.x import f` does not
                    full = f"{node.module}.{a.name}"
                    out.add(full if full in mods else node.module)
        out.discard(name)
        graph[name] = out
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_core_modules_import_without_cycles():
    graph = import_graph()
    assert {"data.derived", "data.words", "data.positions", "analytics.hotspots"} <= set(graph)
    assert {"data.words", "data.positions", "data.links", "data.summaries"} <= graph["data.derived"]
    assert cycles(graph) == []


def test_the_refresh_orchestrator_is_imported_by_no_table_builder():
    graph = import_graph()
    builders = ("data.words", "data.word_tables", "data.segment", "data.positions", "data.links",
                "data.summaries", "data.tablebuild")
    assert [b for b in builders if "data.derived" in graph[b]] == []


def test_each_core_module_imports_alone():
    """Each module imported first, in a fresh set of core modules (third-party ones stay loaded): a cycle through
    top-level imports fails here with a partially initialised module."""
    names = sorted(core_modules())
    code = (
        "import importlib, sys\n"
        f"names = {names!r}\n"
        "bad = []\n"
        "for n in names:\n"
        "    for m in [m for m in sys.modules if m.split('.')[0] in ('analytics', 'data', 'geo')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{n}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
