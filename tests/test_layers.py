"""The core layers (data, geo, analytics) never reach the UI library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ("data", "geo", "analytics")


def _core_files():
    for pkg in CORE:
        yield from sorted((ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", list(_core_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_does_not_import_streamlit(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for n in names:
            assert n.split(".")[0] not in ("streamlit", "streamlit_folium", "ui", "views"), (
                f"{path.relative_to(ROOT)} imports {n}"
            )


def test_importing_every_core_module_leaves_streamlit_unloaded():
    mods = []
    for path in _core_files():
        rel = path.relative_to(ROOT).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        mods.append(".".join(parts))
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'streamlit_folium')]\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(mods) >= 8


def test_one_query_layer_picks_the_tables():
    """Which table answers a selection (daily summaries, the located-ticket table, the link tables) is decided in
    analytics/query.py only: no other analytics module imports data.links or calls Filters.summary_table."""
    offenders = []
    for path in sorted((ROOT / "analytics").glob("*.py")):
        if path.name == "query.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "data" and any(a.name == "links" for a in node.names):
                offenders.append(f"{path.name}: imports data.links")
            if isinstance(node, ast.ImportFrom) and node.module == "data.links":
                offenders.append(f"{path.name}: imports data.links")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "summary_table"):
                offenders.append(f"{path.name}:{node.lineno}: calls .summary_table")
    assert not offenders, offenders
