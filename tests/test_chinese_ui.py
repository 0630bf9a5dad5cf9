"""Chinese first: widgets that would show Streamlit's English default text get a Chinese one."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def _calls(name: str):
    for path in [*(ROOT / "views").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "app.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                yield path.relative_to(ROOT), node


def test_every_multiselect_has_a_chinese_placeholder():
    missing = [f"{p}:{n.lineno}" for p, n in _calls("multiselect")
               if not any(k.arg == "placeholder" for k in n.keywords)]
    assert not missing, f"st.multiselect without placeholder= shows 'Choose options': {missing}"


def test_a_selectbox_that_may_be_empty_has_a_chinese_placeholder():
    missing = [f"{p}:{n.lineno}" for p, n in _calls("selectbox")
               if any(k.arg == "index" and isinstance(k.value, ast.Constant) and k.value.value is None
                      for k in n.keywords) and not any(k.arg == "placeholder" for k in n.keywords)]
    assert not missing, f"st.selectbox(index=None) without placeholder= shows 'Choose an option': {missing}"
