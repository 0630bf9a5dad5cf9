"""The baseline a typical Streamlit dashboard would be: tickets loaded into pandas once,
then filtered and grouped in pandas on every rerun.

This is deliberately the straightforward code a user would write (with the
efficient Arrow-backed load from DuckDB, not the 20x slower `.df()`), so the
comparison with the product's SQL pages is fair.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from analytics.filters import Filters

TICKET_COLUMNS = ("ticket_id, received_at, channel, appeal_type, category_l1, category_l2, category_l3, topic, "
                  "content, district, street, address, lon, lat, status, responded_at, closed_at, satisfaction, "
                  "resolved")


def load(con) -> dict[str, pd.DataFrame]:
    """Load every table a dashboard needs into DataFrames, once."""
    sql = f"SELECT {TICKET_COLUMNS} FROM tickets"  # fixed column list
    tickets = con.execute(sql).to_arrow_table().to_pandas()
    out = {"tickets": tickets}
    for t in ("clues", "clue_tickets", "cases", "rectifications", "districts"):
        out[t] = con.execute("SELECT * FROM " + t).to_arrow_table().to_pandas()
    return out


def _mask(df: pd.DataFrame, f: Filters, *, dates: bool = True) -> pd.Series:
    m = pd.Series(True, index=df.index)
    if dates and f.date_from:
        m &= df["received_at"] >= pd.Timestamp(f.date_from)
    if dates and f.date_to:
        m &= df["received_at"] < pd.Timestamp(f.date_to + timedelta(days=1))
    if f.districts:
        m &= df["district"].isin(f.districts)
    if f.streets:
        m &= df["street"].isin(f.streets)
    if f.topics:
        m &= df["topic"].isin(f.topics)
    if f.channels:
        m &= df["channel"].isin(f.channels)
    if f.appeal_types:
        m &= df["appeal_type"].isin(f.appeal_types)
    if f.text:
        for term in f.text.split():
            m &= df["content"].str.contains(term, regex=False, na=False)
    return m


def overview(d: dict, f: Filters) -> dict:
    t = d["tickets"]
    cur = t[_mask(t, f)]
    out = {"n": len(cur), "located": int(cur["lon"].notna().sum())}
    for name, g in (("prev", f.previous_period()), ("yoy", f.year_ago())):
        if g is not None:
            out[name] = int(_mask(t, g).sum())
    out["responded"] = cur["responded_at"].notna().mean() if len(cur) else None
    out["satisfied"] = cur["satisfaction"].isin(["满意", "基本满意"]).sum()
    out["trend"] = cur.groupby(cur["received_at"].dt.date).size()
    rank = cur.groupby("district").size().rename("n").reset_index().merge(d["districts"], on="district")
    rank["per_10k"] = rank["n"] / rank["population"] * 1e4
    out["ranking"] = rank.sort_values("n", ascending=False)
    out["top_categories"] = cur.groupby(["category_l1", "category_l2", "category_l3"]).size().nlargest(10)
    out["top_topics"] = cur.groupby("topic").size().sort_values(ascending=False)
    prev = f.previous_period()
    if prev is not None:
        before = t[_mask(t, prev)].groupby("category_l3").size()
        now = cur.groupby("category_l3").size()
        out["changed"] = now.sub(before, fill_value=0).sort_values()
    return out


def topics(d: dict, f: Filters) -> dict:
    t = d["tickets"]
    cur = t[_mask(t, f)]
    return {
        "tree": cur.groupby(["category_l1", "category_l2", "category_l3"]).size(),
        "trend": cur.groupby([cur["received_at"].dt.to_period("W"), "topic"]).size(),
    }


def funnel(d: dict, f: Filters) -> dict:
    t = d["tickets"]
    ids = t.loc[_mask(t, f), ["ticket_id"]]
    links = d["clue_tickets"].merge(ids, on="ticket_id")
    clues = d["clues"][d["clues"]["clue_id"].isin(links["clue_id"])]
    cases = d["cases"][d["cases"]["clue_id"].isin(clues["clue_id"])]
    rect = d["rectifications"][d["rectifications"]["case_id"].isin(cases["case_id"])]
    return {"tickets": len(ids), "clues": len(clues), "cases": len(cases),
            "rectified": int((rect["result"] == "整改到位").sum()),
            "by_function": clues.groupby("function").size()}


def tickets_page(d: dict, f: Filters) -> pd.DataFrame:
    t = d["tickets"]
    cur = t[_mask(t, f)]
    return cur.sort_values("received_at", ascending=False).head(50)


def map_aggregates(d: dict, f: Filters, cell: float = 0.01) -> pd.DataFrame:
    t = d["tickets"]
    cur = t[_mask(t, f) & t["lon"].notna()]
    gx = np.floor(cur["lon"] / cell)
    gy = np.floor(cur["lat"] / cell)
    streets = cur.groupby(["district", "street"]).size()
    return pd.DataFrame({"gx": gx, "gy": gy}).groupby(["gx", "gy"]).size().reset_index(name="n"), streets


def hotspots(d: dict, f: Filters, cell: float = 0.005) -> pd.DataFrame:
    t = d["tickets"]
    cur = t[_mask(t, f) & t["lon"].notna()]
    gx = np.floor(cur["lon"] / cell).astype(int)
    gy = np.floor(cur["lat"] / cell).astype(int)
    return pd.DataFrame({"gx": gx, "gy": gy}).groupby(["gx", "gy"]).size().reset_index(name="n")


PAGES = {
    "overview": overview,
    "topics": topics,
    "funnel": funnel,
    "tickets": tickets_page,
    "map": map_aggregates,
    "hotspots": hotspots,
}
