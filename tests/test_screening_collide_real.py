"""Data collision on REAL lists (../shared/samples; CI has ../shared beside the clone, so this is not skipped).

The list: the NYC 311 API export of one night (1,000 requests of 2024-04-15/16, lowercase Socrata headers), read
through a collision mapping (tests/data/collide/nyc311_api_list.yaml). The tickets: 5,895 real NYC 311 animal
complaints of 2010-2025, imported through the import's own mapping (data/mappings/nyc311.yaml). The expected
pairs are computed here from the two raw CSV files alone — great-circle distance, days apart, normalised address
— not with the product's SQL, so the collision must find exactly those: no Beijing geography, odd spacing in
the addresses ("210P WEST  153 STREET"), rows without coordinates.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from datetime import datetime

import pytest

from data import store
from data.ingest import ingest_files
from data.screening import collide
from tests.conftest import ROOT

SAMPLES = ROOT.parent / "shared" / "samples" / "nyc311"
LIST = SAMPLES / "nyc311_1000rows_2024_api.csv"
TICKETS = SAMPLES / "nyc311_5895rows.csv"
LIST_MAPPING = ROOT / "tests" / "data" / "collide" / "nyc311_api_list.yaml"
EARTH_M = 6371008.8
DIST_M, DAYS = 200.0, 30


@pytest.fixture(scope="module")
def nyc_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("nyc-collide") / "nyc.duckdb"
    con = store.connect(db)
    (rep,) = ingest_files(con, [TICKETS], mapping=ROOT / "data" / "mappings" / "nyc311.yaml")
    assert rep.ok, rep.message
    con.close()
    return db


@pytest.fixture(scope="module")
def nyc_tickets(nyc_db):
    con = store.connect(nyc_db, read_only=True)
    yield con
    con.close()


def _num(v: str) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _addr(a: str) -> str:
    return re.sub(r"[\s,，。.、;；:：()（）\-—_#·]+", "", unicodedata.normalize("NFKC", a or "").lower())


def _raw(path, key, when, fmt, addr, lon, lat, prefix="") -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"id": prefix + r[key], "t": datetime.strptime(r[when], fmt) if r[when] else None,
                 "a": _addr(r[addr]), "lon": _num(r[lon]), "lat": _num(r[lat])} for r in csv.DictReader(fh)]


def expected_pairs(stored: set[str]) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """(place pairs, address pairs) from the raw files: row number in the list (1-based), ticket id. Every
    (list row, ticket) pair is compared (numpy over the tickets, one list row at a time)."""
    import numpy as np

    lst = _raw(LIST, "unique_key", "created_date", "%Y-%m-%dT%H:%M:%S.%f", "incident_address", "longitude",
               "latitude")
    tix = [t for t in _raw(TICKETS, "Unique Key", "Created Date", "%m/%d/%Y %I:%M:%S %p", "Incident Address",
                           "Longitude", "Latitude", prefix="NYC-") if t["id"] in stored]
    ids = np.array([t["id"] for t in tix])
    when = np.array([t["t"].timestamp() for t in tix])
    lon = np.array([np.nan if t["lon"] is None else t["lon"] for t in tix])
    lat = np.array([np.nan if t["lat"] is None else t["lat"] for t in tix])
    addr = np.array([t["a"] for t in tix])
    place, address = set(), set()
    for n, r in enumerate(lst, start=1):
        near_in_time = np.ones(len(tix), bool) if r["t"] is None else np.abs(when - r["t"].timestamp()) <= DAYS * 86400
        if r["lon"] is not None and r["lat"] is not None:
            p1, p2 = math.radians(r["lat"]), np.radians(lat)
            h = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lon - r["lon"]) / 2) ** 2
            metres = 2 * EARTH_M * np.arcsin(np.sqrt(h))
            place |= {(n, str(t)) for t in ids[near_in_time & (metres <= DIST_M)]}   # NaN compares False
        if len(r["a"]) >= 6:
            address |= {(n, str(t)) for t in ids[near_in_time & (addr == r["a"])]}
    return place, address


def test_a_real_list_collides_with_real_tickets_exactly_as_computed_from_the_raw_files(nyc_tickets):
    recs, used = collide.read_list(LIST, LIST_MAPPING)
    assert len(recs) == 1000 and used == {"record_id": "unique_key", "time": "created_date",
                                          "address": "incident_address", "lon": "longitude", "lat": "latitude",
                                          "note": "complaint_type"}
    stored = {r[0] for r in nyc_tickets.execute("SELECT ticket_id FROM tickets").fetchall()}
    assert len(stored) == 5895                      # every real row became a ticket (none quarantined)
    found = collide.match(nyc_tickets, recs, collide.Params(distance_m=DIST_M, days=DAYS))
    got = {k: {(int(r), str(t)) for r, t in zip(g["row_number"], g["ticket_id"], strict=True)}
           for k, g in found.groupby("kind")}
    place, address = expected_pairs(stored)
    assert got.get("place", set()) == place and got.get("address", set()) == address
    assert set(got) <= {"place", "address"}         # no names, companies or phones in either list
    ev = collide.evidence(recs, found)
    q = collide.quality(ev, place | address)
    # 29 (list row, ticket) pairs of 20 list rows; one (row 332, 367 BRISTOL STREET) also by the same address
    assert (q["found"], q["precision"], q["recall"], ev["row_number"].nunique()) == (29, 1.0, 1.0, 20)
    assert len(address) == 1 and address <= place
    assert (ev["distance_m"] <= DIST_M).all() and (ev["days"] <= DAYS).all()


def test_the_real_list_written_as_a_file_keeps_every_pair_and_its_evidence(nyc_tickets, tmp_path):
    import pandas as pd

    recs, _ = collide.read_list(LIST, LIST_MAPPING)
    ev = collide.evidence(recs, collide.match(nyc_tickets, recs))
    out = collide.report_rows(recs, ev)
    assert len(out) == 29 and list(out.columns[:3]) == ["名单行号", "名单编号", "单位名称"]
    bristol = out[out["地址"] == "367 BRISTOL STREET"].iloc[0]
    assert bristol["匹配依据"] == "地址相同、地点相近" and bristol["距离（米）"] == 0.0
    assert bristol["名单说明"] == "UNSANITARY CONDITION"       # the list's own note, kept in the file
    f = tmp_path / "m.xlsx"
    out.to_excel(f, index=False)
    assert len(pd.read_excel(f)) == 29


def test_the_collision_page_maps_the_columns_of_a_real_list_and_queues_its_matches(nyc_db, monkeypatch, tmp_path):
    """The 碰撞 page as a prosecutor uses it: upload the list, see which columns were recognised (only
    latitude/longitude are standard headers), choose the others, match, put the matches in the queue."""
    import manage
    from data import records
    from data.screening import queue
    from tests.conftest import app_test

    monkeypatch.setenv("HOTLINE_DB", str(nyc_db))
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/collide.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.file_uploader(key="co_file").upload(LIST.name, LIST.read_bytes(), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    tag = f"{LIST.name}-{LIST.stat().st_size}-"
    box = {f: at.selectbox(key=f"co_col_{f}_{tag}") for f in ("record_id", "time", "address", "lon", "lat", "note")}
    assert (box["lon"].value, box["lat"].value, box["time"].value) == ("longitude", "latitude", None)
    # place alone, no time on the list's side: every ticket of 2010-2025 within 200 m matches
    text = " ".join(m.value for m in at.markdown)
    assert "名单 1,000 行" in text and "共 29 对" not in text
    for f, h in (("record_id", "unique_key"), ("time", "created_date"), ("address", "incident_address"),
                 ("note", "complaint_type")):
        box[f].set_value(h)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("名单 1,000 行，20 行与工单匹配，共 29 对" in m.value for m in at.markdown)
    at.button(key="co_record").click().run()
    assert any("已记入待研判队列：20 项" in s.value for s in at.success)
    with records.session() as rec:
        items, n = queue.items(rec)
        assert n == 20 and set(items["kind"]) == {"collision"}
        bristol = items[items["label"] == "367 BRISTOL STREET"].iloc[0]
        (proof,) = queue.item_matches(rec, int(bristol["item_id"]))["evidence"]
        assert proof["kinds"] == ["地址相同", "地点相近"] and proof["record"]["note"] == "UNSANITARY CONDITION"
    at.switch_page("views/queue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "共 20 项" in " ".join(m.value for m in at.markdown)

    # the mapping the page offers for download runs the same collision from the command line
    from data.screening import collide as C

    _, _, base = C.headers(LIST)
    spec = C.mapping_spec({"record_id": "unique_key", "time": "created_date", "address": "incident_address",
                           "lon": "longitude", "lat": "latitude", "note": "complaint_type"}, base=base, crs="wgs84")
    m = tmp_path / "mapping.yaml"
    m.write_text(C.mapping_yaml(spec), encoding="utf-8")
    out = tmp_path / "matches.csv"
    assert manage.main(["collide", str(LIST), "--mapping", str(m), "--db", str(nyc_db), "--out", str(out)]) == 0
    import pandas as pd

    assert len(pd.read_csv(out, encoding="utf-8-sig")) == 29
