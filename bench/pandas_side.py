"""The baseline a typical Streamlit dashboard would be: tickets loaded into pandas once,
then filtered and grouped in pandas on every rerun.

This is deliberately the straightforward code a user would write (with the
efficient Arrow-backed load from DuckDB, not the 20x slower `.df()`), so the
comparison with the product's SQL pages is fair. Each page computes what the
product's page shows: the overview's KPIs for three periods with the funnel
counts, the three rates, the trend with last year, rankings and changes; the
topics page's category tree, top words and emerging words (from the same
precomputed `ticket_words`, loaded once with the tickets: segmenting text per
rerun would be unfair to pandas); the funnel's stages, district split, stage
durations and deadline report (compliance and the overdue list); the ticket
list page; the map's grid and street counts; and
the hotspot page's Gi* (the product's own numpy statistic, over counts
grouped by pandas).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.filters import Filters

TICKET_COLUMNS = ("ticket_id, received_at, channel, appeal_type, category_l1, category_l2, category_l3, topic, "
                  "content, district, street, address, lon, lat, status, responded_at, closed_at, satisfaction, "
                  "resolved")


# Columns with a few dozen to a few hundred distinct values: categoricals in the compact load.
LOW_CARDINALITY = ("channel", "appeal_type", "category_l1", "category_l2", "category_l3", "topic", "district",
                   "street", "status", "satisfaction")


def load(con, *, words: bool = True, compact: bool = False) -> dict[str, pd.DataFrame]:
    """Load every table a dashboard needs into DataFrames, once.

    `words=False`: no word statistics. `compact=True`: the low-cardinality
    text columns become categoricals (dictionary-encoded in Arrow before the
    conversion, which frees the Arrow buffers as it goes), what a careful user
    does when the plain load does not fit in memory. The pages compute the same
    answers either way (tests/test_bench.py).
    """
    con = con.cursor()   # a fresh cursor: con.sql() refuses a connection with an unfinished result
    sql = f"SELECT {TICKET_COLUMNS} FROM tickets"  # fixed column list
    if compact:
        # Batch by batch, so the plain strings of the low-cardinality columns never exist all at once.
        batches = []
        for batch in con.sql(sql).to_arrow_reader(1_000_000):
            cols = [batch.column(i).dictionary_encode() if name in LOW_CARDINALITY else batch.column(i)
                    for i, name in enumerate(batch.schema.names)]
            batches.append(pa.RecordBatch.from_arrays(cols, names=batch.schema.names))
        table = pa.Table.from_batches(batches).unify_dictionaries()
        del batches
        tickets = table.to_pandas(self_destruct=True, split_blocks=True)
    else:
        table = con.sql(sql).to_arrow_table()   # con.sql: no extra copy of the rows
        tickets = table.to_pandas()
    del table
    out = {"tickets": tickets}
    for t in ("clues", "clue_tickets", "cases", "rectifications", "districts"):
        sql = "SELECT * FROM " + t
        out[t] = con.sql(sql).to_arrow_table().to_pandas()
    # The stored words with the ticket columns the word filters need, joined once at load, strings as
    # categoricals: what a careful user would do for 10^8 rows (filtering them by a set of ticket ids on
    # every rerun would cost pandas minutes per view).
    if words:
        sql = ("SELECT w.word, CAST(w.day AS TIMESTAMP) AS day, t.district, t.topic FROM ticket_words w "
               "JOIN tickets t USING (ticket_id)")
        out["words"] = con.sql(sql).to_arrow_table().to_pandas(strings_to_categorical=True)
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
    out["funnel"] = _funnel_counts(d, cur["ticket_id"])
    out["responded"] = cur["responded_at"].notna().mean() if len(cur) else None
    out["resolved"] = cur["resolved"].sum() / max(cur["closed_at"].notna().sum(), 1)
    out["satisfied"] = cur["satisfaction"].isin(["满意", "基本满意"]).sum() / max(cur["satisfaction"].notna().sum(), 1)
    out["trend"] = cur.groupby(cur["received_at"].dt.date).size()
    yoy = f.year_ago()
    if yoy is not None:
        last = t[_mask(t, yoy)]
        out["trend_last_year"] = last.groupby(last["received_at"].dt.date).size()
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


def _funnel_counts(d: dict, ticket_ids: pd.Series) -> tuple[int, int, int]:
    links = d["clue_tickets"][d["clue_tickets"]["ticket_id"].isin(ticket_ids)]
    clues = d["clues"][d["clues"]["clue_id"].isin(links["clue_id"])]
    cases = d["cases"][d["cases"]["clue_id"].isin(clues["clue_id"])]
    rect = d["rectifications"][d["rectifications"]["case_id"].isin(cases["case_id"])]
    done = rect["rectified_at"].notna() & (rect["result"].fillna("") != "未整改")
    return len(clues), len(cases), int(rect.loc[done, "case_id"].nunique())


def _word_counts(d: dict, f: Filters) -> pd.Series:
    if f.streets or f.categories or f.channels or f.appeal_types or f.text or f.functions:
        raise ValueError("the pandas baseline filters words by date, district and topic only")
    w = d["words"]
    m = pd.Series(True, index=w.index)
    if f.date_from:
        m &= w["day"] >= pd.Timestamp(f.date_from)
    if f.date_to:
        m &= w["day"] <= pd.Timestamp(f.date_to)
    if f.districts:
        m &= w["district"].isin(f.districts)
    if f.topics:
        m &= w["topic"].isin(f.topics)
    counts = w.loc[m].groupby("word", observed=True).size()
    return counts[~counts.index.astype(str).str.contains(" ", regex=False)]


def topics(d: dict, f: Filters) -> dict:
    from scipy import stats

    t = d["tickets"]
    cur = t[_mask(t, f)]
    out = {
        "tree": cur.groupby(["category_l1", "category_l2", "category_l3"]).size(),
        "trend": cur.groupby([cur["received_at"].dt.to_period("W"), "topic"]).size(),
    }
    if "words" not in d:
        return out
    now = _word_counts(d, f)
    out["top_words"] = now.nlargest(30)
    prev_f = f.previous_period()
    if prev_f is not None:
        before = _word_counts(d, prev_f)
        both = pd.DataFrame({"now": now, "before": before}).fillna(0)
        both = both[both.max(axis=1) >= 5]
        n_now, n_before = len(cur), int(_mask(t, prev_f).sum())
        share = n_now / max(n_now + n_before, 1)
        p = stats.binom.sf(both["now"] - 1, both["now"] + both["before"], share)
        out["emerging"] = both.assign(p=p).sort_values("p").head(20)
    return out


_STARTED = pd.Timestamp.now().floor("s")


def _days(a: pd.Series, b: pd.Series) -> pd.Series:
    return (b - a).dt.total_seconds() / 86400


def funnel(d: dict, f: Filters, as_of: pd.Timestamp | None = None) -> dict:
    """The funnel page: stages, district split, the six stage times and the deadline report."""
    from data import settings

    t = d["tickets"]
    sel = t.loc[_mask(t, f), ["ticket_id", "district"]]
    links = d["clue_tickets"].merge(sel, on="ticket_id")
    clues = d["clues"][d["clues"]["clue_id"].isin(links["clue_id"])]
    cases = d["cases"][d["cases"]["clue_id"].isin(clues["clue_id"])]
    cases = cases.merge(clues[["clue_id", "district", "created_at"]], on="clue_id")
    rect = d["rectifications"][d["rectifications"]["case_id"].isin(cases["case_id"])]
    rect = rect[rect["rectified_at"].notna() & (rect["result"].fillna("") != "未整改")]
    done = cases.merge(rect.groupby("case_id", as_index=False)["rectified_at"].min(), on="case_id")
    by_district = pd.DataFrame({"tickets": sel.groupby("district").size(),
                                "clues": clues.groupby("district").size(),
                                "cases": cases.groupby("district").size(),
                                "rectified": done.groupby("district").size()}).fillna(0)
    # Stage times: the clue's earliest linked ticket (any period) to its registration, and so on.
    first = (d["clue_tickets"][d["clue_tickets"]["clue_id"].isin(clues["clue_id"])]
             .merge(t[["ticket_id", "received_at"]], on="ticket_id").groupby("clue_id")["received_at"].min())
    cl = clues.set_index("clue_id")
    days = {
        "ticket_clue": _days(first.reindex(cl.index), cl["created_at"]),
        "clue_review": _days(cl["created_at"], cl["reviewed_at"]),
        "clue_case": _days(cases["created_at"], cases["filed_at"]),
        "case_measure": _days(cases["filed_at"], cases["measure_at"]),
        "measure_reply": _days(cases["measure_at"], cases["replied_at"]),
        "case_rectified": _days(done["filed_at"], done["rectified_at"]),
    }
    durations = {k: (v.count(), v.median(), v.quantile(0.9)) for k, v in days.items()}
    # Deadlines: clue review, and the reply to a procuratorial suggestion (urgent or not), as of now (the
    # process start: every view of a run judges the same moment).
    as_of = as_of or _STARTED
    review = clues[clues["created_at"].notna()]
    sug = cases[cases["measure"].fillna("").str.contains("检察建议", regex=False) & cases["measure_at"].notna()]
    urgent = sug["urgent"].fillna(False).astype(bool)
    reply_days = np.where(urgent, settings.get("HOTLINE_URGENT_REPLY_DAYS"),
                          settings.get("HOTLINE_SUGGESTION_REPLY_DAYS"))
    items = pd.concat([
        pd.DataFrame({"rule": "clue_review", "item_id": review["clue_id"], "district": review["district"],
                      "start_at": review["created_at"], "done_at": review["reviewed_at"],
                      "due_at": review["created_at"] + pd.Timedelta(days=settings.get("HOTLINE_CLUE_REVIEW_DAYS"))}),
        pd.DataFrame({"rule": np.where(urgent, "urgent_reply", "suggestion_reply"), "item_id": sug["case_id"],
                      "district": sug["district"], "start_at": sug["measure_at"], "done_at": sug["replied_at"],
                      "due_at": sug["measure_at"] + pd.to_timedelta(reply_days, unit="D")}),
    ], ignore_index=True)
    end = items["done_at"].fillna(as_of)
    past = end > items["due_at"]
    items["state"] = np.select([past & items["done_at"].isna(), past, items["done_at"].isna()],
                               ["overdue", "late", "pending"], "on_time")
    items["days_over"] = _days(items["due_at"], end)
    overdue = items[past].sort_values(["days_over", "item_id"], ascending=[False, True], ignore_index=True)
    return {"tickets": len(sel), "clues": len(clues), "cases": len(cases),
            "rectified": int(rect["case_id"].nunique()), "by_district": by_district,
            "by_function": clues.groupby("function").size(), "durations": durations,
            "deadlines": items.groupby(["rule", "state"]).size(), "overdue": overdue}


def tickets_page(d: dict, f: Filters) -> tuple[int, pd.DataFrame]:
    t = d["tickets"]
    cur = t[_mask(t, f)]
    return len(cur), cur.nlargest(50, "received_at")


def map_aggregates(d: dict, f: Filters, cell: float = 0.01) -> pd.DataFrame:
    t = d["tickets"]
    cur = t[_mask(t, f) & t["lon"].notna()]
    gx = np.floor(cur["lon"] / cell)
    gy = np.floor(cur["lat"] / cell)
    streets = cur.groupby(["district", "street"]).size()
    return pd.DataFrame({"gx": gx, "gy": gy}).groupby(["gx", "gy"]).size().reset_index(name="n"), streets


def hotspots(d: dict, f: Filters, cell: float = 0.005) -> pd.DataFrame:
    from analytics.hotspots import getis_ord_gi_star

    t = d["tickets"]
    cur = t[_mask(t, f) & t["lon"].notna()]
    gx = np.floor(cur["lon"] / cell).astype(int)
    gy = np.floor(cur["lat"] / cell).astype(int)
    cells = pd.DataFrame({"gx": gx, "gy": gy}).groupby(["gx", "gy"]).size().reset_index(name="n")
    if len(cells) < 2:
        return cells
    x0, y0 = cells["gx"].min(), cells["gy"].min()
    raster = np.zeros((cells["gy"].max() - y0 + 1, cells["gx"].max() - x0 + 1))
    raster[cells["gy"] - y0, cells["gx"] - x0] = cells["n"]
    z, _local = getis_ord_gi_star(raster, np.ones(raster.shape, dtype=bool))
    cells["z"] = z[cells["gy"] - y0, cells["gx"] - x0]
    return cells.sort_values("z", ascending=False).head(50)


PAGES = {
    "overview": overview,
    "topics": topics,
    "funnel": funnel,
    "tickets": tickets_page,
    "map": map_aggregates,
    "hotspots": hotspots,
}
