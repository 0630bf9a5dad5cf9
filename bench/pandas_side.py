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
the hotspot page's ranked table (bench/pandas_hotspots.py: Gi* hotspots,
repeat places within 100 m tested against the problem's local density, and
per row its counts, dates, trend, months, "back after a close", most frequent
place and problem, and linked clues), as the product's `hotspot_table`.

Each load also carries what the hotspot page needs per ticket, computed once:
`located` (the product's LOCATED_SQL), `problem` (its PROBLEM_SQL, mapped in
pandas) and `back` (the product's per-ticket "back after a close" flag, a
property of the whole store: loaded once like the words).

Three loads, one set of page functions: the full load (every column as is),
the slim load that fits one Beijing year (25 M tickets) in memory (`load_slim`:
no ticket text in memory, the address as a categorical, integer row keys), and
the older lite load (categoricals, no words). tests/test_bench.py checks they
answer alike; tests/test_bench_hotspots.py that the hotspot page answers as the
product's.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.filters import Filters
from data import positions as hpos

TICKET_COLUMNS = ("ticket_id, received_at, channel, appeal_type, category_l1, category_l2, category_l3, topic, "
                  "content, district, street, address, lon, lat, status, responded_at, closed_at, satisfaction, "
                  "resolved")


# Columns with a few dozen to a few hundred distinct values: categoricals in the compact load.
LOW_CARDINALITY = ("channel", "appeal_type", "category_l1", "category_l2", "category_l3", "topic", "district",
                   "street", "status", "satisfaction")
# Which tickets a map may draw (and the hotspot page counts): the product's condition, evaluated once at load.
LOCATED_COLUMN = f"{hpos.LOCATED_SQL} AS located"
# The located tickets "back after a close" (data/positions.py): stored in hotspot_tickets when it is current,
# else computed by the product's own ASOF join over the whole store; read once at load.
BACK_STORED_SQL = f"SELECT ticket_id FROM {hpos.TABLE} WHERE back"
# The problem of a ticket (hpos.PROBLEM_SQL: its topic, else its finest category), mapped in pandas.
PROBLEM_FROM = ("topic", "category_l3", "category_l2", "category_l1")
NO_PROBLEM = "未分类"


def load(con, *, words: bool = True, compact: bool = False, slim: bool = False) -> dict[str, pd.DataFrame]:
    """Load every table a dashboard needs into DataFrames, once.

    `words=False`: no word statistics. `compact=True`: the low-cardinality
    text columns become categoricals (dictionary-encoded in Arrow before the
    conversion, which frees the Arrow buffers as it goes), what a careful user
    does when the plain load does not fit in memory. `slim=True` (see
    `load_slim`): what a careful user does when even that does not fit. The
    pages compute the same answers every way (tests/test_bench.py).
    """
    if slim:
        return load_slim(con, words=words)
    con = con.cursor()   # a fresh cursor: con.sql() refuses a connection with an unfinished result
    sql = f"SELECT {TICKET_COLUMNS}, {LOCATED_COLUMN} FROM tickets"  # fixed column list
    if compact:
        tickets = _arrow_to_pandas(con.sql(sql), LOW_CARDINALITY)
    else:
        table = con.sql(sql).to_arrow_table()   # con.sql: no extra copy of the rows
        tickets = table.to_pandas()
        del table
    _hotspot_columns(tickets, _back_ids(con).column(0).to_pandas())
    out = {"tickets": tickets, "hot_fast": _hot_ready(con)}
    _load_funnel_tables(con, out)
    # The stored words with the ticket columns the word filters need, joined once at load, strings as
    # categoricals: what a careful user would do for 10^8 rows (filtering them by a set of ticket ids on
    # every rerun would cost pandas minutes per view).
    if words:
        sql = ("SELECT w.word, CAST(w.day AS TIMESTAMP) AS day, t.district, t.topic FROM ticket_words w "
               "JOIN tickets t USING (ticket_id)")
        out["words"] = con.sql(sql).to_arrow_table().to_pandas(strings_to_categorical=True)
    return out


# The slim load: every column a page filters or groups on, nothing a page only shows. The ticket id becomes
# the store's row number (an int32 key, also in clue_tickets), the text columns stay in the store.
SLIM_TICKET_COLUMNS = ("CAST(rowid AS INTEGER) AS ticket_id, received_at, channel, appeal_type, category_l1, "
                       "category_l2, category_l3, topic, district, street, address, lon, lat, status, "
                       "responded_at, closed_at, satisfaction, resolved")
# The address as a categorical too (about a million distinct at 25 M): the hotspot page shows each row's most
# frequent one.
SLIM_CATEGORICAL = (*LOW_CARDINALITY, "address")
SLIM_LINKS_SQL = ("SELECT ct.* REPLACE (CAST(t.rowid AS INTEGER) AS ticket_id) FROM clue_tickets ct "
                  "JOIN tickets t USING (ticket_id)")
# The words with their day as a day number (int16: days since 1970-01-01) and the ticket's district and topic,
# a month at a time: a word's day is its ticket's received day, so each month joins only that month's tickets
# (one join of 2 x 10^8 words with 25 M tickets would spill gigabytes to disk under the load's 1 GB limit).
SLIM_WORDS_SQL = ("SELECT w.word, CAST(w.day - DATE '1970-01-01' AS SMALLINT) AS day, t.district, t.topic "
                  "FROM ticket_words w JOIN tickets t USING (ticket_id) "
                  "WHERE w.day >= $lo AND w.day < $hi AND t.received_at >= $lo AND t.received_at < $hi")
SLIM_WORD_MONTHS_SQL = ("SELECT DISTINCT CAST(date_trunc('month', day) AS DATE) AS m FROM ticket_words "
                        "WHERE day IS NOT NULL ORDER BY m")
SLIM_WORDS_ALL_SQL = ("SELECT w.word, CAST(w.day - DATE '1970-01-01' AS SMALLINT) AS day, t.district, t.topic "
                      "FROM ticket_words w JOIN tickets t USING (ticket_id)")
WORDS_COUNT_SQL = "SELECT count(*) FROM ticket_words"   # orphan words (none in a sound store) also fall back
# The shown rows' text, by row number (the row range lets DuckDB read only the blocks holding them).
SLIM_TEXT_SQL = ("SELECT CAST(rowid AS INTEGER) AS row, ticket_id, content FROM tickets "
                 "WHERE rowid BETWEEN $lo AND $hi AND rowid = ANY($rows)")
EPOCH = pd.Timestamp("1970-01-01")


def load_slim(con, *, words: bool = True) -> dict[str, pd.DataFrame]:
    """The pandas dashboard a careful user writes when the full load does not fit in memory (25 M tickets).

    Loaded: every column a page filters, groups or counts on, with low-cardinality
    strings as categoricals, `resolved` as a nullable boolean, and the ticket
    id replaced by an int32 row key (the store's rowid, mapped in `clue_tickets`
    too, so the funnel's joins are integer joins). The words are the same
    stored `ticket_words` joined to their ticket's district and topic, strings
    as categoricals and the day as an int16 day number.

    Left out: the ticket text (`content`) and the string ticket id. No default
    page filters or groups on them: the ticket list shows them for its 50 rows
    only, so `tickets_page` reads them from the store for those rows
    (`d["store"]`, a cursor kept open). The text search (the one filter over
    `content`) is not among the benchmark's states; `_mask` refuses it here.
    The address is kept as a categorical (the hotspot page shows each row's
    most frequent one).
    """
    con = con.cursor()
    # Each categorical's values first (a few dozen to a few thousand, a million addresses at 25 M, in text
    # order), so every batch is encoded straight into its final codes: no per-batch dictionaries to unify.
    cats = {c: _distinct(con, "tickets", c) for c in SLIM_CATEGORICAL}
    sql = f"SELECT {SLIM_TICKET_COLUMNS}, {LOCATED_COLUMN} FROM tickets"   # fixed column list
    tickets = _arrow_to_pandas(con.sql(sql), cats)
    sql, params = _back_sql(con)
    sql = f"SELECT CAST(rowid AS INTEGER) AS ticket_id FROM tickets WHERE ticket_id IN ({sql})"   # fixed SQL
    _hotspot_columns(tickets, con.sql(sql, params=params).to_arrow_table().column(0).to_numpy())
    out = {"tickets": tickets, "hot_fast": _hot_ready(con)}
    _load_funnel_tables(con, out)
    out["clue_tickets"] = con.sql(SLIM_LINKS_SQL).to_arrow_table().to_pandas()
    if words:
        out["words"] = _slim_words(con, {"word": _distinct(con, "ticket_words", "word"),
                                         "district": cats["district"], "topic": cats["topic"]})
    out["store"] = con.cursor()
    return out


def _back_sql(con) -> tuple[str, dict]:
    """The query of the ticket ids "back after a close" and its parameters."""
    if _hot_ready(con):
        return BACK_STORED_SQL, {}
    return hpos.back_ids_sql("TRUE"), {"p_dlat": hpos.POS_GRID.dlat, "p_dlon": hpos.POS_GRID.dlon,
                                        **hpos.back_params()}


def _hot_ready(con) -> bool:
    """`hotspot_tickets` is current (on a cursor of its own: the check leaves a result unfinished)."""
    return hpos.ready(con.cursor())


def _back_ids(con) -> pa.Table:
    sql, params = _back_sql(con)
    return con.sql(sql, params=params).to_arrow_table()


def _hotspot_columns(t: pd.DataFrame, back_ids) -> None:
    """Add what the hotspot page needs per ticket, once: `located` as a plain boolean, `problem` (a categorical
    in text order) and `back` (the ticket's id is among `back_ids`)."""
    t["located"] = t["located"].to_numpy(dtype=bool, na_value=False)
    t["problem"] = _problems(t)
    ids = t["ticket_id"]
    if pd.api.types.is_integer_dtype(ids) and ids.is_monotonic_increasing:   # slim: sorted row keys
        keys = ids.to_numpy()
        back = np.asarray(back_ids, dtype=keys.dtype)
        pos = np.minimum(np.searchsorted(keys, back), max(len(keys) - 1, 0))
        flag = np.zeros(len(keys), dtype=bool)
        if len(keys):
            flag[pos[keys[pos] == back]] = True
        t["back"] = flag
    else:
        t["back"] = ids.isin(pd.Series(back_ids)).to_numpy(bool)


def _problems(t: pd.DataFrame) -> pd.Categorical:
    """coalesce(topic, category_l3, category_l2, category_l1, '未分类') per ticket (hpos.PROBLEM_SQL), as a
    categorical in text order, from the columns' codes (no string per row)."""
    cols = [t[c] if isinstance(t[c].dtype, pd.CategoricalDtype) else pd.Categorical(t[c]) for c in PROBLEM_FROM]
    cols = [c.array if isinstance(c, pd.Series) else c for c in cols]
    names = sorted({NO_PROBLEM}.union(*(set(c.categories.tolist()) for c in cols)))
    index = pd.Index(names)
    out = np.full(len(t), -1, dtype=np.int32)
    for c in cols:
        lut = index.get_indexer(c.categories)
        codes = np.asarray(c.codes)
        take = (out < 0) & (codes >= 0)
        out[take] = lut[codes[take]]
    out[out < 0] = index.get_loc(NO_PROBLEM)
    return pd.Categorical.from_codes(out, categories=index).remove_unused_categories()


def _distinct(con, table: str, column: str) -> list[str]:
    if table not in ("tickets", "ticket_words") or column not in (*SLIM_CATEGORICAL, "word"):
        raise ValueError(f"not a categorical column: {table}.{column}")
    sql = f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"   # whitelisted identifiers
    return sorted(v for (v,) in con.execute(sql).fetchall())


def _slim_words(con, cats: dict[str, list[str]]) -> pd.DataFrame:
    months = [m for (m,) in con.execute(SLIM_WORD_MONTHS_SQL).fetchall()]
    parts = [con.sql(SLIM_WORDS_SQL, params={"lo": m, "hi": (pd.Timestamp(m) + pd.DateOffset(months=1)).date()})
             for m in months]
    words = _arrow_to_pandas(parts, cats)
    ((expected,),) = con.execute(WORDS_COUNT_SQL).fetchall()
    if len(words) != expected:   # a word whose day is not its ticket's day: join them all at once instead
        del words
        words = _arrow_to_pandas(con.sql(SLIM_WORDS_ALL_SQL), cats)
    return words


def _arrow_to_pandas(rels, categorical: tuple[str, ...] | dict[str, list[str]]) -> pd.DataFrame:
    """The rows of one relation (or of a list of them, one after the other) as a DataFrame, `categorical`
    columns as categoricals (with these categories when given as a dict), booleans nullable.

    Batch by batch, so the plain strings of the categorical columns never exist all at once; every kept
    column is copied out of DuckDB's batch (an imported Arrow batch stays alive, strings and all, while any
    of its columns does), and the Arrow buffers are freed column by column as pandas takes them over.
    """
    rels = rels if isinstance(rels, list) else [rels]
    known = {c: (pa.array(v, pa.string()), _index_type(len(v))) for c, v in categorical.items()} \
        if isinstance(categorical, dict) else {}
    names: list[list[str]] = []       # per batch: its column names
    columns: list[list] = []          # per batch: its columns
    pending: list[tuple[int, int, pa.Array]] = []   # (batch, column, copied strings) not yet encoded

    def encode_pending() -> None:
        # One `index_in` per column over many batches: it hashes the value set on every call (a million
        # addresses at 25 M: DuckDB's batches of ~10^5 rows made that 80 s of the load, batch by batch).
        for i in sorted({i for _, i, _ in pending}):
            items = [(b, raw) for b, j, raw in pending if j == i]
            values, index_type = known[names[items[0][0]][i]]
            codes = pc.index_in(pa.chunked_array([raw for _, raw in items]), value_set=values)
            codes = codes.combine_chunks().cast(index_type)
            at = 0
            for b, raw in items:
                columns[b][i] = pa.DictionaryArray.from_arrays(codes.slice(at, len(raw)), values)
                at += len(raw)
        pending.clear()

    waiting = 0
    for rel in rels:
        for batch in rel.to_arrow_reader(1_000_000):
            cols = []
            for i, name in enumerate(batch.schema.names):
                col = batch.column(i)
                if name in known:
                    pending.append((len(columns), i, pa.concat_arrays([col])))
                    cols.append(None)
                elif name in categorical:
                    cols.append(col.dictionary_encode())
                else:
                    cols.append(pa.concat_arrays([col]))
            names.append(batch.schema.names)
            columns.append(cols)
            waiting += batch.num_rows
            del batch, cols, col
            if waiting >= ENCODE_ROWS:
                encode_pending()
                waiting = 0
    encode_pending()
    batches = [pa.RecordBatch.from_arrays(c, names=n) for c, n in zip(columns, names, strict=True)]
    columns.clear()
    if not batches:
        return rels[0].to_arrow_table().to_pandas(types_mapper=_NULLABLE_BOOL.get)
    table = pa.Table.from_batches(batches)
    del batches
    if not known:
        table = table.unify_dictionaries()
    df = table.to_pandas(self_destruct=True, split_blocks=True, types_mapper=_NULLABLE_BOOL.get)
    if not known:
        # Categories in text order (as Arrow found them, they are in order of appearance): groups then come
        # out in the order plain strings give, so ties in a ranking fall the same way as in the plain load.
        for c in categorical:
            df[c] = df[c].cat.reorder_categories(sorted(df[c].cat.categories))
    return df


ENCODE_ROWS = 2_000_000   # rows of strings waiting to be encoded into categorical codes at most


def _index_type(n: int) -> pa.DataType:
    return pa.int8() if n < 2**7 else pa.int16() if n < 2**15 else pa.int32()


_NULLABLE_BOOL = {pa.bool_(): pd.BooleanDtype()}   # 2 bytes a row, not a Python object per row


def _load_funnel_tables(con, out: dict) -> None:
    for t in ("clues", "clue_tickets", "cases", "rectifications", "districts"):
        sql = "SELECT * FROM " + t
        out[t] = con.sql(sql).to_arrow_table().to_pandas()


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
        if "content" not in df.columns:
            raise ValueError("the slim pandas dashboard leaves the ticket text in the store: no text search")
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
    out["trend"] = cur.groupby(cur["received_at"].dt.normalize()).size()   # not .dt.date: no Python object a row
    yoy = f.year_ago()
    if yoy is not None:
        last = t[_mask(t, yoy)]
        out["trend_last_year"] = last.groupby(last["received_at"].dt.normalize()).size()
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
        m &= w["day"] >= _day(w, f.date_from)
    if f.date_to:
        m &= w["day"] <= _day(w, f.date_to)
    if f.districts:
        m &= w["district"].isin(f.districts)
    if f.topics:
        m &= w["topic"].isin(f.topics)
    counts = w.loc[m].groupby("word", observed=True).size()
    counts.index = counts.index.astype(str)   # in text order, whatever the load's category order: ties fall alike
    counts = counts.sort_index()
    return counts[~counts.index.str.contains(" ", regex=False)]


def _day(w: pd.DataFrame, day) -> pd.Timestamp | int:
    """A filter date in the words' own day column type (the slim load keeps day numbers)."""
    ts = pd.Timestamp(day)
    return (ts - EPOCH).days if pd.api.types.is_integer_dtype(w["day"]) else ts


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


def _due_day(start: pd.Series, days) -> pd.Series:
    """The due day of a period opened on `start` (data/ledger/deadlines.py): calendar days, off a weekend."""
    d = start.dt.normalize() + pd.to_timedelta(np.asarray(days), unit="D")
    wd = d.dt.day_of_week              # 5 Saturday, 6 Sunday
    return d + pd.to_timedelta(np.where(wd == 5, 2, np.where(wd == 6, 1, 0)), unit="D")


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
                      "due_at": _due_day(review["created_at"], settings.get("HOTLINE_CLUE_REVIEW_DAYS"))}),
        pd.DataFrame({"rule": np.where(urgent, "urgent_reply", "suggestion_reply"), "item_id": sug["case_id"],
                      "district": sug["district"], "start_at": sug["measure_at"], "done_at": sug["replied_at"],
                      "due_at": _due_day(sug["measure_at"], reply_days)}),
    ], ignore_index=True)
    end = items["done_at"].fillna(as_of).dt.normalize()
    past = end > items["due_at"]
    items["state"] = np.select([past & items["done_at"].isna(), past, items["done_at"].isna()],
                               ["overdue", "late", "pending"], "on_time")
    items["days_over"] = (end - items["due_at"]).dt.days.astype(float)
    overdue = items[past].sort_values(["days_over", "item_id"], ascending=[False, True], ignore_index=True)
    return {"tickets": len(sel), "clues": len(clues), "cases": len(cases),
            "rectified": int(rect["case_id"].nunique()), "by_district": by_district,
            "by_function": clues.groupby("function").size(), "durations": durations,
            "deadlines": items.groupby(["rule", "state"]).size(), "overdue": overdue}


PAGE_COLUMNS = [c.strip() for c in TICKET_COLUMNS.split(",")]


def tickets_page(d: dict, f: Filters) -> tuple[int, pd.DataFrame]:
    t = d["tickets"]
    cur = t[_mask(t, f)]
    top = cur.nlargest(50, "received_at")
    if "store" in d:   # slim: the shown rows' ticket id and text, read from the store
        top = _with_text(d["store"], top)
    return len(cur), top[PAGE_COLUMNS]


def _with_text(store, top: pd.DataFrame) -> pd.DataFrame:
    rows = top["ticket_id"].astype("int64").tolist()
    if not rows:
        text = pd.DataFrame({"row": pd.Series(dtype="int32"), "ticket_id": pd.Series(dtype=str),
                             "content": pd.Series(dtype=str)})
    else:
        text = store.execute(SLIM_TEXT_SQL, {"lo": min(rows), "hi": max(rows), "rows": rows}).fetchdf()
    shown = top.rename(columns={"ticket_id": "row"}).merge(text, on="row", how="left")
    shown.index = top.index
    return shown[PAGE_COLUMNS]


def map_aggregates(d: dict, f: Filters, cell: float = 0.01) -> pd.DataFrame:
    t = d["tickets"]
    cur = t[_mask(t, f) & t["lon"].notna()]
    gx = np.floor(cur["lon"] / cell)
    gy = np.floor(cur["lat"] / cell)
    streets = cur.groupby(["district", "street"]).size()
    return pd.DataFrame({"gx": gx, "gy": gy}).groupby(["gx", "gy"]).size().reset_index(name="n"), streets


def hotspots(d: dict, f: Filters) -> dict:
    """The hotspot page: the product's ranked table, computed the pandas way (bench/pandas_hotspots.py)."""
    from bench.pandas_hotspots import hotspot_table

    return hotspot_table(d, f)


PAGES = {
    "overview": overview,
    "topics": topics,
    "funnel": funnel,
    "tickets": tickets_page,
    "map": map_aggregates,
    "hotspots": hotspots,
}
