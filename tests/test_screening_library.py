"""The starter library against the places the demo generator planted (demo_truth): precision and recall.

Each rule's items (its hits grouped by place) are right when they lie within a place planted for the rule's
project (its radius plus 200 m); a planted place is found when an item lies within it. Measured on the shared
100k-ticket, two-year demo (tests/conftest.py `demo`); the figures are in docs/screening.md.
"""

from __future__ import annotations

import pytest

from data.screening import library, truth

RULES = library.read_files(library.starter_dir("beijing"))
PROJECTS = {"井盖", "污水", "假冒伪劣", "欠薪", "消防通道", "养老消防", "两卡", "未成年人保护", "交通安全", "乡村生态"}


@pytest.fixture(scope="module")
def scores(demo):
    from data import store

    con = store.connect(demo[1], read_only=True)
    try:
        return {r.key: truth.score(con, r) for r in RULES}
    finally:
        con.close()


def test_the_library_covers_the_special_projects():
    assert {r.project for r in RULES} == PROJECTS
    assert all(r.region == "北京市" and r.legal_basis and r.function for r in RULES)


@pytest.mark.parametrize("key", [r.key for r in RULES])
def test_each_rule_finds_its_planted_places(scores, key):
    s = scores[key]
    assert s.planted >= 2 and s.items >= 1
    assert s.recall >= 0.75, truth.table([s]).to_string()
    assert s.precision >= 0.75, truth.table([s]).to_string()


def test_the_library_as_a_whole(scores):
    items = sum(s.items for s in scores.values())
    right = sum(s.right for s in scores.values())
    planted = sum(s.planted for s in scores.values())
    found = sum(s.found for s in scores.values())
    # Measured: 42 items, 41 right (precision 0.98); 32 planted places, 31 found (recall 0.97).
    assert right / items >= 0.9 and found / planted >= 0.9, truth.table(list(scores.values())).to_string()
