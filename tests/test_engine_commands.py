"""The commands on the distributed engine (issue 21: "the pages, the analytics and the CLI work unchanged on
either engine").

With `HOTLINE_ENGINE=clickhouse` every reading command (status, visit list, clue report and ledger export,
briefing pack, screening) opens the engine store instead of the DuckDB file (cli/_common.open_read_only) and
must write the same file as on DuckDB: compared cell by cell (the line saying when a file was made excepted),
on the tiny hand-checked store shipped into chdb. Screening rules run where the data is: every starter rule finds
the same hits on the engine as on DuckDB over the generated demo's last year (the tiny store has no hits for them).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import manage
from data.screening import library
from data.screening.compile import Target
from data.screening.run import find

COLLIDE_LIST = Path(__file__).parent / "data" / "collide" / "accidents.csv"
MADE_AT = re.compile(r"(生成时间|导出日|生成于)[:：]?\s*\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?")


def _cells(path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [tuple(MADE_AT.sub(r"\1", v) if isinstance(v, str) else v for v in row)
                       for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _run(engine_name, url, args, monkeypatch, capsys) -> str:
    monkeypatch.setenv("HOTLINE_ENGINE", engine_name)
    if url:
        monkeypatch.setenv("HOTLINE_ENGINE_URL", url)
    else:
        monkeypatch.delenv("HOTLINE_ENGINE_URL", raising=False)
    capsys.readouterr()
    assert manage.main(args) == 0
    return capsys.readouterr().out


COMMANDS = {
    "status": (["status"], None),
    "visits": (["visits", "--from", "2024-01-01", "--to", "2025-12-31", "--no-image"], "visits.xlsx"),
    "clue-report": (["clues", "report", "--month", "2025-03"], "report.xlsx"),
    "ledger-export": (["clues", "export"], "ledger.xlsx"),
    "screen": (["screen", "--rules", str(Path(__file__).parent / "data" / "rules" / "manhole.yaml"), "--from",
                "2024-01-01", "--to", "2025-12-31"], "hits.csv"),
    "collide": (["collide", str(COLLIDE_LIST)], "matches.xlsx"),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_writes_the_same_on_both_engines(name, tiny_db_path, tiny_engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    args, out_name = COMMANDS[name]
    outputs = {}
    for engine_name, url in (("duckdb", None), ("clickhouse", tiny_engine.target.describe())):
        extra = ["--out", str(tmp_path / f"{engine_name}-{out_name}")] if out_name else []
        printed = _run(engine_name, url, [*args, "--db", str(tiny_db_path), *extra], monkeypatch, capsys)
        outputs[engine_name] = printed.replace(f"{engine_name}-", "")
        if out_name and out_name.endswith(".xlsx"):
            outputs[engine_name] += repr(_cells(tmp_path / f"{engine_name}-{out_name}"))
        elif out_name:
            outputs[engine_name] += (tmp_path / f"{engine_name}-{out_name}").read_text(encoding="utf-8-sig")
    assert outputs["clickhouse"] == outputs["duckdb"]
    # real content was compared: the tiny store's known figures are in it
    want = {"status": "tickets                    20", "visits": "4 处热点/重复点位", "clue-report": "登记 5 条",
            "ledger-export": "5 条线索", "screen": "建国门内大街与朝阳门南小街路口", "collide": "共 13 对"}[name]
    assert want in outputs["duckdb"]


def test_the_briefing_pack_says_the_same_on_both_engines(tiny_db_path, tiny_engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    from pptx import Presentation

    texts = {}
    for engine_name, url in (("duckdb", None), ("clickhouse", tiny_engine.target.describe())):
        out = tmp_path / f"{engine_name}.pptx"
        _run(engine_name, url, ["briefing", "--db", str(tiny_db_path), "--from", "2025-01-01", "--to", "2025-03-31",
                                "--out", str(out), "--quiet"], monkeypatch, capsys)
        texts[engine_name] = [MADE_AT.sub(r"\1", sh.text_frame.text) for slide in Presentation(out).slides
                              for sh in slide.shapes if sh.has_text_frame]
    assert texts["clickhouse"] == texts["duckdb"]
    assert any("本期共受理工单 15 件" in t for t in texts["duckdb"])


def test_an_unreachable_engine_is_said_plainly(tiny_db_path, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOTLINE_ENGINE", "clickhouse")
    monkeypatch.setenv("HOTLINE_ENGINE_URL", "clickhouse://default@127.0.0.1:9/none")
    assert manage.main(["status", "--db", str(tiny_db_path)]) == 1
    assert "无法读取分布式引擎 clickhouse://default@127.0.0.1:9/none" in capsys.readouterr().out


def test_a_list_is_collided_where_the_data_is(tiny_con, tiny_engine, tmp_path):
    """The list travels to the engine as bound lists (data/engine/frames.py): the same matches both ways, and
    the reverse collision (places without a record nearby) finds the tiny store's known place on the engine."""
    from data.screening import collide, inaction

    recs, _used = collide.read_list(COLLIDE_LIST)
    want, got = collide.match(tiny_con, recs), collide.match(tiny_engine, recs)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert len(want) >= 13
    penalties = tmp_path / "penalties.csv"
    penalties.write_text("处罚决定书文号,处罚日期,经度,纬度,单位名称,处罚事由\n"
                         "P1,2025-03-08,116.46080,39.98300,望京某洗车行,违法排放污水\n"
                         "P3,2026-06-01,116.42062,39.90879,某市政公司,井盖缺失未修复\n", encoding="utf-8")
    recs, _used = collide.read_list(penalties)
    for topic, want_rows in (("井盖", [(4, "T16 T13 T01 T02", "东城区")]), ("污水", [])):
        ask = inaction.Ask(topic=topic, min_tickets=2)
        on_duck = inaction.places_without_records(tiny_con, recs, ask)
        on_engine = inaction.places_without_records(tiny_engine, recs, ask)
        assert [(r.n, r.ticket_ids, r.district) for r in on_engine.itertuples()] == want_rows
        pd.testing.assert_frame_equal(on_engine, on_duck, check_dtype=False)


def test_an_empty_frame_still_types_its_columns(tiny_engine):
    empty = pd.DataFrame({"lon": pd.Series([], dtype=float), "name": pd.Series([], dtype=object)})
    tiny_engine.register("_probe", empty)
    try:
        assert tiny_engine.execute("SELECT count(*), sum(lon) FROM _probe WHERE lon > 1").fetchone() == (0, None)
    finally:
        tiny_engine.unregister("_probe")


def test_every_starter_rule_finds_the_same_hits_on_the_engine(demo_duck, demo_engine):
    target = Target(date(2025, 11, 1), date(2026, 10, 31))
    rules = library.read_files(library.starter_dir("beijing"))
    resolve = {r.key: r for r in rules}.get
    total = 0
    for rule in rules:
        want = find(demo_duck, rule, target, resolve=resolve)
        got = find(demo_engine, rule, target, resolve=resolve)
        key = ["ticket_id"]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      want.sort_values(key).reset_index(drop=True), check_dtype=False,
                                      obj=rule.key)
        total += len(want)
    assert total > 0


@pytest.fixture(scope="module")
def demo_duck(demo):
    from data import store

    con = store.connect(demo[1], read_only=True)
    yield con
    con.close()
