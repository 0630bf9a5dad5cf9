"""The load benchmark's cheap clients (bench/load.py) against a live server: they must keep speaking
Streamlit's protocol after an upgrade. Timings are for docs/performance.md, never asserted here."""

from __future__ import annotations

from bench import load


def test_mixed_roles_and_districts_while_an_import_runs(tiny_db_path, tmp_path):
    """Issue 17's load, small: a city-wide leader and a 东城区 prosecutor browse every page they may open while
    the command line imports a file into the store the app serves; no error, no string naming another district
    in what the prosecutor was sent, the import done."""
    import shutil

    from tests.conftest import ROOT

    db = tmp_path / "load.duckdb"
    shutil.copy(tiny_db_path, db)
    log = tmp_path / "server.log"
    res = load.serve_and_run(db, log=log, users=2, rounds=1, mix=["leader", "prosecutor:东城区"],
                             pages=["overview", "tickets", "map", "queue", "ledger"], query="from=2025-03-01&to=2025-03-31",
                             imports=[ROOT / "tests" / "data" / "import" / "tickets_defects.csv"])
    assert res.errors() == 0
    assert res.findings == [] and res.scoped_runs == 5   # the prosecutor's five pages, each checked
    assert sorted((r.page, r.profile) for r in res.runs) == sorted(
        (p, who) for p in ("overview", "tickets", "map", "queue", "ledger") for who in ("leader", "prosecutor:东城区"))
    assert {row["page"] for row in res.table()} == {"overview", "tickets", "map", "queue", "ledger"}
    assert all(row["p50_ms"] > 0 for row in res.table())
    (imp,) = res.imports
    assert imp.returncode == 0, imp.tail
    assert "Traceback" not in log.read_text()


def _element(kind: str, fill) -> tuple[str, bytes]:
    from streamlit.proto.Element_pb2 import Element

    el = Element()
    fill(getattr(el, kind))
    return kind, el.SerializeToString()


def test_the_scope_check_finds_another_district_wherever_it_is_sent():
    """The check must be able to fail: a district name in a table cell, a chart, an option, a text or a map's
    escaped GeoJSON is found; the user's own district is not a finding."""
    import io
    import json

    import pyarrow as pa

    from bench import load_scope

    buf = io.BytesIO()
    table = pa.table({"所属区": ["东城区", "朝阳区"], "件数": [3, 4]})
    with pa.ipc.new_stream(buf, table.schema) as w:
        w.write_table(table)
    kept = [
        _element("dataframe", lambda d: setattr(d.arrow_data, "data", buf.getvalue())),
        _element("plotly_chart", lambda p: setattr(p, "spec", json.dumps({"data": [{"x": ["海淀区"], "y": [1]}]}))),
        _element("multiselect", lambda m: m.options.extend(["东城区", "西城区"])),
        _element("markdown", lambda m: setattr(m, "body", "丰台区 12 件")),
        _element("component_instance",
                 lambda c: setattr(c, "json_args", json.dumps({"html": json.dumps({"name": "昌平区"})}))),
    ]
    others = frozenset({"朝阳区", "海淀区", "西城区", "丰台区", "昌平区"})
    found = load_scope.findings(kept, others, page="p", user=0, profile="prosecutor:东城区")
    assert sorted((f.kind, f.district) for f in found) == [
        ("component_instance", "昌平区"), ("dataframe", "朝阳区"), ("markdown", "丰台区"),
        ("multiselect", "西城区"), ("plotly_chart", "海淀区")]
    assert load_scope.findings(kept, frozenset({"密云区"}), page="p", user=0, profile="x") == []
