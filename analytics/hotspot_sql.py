"""The SQL of the hotspot analysis: where the located tickets are read, cell counts for Gi*, tickets per problem
and 20 m position for the repeat places, and the per-row figures of the ranked table (counts by month, dates,
address modes, linked clues, "back after a close" counts, ticket ids), all computed in DuckDB.

Values are bound as parameters; table names are fixed identifiers (data/positions.py) or temporary
names made here (`_temp_name`). The statistics are analytics/hotspot_stats.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pandas as pd

from analytics import privacy, query
from analytics.filters import Filters
from analytics.hotspot_stats import POS_GRID, GiStar
from analytics.maps import LOCATED_SQL
from analytics.query import TICKETS_LOCATED, Located, located
from data import engine
from data import positions as hpos
from geo.grid import SQL_GI, SQL_GJ, Grid

MAX_TICKETS = 400_000  # per-ticket steps (repeat places, table) beyond this work on the latest ones

PROBLEM_SQL = hpos.PROBLEM_SQL


def _cells_shift(src: Located, grid: Grid) -> int | None:
    """k when `grid` cells are 2**k x 2**k cells of `hotspot_cells` (exact in floating point), else None."""
    if not src.cells:
        return None
    for k in range(5):
        if grid.cell_m == hpos.CELLS_M << k:
            return k
    return None


def cell_counts(con, f: Filters, grid: Grid, src: Located | None = None) -> pd.DataFrame:
    """Located tickets of the selection per grid cell: gi, gj, n."""
    src = src or located(con, f)
    k = _cells_shift(src, grid)
    if k is not None:  # from the day x street x 500 m cell counts
        w = f.where(prefix="q", time_column="day")
        sql = f"""SELECT gi >> $k AS gi, gj >> $k AS gj, CAST(sum(n) AS BIGINT) AS n FROM {hpos.CELLS}
                  WHERE {w.sql} GROUP BY ALL ORDER BY n DESC, gi, gj"""
        return con.execute(sql, {**w.params, "k": k}).df()
    w = f.where(prefix="q")
    sql = f"""SELECT {SQL_GI} AS gi, {SQL_GJ} AS gj, count(*) AS n FROM {src.table}
              WHERE {w.sql} AND {src.located} GROUP BY ALL ORDER BY n DESC, gi, gj"""
    return con.execute(sql, {**w.params, **grid.sql_params()}).df()


# ---------------------------------------------------------------- tickets
def located_tickets(con, f: Filters, limit: int = MAX_TICKETS) -> pd.DataFrame:
    """The located tickets of the selection with what the hotspot steps need (latest `limit`)."""
    w = f.where(prefix="h")
    sql = f"""
        SELECT ticket_id, received_at, closed_at, lon, lat, {PROBLEM_SQL} AS problem,
               district, street, address
        FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL}
        ORDER BY received_at DESC, ticket_id
        LIMIT $lim
    """
    return con.execute(sql, {**w.params, "lim": int(limit)}).df()


SQL_PI = "(CAST(floor(lat / $p_dlat) AS BIGINT) >> $p_shift)"
SQL_PJ = "(CAST(floor(lon / $p_dlon) AS BIGINT) >> $p_shift)"


def _pos_sql(src: Located, shift: int) -> tuple[str, str, str, dict]:
    """(problem, pi, pj) expressions on `src` and their parameters: `hotspot_tickets` stores the three
    (the same expressions, evaluated at import), `tickets` computes them."""
    if src.fast:
        return "problem", "(pi >> $p_shift)", "(pj >> $p_shift)", {"p_shift": int(shift)}
    return PROBLEM_SQL, SQL_PI, SQL_PJ, {"p_dlat": POS_GRID.dlat, "p_dlon": POS_GRID.dlon, "p_shift": int(shift)}


def positions(con, f: Filters, src: Located | None = None) -> pd.DataFrame:
    """Located tickets of the selection counted per problem and 20 m position (one SQL GROUP BY).

    Columns: problem, pi, pj, n, lon, lat (mean of the tickets).
    """
    src = src or located(con, f)
    w = f.where(prefix="h")
    problem, pi, pj, pp = _pos_sql(src, 0)
    sql = f"""
        SELECT {problem} AS problem, {pi} AS pi, {pj} AS pj, count(*) AS n,
               avg(lon) AS lon, avg(lat) AS lat
        FROM {src.table}
        WHERE {w.sql} AND {src.located}
        GROUP BY ALL
        ORDER BY problem, pi, pj  -- a fixed order: the greedy grouping breaks ties by position
    """
    return con.execute(sql, {**w.params, **pp}).df()


def positions_on_own_cursor(con, f: Filters, src: Located) -> pd.DataFrame:
    """`positions()` on a cursor of its own (a connection's statements run one at a time)."""
    cur = con.cursor()
    try:
        return positions(cur, f, src)
    finally:
        cur.close()


def problem_counts(con, f: Filters, src: Located, problems) -> pd.DataFrame:
    """Located tickets of the selection per problem, district and street (for these problems)."""
    w = f.where(prefix="h")
    sql = f"""SELECT {PROBLEM_SQL} AS problem, district, street, count(*) AS n FROM {src.table}
              WHERE {w.sql} AND {src.located} AND {PROBLEM_SQL} IN (SELECT unnest($probs::VARCHAR[]))
              GROUP BY ALL"""
    return con.execute(sql, {**w.params, "probs": [str(x) for x in problems]}).df()


def _temp_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"  # our own identifier, not user input


# The hotspot cells' and the place positions' keys as relations of bound lists (no table): `fetch_ids`, and
# `member_stats` on a distributed engine (whose read connection makes no temporary tables: data/engine/).
HOT_KEYS_SQL = ("(SELECT unnest($hk_gi::BIGINT[]) AS gi, unnest($hk_gj::BIGINT[]) AS gj, "
                "unnest($hk_key::VARCHAR[]) AS key)")
PLACE_KEYS_SQL = ("(SELECT unnest($pk_problem::VARCHAR[]) AS problem, unnest($pk_pi::BIGINT[]) AS pi, "
                  "unnest($pk_pj::BIGINT[]) AS pj, unnest($pk_key::VARCHAR[]) AS key)")


def _key_params(hot: pd.DataFrame, pos: pd.DataFrame) -> dict:
    """The lists HOT_KEYS_SQL and PLACE_KEYS_SQL read: hot cells (gi, gj, cluster), positions (problem, pi, pj,
    place)."""
    return {"hk_gi": hot["gi"].astype("int64").tolist(), "hk_gj": hot["gj"].astype("int64").tolist(),
            "hk_key": [f"h{c}" for c in hot["cluster"].tolist()],
            "pk_problem": [str(x) for x in pos["problem"].tolist()], "pk_pi": pos["pi"].astype("int64").tolist(),
            "pk_pj": pos["pj"].astype("int64").tolist(), "pk_key": [f"p{c}" for c in pos["place"].tolist()]}


def _member_cte(f: Filters, hot_keys: str, place_keys: str, grid: Grid, shift: int,
                src: Located = TICKETS_LOCATED, *, lean: bool = False, extra: str = "") -> tuple[str, dict]:
    """`m`: (key, ticket) for every located ticket of the selection in a hotspot cell or a place.

    `lean`: only the ids, times and positions (for `ticket_ids`), not the address columns nor `back`.
    `extra`: a further condition on the tickets (fixed SQL, e.g. " AND ticket_id IN (SELECT ... lk)")."""
    w = f.where(prefix="h")
    # `back` (back after a close, data/after_close.py, over the whole store): stored in hotspot_tickets, else
    # computed the same way from tickets (slow: every located ticket)
    back = "back" if src.fast else f"ticket_id IN ({hpos.back_ids_sql(w.sql)})"
    problem, pi, pj, pp = _pos_sql(src, shift)
    if not src.fast and not lean:  # back_ids_sql bins the positions itself
        pp = {**pp, "p_dlat": POS_GRID.dlat, "p_dlon": POS_GRID.dlon, **hpos.back_params()}
    cols = "" if lean else f"district, street, address, {back} AS back, lon, lat, "
    sql = f"""
        t AS (SELECT ticket_id, received_at, {cols}{problem} AS problem,
                     {pi} AS pi, {pj} AS pj, {SQL_GI} AS gi, {SQL_GJ} AS gj
              FROM {src.table} WHERE {w.sql} AND {src.located}{extra}),
        m AS (SELECT k.key, t.* FROM t JOIN {hot_keys} k USING (gi, gj)
              UNION ALL
              SELECT k.key, t.* FROM t JOIN {place_keys} k USING (problem, pi, pj))
    """
    return sql, {**w.params, **grid.sql_params(), **pp}


def _light_stats(con, f: Filters, hot_keys: str, k: int, mid: pd.Timestamp, kp: dict) -> dict:
    """`member_stats(light=True)` from the day x street x cell counts (`hotspot_cells`, cells 2**k of them).

    Exact: `mid` is a midnight or a noon, and the cells carry the tickets received after noon."""
    w = f.where(prefix="c", time_column="day")
    sql = f"""SELECT k.key, date_trunc('month', c.day)::DATE AS month, CAST(sum(c.n) AS BIGINT) AS n,
                     min(c.first) AS first, max(c.last) AS last, sum(c.slon) AS slon, sum(c.slat) AS slat,
                     CAST(sum(CASE WHEN c.day > $midday THEN c.n
                                   WHEN c.day = $midday THEN (CASE WHEN $noon THEN c.n_pm ELSE c.n END)
                                   ELSE 0 END) AS BIGINT) AS late
              FROM {hpos.CELLS} c JOIN {hot_keys} k ON (c.gi >> $k) = k.gi AND (c.gj >> $k) = k.gj
              WHERE {w.sql}
              GROUP BY ALL"""
    params = {**w.params, **kp, "k": int(k), "midday": mid.date(), "noon": bool(mid.hour == 12)}
    months = con.execute(sql, params).df()
    base = _key_totals(months)
    base["ids"] = [[] for _ in range(len(base))]
    return {"months": months, "base": base, "where": pd.DataFrame(columns=["district", "street", "address"]),
            "problem": pd.Series(dtype=object), "clues": pd.Series(dtype=object), "after": pd.Series(dtype="int64")}


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    """`df` indexed by its `key` column as plain Python strings (isin/alignment on pandas' Arrow strings are
    10x slower, and the keys are only looked up)."""
    out = df.set_index("key")
    out.index = out.index.astype(object)
    return out


def _key_totals(months: pd.DataFrame) -> pd.DataFrame:
    """n, first, last, late (and n_back, slon, slat when present) per key from the per-key-and-month rows."""
    g = months.groupby(months["key"].astype(object))
    cols = [c for c in ("n", "late", "n_back", "slon", "slat") if c in months.columns]
    out = g[cols].sum()
    out["first"] = g["first"].min()
    out["last"] = g["last"].max()
    return out[["n", "first", "last", "late", *cols[2:]]]


CLUES_SQL = """WITH l AS (SELECT DISTINCT x.key, ct.clue_id FROM (SELECT key, ticket_id FROM {members}) x
                           JOIN {links} ct USING (ticket_id))
                SELECT key, string_agg(clue_id, '、' ORDER BY clue_id) AS clues FROM l GROUP BY key"""


# the same from the members CTE restricted to the linked tickets (`lk`: the selection's links)
LINKED_CLUES_SQL = """WITH lk AS (SELECT ticket_id, clue_id FROM {links} WHERE {where}), {cte}
    SELECT key, string_agg(DISTINCT clue_id, '、' ORDER BY clue_id) AS clues FROM m JOIN lk USING (ticket_id)
    GROUP BY key"""
LINKED_ONLY = " AND ticket_id IN (SELECT ticket_id FROM lk)"


def _key_clues(con, f: Filters, members: str, params: dict, src: Located,
               linked: tuple[str, dict] | None = None) -> pd.Series:
    """The linked clues of each key ("、"-joined, sorted) from a (key, ticket_id) relation `members`.

    The selection's links come from `funnel_tickets` (data/links.py: one row per distinct clue-ticket link of
    an existing ticket, with the ticket's filter columns, sorted by time) when it is current and the filters
    are columns it has (always so for `hotspot_tickets`): about a tenth of the members. `linked`: the members
    CTE (`_member_cte(extra=LINKED_ONLY)`) and its parameters, so only the linked tickets are joined to the
    keys. Else from `clue_tickets`, limited to the members' id range (ids carry the date: DuckDB skips row
    groups)."""
    if src.fast and query.links_ready(con):
        w = f.where(prefix="l")
        if linked is not None:
            sql = LINKED_CLUES_SQL.format(links=query.LINKS_TABLE, where=w.sql, cte=linked[0])
            return _keyed(con.execute(sql, {**linked[1], **w.params}).df())["clues"]
        sql = CLUES_SQL.format(members=members, links=f"(SELECT ticket_id, clue_id FROM {query.LINKS_TABLE} WHERE {w.sql})")
        return _keyed(con.execute(sql, {**params, **w.params}).df())["clues"]
    sql = f"SELECT min(ticket_id), max(ticket_id) FROM {members}"
    lo, hi = con.execute(sql, params).fetchall()[0]
    sql = CLUES_SQL.format(members=members, links="(SELECT DISTINCT ticket_id, clue_id FROM clue_tickets "
                                                  "WHERE ticket_id BETWEEN $lo AND $hi)")
    return _keyed(con.execute(sql, {**params, "lo": lo or "", "hi": hi or ""}).df())["clues"]


MEMBERS_IN_MEMORY = 100_000  # at most this many (row, ticket) pairs are kept in a temporary table ...
MEMBERS_IN_MEMORY_FAST = 600_000  # ... or this many when they come from the narrow hotspot_tickets
MEMBERS_DIRECT_FROM = 200_000  # from hotspot_tickets, above this many pairs each query joins again (no temp table)


# The latest `max_ids` ticket ids of each key, newest first (ties on the time: the larger id first, so the lists
# do not depend on the order DuckDB reads the members in: the eager and the lazy path give the same lists).
IDS_SQL = "SELECT key, max_by(ticket_id, (received_at, ticket_id), $max_ids) AS ids FROM {src} GROUP BY key"


def member_stats(con, f: Filters, hot_cells: pd.DataFrame, places: pd.DataFrame, grid: Grid, shift: int, *,
                  mid: pd.Timestamp, max_ids: int, expected: int, light: bool = False,
                  source: Located = TICKETS_LOCATED, ids: bool = True, problem: str | None = None) -> dict:
    """Per key (h<cluster> / p<place>): counts, dates, halves, ids, modes, months, clues, after-close counts.

    `ids=False`: the ticket ids are not listed (None per key; `ticket_ids()` fetches them for the rows a user
    opens) unless the modes need them (more members than fit the temporary table). `problem`: the one problem
    of every located ticket of the selection, when known (then it is every row's problem, not asked of SQL).

    The (key, ticket) pairs are computed once into a temporary table when there are at most
    MEMBERS_IN_MEMORY of them (`expected`); above that every aggregate streams over the tickets again,
    so memory stays bounded by the number of rows, not of tickets. `light`: counts and months only
    (one streaming scan), for the capped all-problem case.

    On a distributed engine (no temporary tables: its connection only reads) the keys are bound lists
    (HOT_KEYS_SQL, PLACE_KEYS_SQL) and every aggregate streams over the selection where the data is: only the
    per-key figures come back, never the members.
    """
    temp = not engine.is_engine(con)
    hk, pk, mt, lt = (_temp_name(p) for p in ("hs_hot", "hs_place", "hs_members", "hs_latest"))
    if temp:
        # the keys from two small frames (a replacement scan of the local frame: no list parameters to bind)
        # (the keys are made in SQL: building ~10^5 key strings in pandas cost more than the join)
        hot_keys = hot_cells[["gi", "gj", "cluster"]]  # noqa: F841 - read by the SQL below
        place_keys = places[["problem", "pi", "pj", "place"]]  # noqa: F841 - read by the SQL below
        # Temp table names come from _temp_name (fixed prefixes), never from the user.
        sql = f"CREATE TEMP TABLE {hk} AS SELECT gi::BIGINT AS gi, gj::BIGINT AS gj, 'h' || cluster AS key FROM hot_keys"
        con.execute(sql)
        sql = (f"CREATE TEMP TABLE {pk} AS SELECT problem::VARCHAR AS problem, pi::BIGINT AS pi, pj::BIGINT AS pj, "
               "'p' || place AS key FROM place_keys")
        con.execute(sql)
        kp: dict = {}
    else:
        hk, pk, kp = HOT_KEYS_SQL, PLACE_KEYS_SQL, _key_params(hot_cells, places)
    try:
        k = _cells_shift(source, grid)
        if light and k is not None and mid in (mid.normalize(), mid.normalize() + pd.Timedelta(hours=12)):
            return _light_stats(con, f, hk, k, mid, kp)
        cte, params = _member_cte(f, hk, pk, grid, shift, source)
        params = {**params, **kp}
        select = f"""WITH {cte}
            SELECT key, ticket_id, received_at, problem, coalesce(district, '') AS district,
                   coalesce(street, '') AS street, coalesce(address, '') AS address, back, lon, lat
            FROM m"""
        in_memory = expected <= (MEMBERS_IN_MEMORY_FAST if source.fast else MEMBERS_IN_MEMORY)
        # From the narrow hotspot_tickets, with many pairs, each query joins the selection to the keys again: that
        # costs less than materialising the (key, ticket) pairs with their address strings (≈ 0.2 s CPU for 480 k
        # pairs at 25 M); below MEMBERS_DIRECT_FROM the temporary table is as cheap or cheaper.
        direct = in_memory and source.fast and expected > MEMBERS_DIRECT_FROM
        if in_memory and not direct and temp:
            sql = f"CREATE TEMP TABLE {mt} AS {select}"
            con.execute(sql, params)
            src, sp = mt, {}
        else:
            src, sp = f"({select}) AS members", params
        out: dict = {}
        # per key and month: counts, dates, the sums of the coordinates (a hotspot's mean point), and with the
        # places how many came back after a fix (the members back after a close: `back`)
        extra = ", sum(lon) AS slon, sum(lat) AS slat" + ("" if light else ", count(*) FILTER (WHERE back) AS n_back")
        sql = f"""SELECT key, date_trunc('month', received_at)::DATE AS month, count(*) AS n,
                         min(received_at) AS first, max(received_at) AS last,
                         count(*) FILTER (WHERE received_at >= $mid) AS late{extra}
                  FROM {src} GROUP BY ALL"""
        months = con.execute(sql, {**sp, "mid": mid.to_pydatetime()}).df()
        out["months"] = months
        base = _key_totals(months)
        if light:
            base["ids"] = [[] for _ in range(len(base))]
            out["base"] = base
            out["where"] = pd.DataFrame(columns=["district", "street", "address"])
            out["problem"] = out["clues"] = pd.Series(dtype=object)
            out["after"] = pd.Series(dtype="int64")
            return out
        if ids or not in_memory:
            sql = IDS_SQL.format(src=src)
            ids = _keyed(con.execute(sql, {**sp, "max_ids": int(max_ids)}).df())["ids"].map(list)
            base["ids"] = ids.reindex(base.index)
        else:
            base["ids"] = None
        out["base"] = base
        if in_memory:
            modes_src, msp = src, sp
        else:  # too many tickets to group them all: modes and clues from each row's latest `max_ids` tickets
            w = f.where(prefix="x")
            pairs = ids.explode()
            latest = f"""
                SELECT k.key, t.ticket_id, {PROBLEM_SQL} AS problem, coalesce(t.district, '') AS district,
                       coalesce(t.street, '') AS street, coalesce(t.address, '') AS address
                FROM {source.table} t JOIN (SELECT unnest($mk::VARCHAR[]) AS key, unnest($ml::VARCHAR[]) AS ticket_id) k
                     USING (ticket_id)
                WHERE {w.sql}"""
            lp = {**w.params, "mk": pairs.index.astype(str).tolist(), "ml": pairs.astype(str).tolist()}
            if temp:
                sql = f"CREATE TEMP TABLE {lt} AS {latest}"
                con.execute(sql, lp)
                modes_src, msp = lt, {}
            else:
                modes_src, msp = f"({latest}) AS latest", lp
        # the most frequent (district, street, address) and problem of each row (ties: alphabetical); a place's
        # members all have its problem (they are joined on it)
        sql = f"""WITH c AS (SELECT key, district, street, address, count(*) AS c FROM {modes_src} GROUP BY ALL)
                  SELECT key, district, street, address FROM c
                  QUALIFY row_number() OVER (PARTITION BY key ORDER BY c DESC, district, street, address) = 1"""
        out["where"] = _keyed(con.execute(sql, msp).df())
        if problem is not None:
            hot = base.index[base.index.str.startswith("h")]
            hot_problem = pd.Series(problem, index=hot, dtype=object)
        else:
            hot_src = modes_src
            if direct:  # the hotspot rows' members only (the places' join to an empty key table)
                hot_cte, _ = _member_cte(f, hk, f"(SELECT problem, pi, pj, key FROM {pk} LIMIT 0)", grid, shift, source)
                hot_src = f"(WITH {hot_cte} SELECT key, problem FROM m) AS members"
            sql = f"""WITH c AS (SELECT key, problem, count(*) AS c FROM {hot_src} WHERE key LIKE 'h%' GROUP BY ALL)
                      SELECT key, problem FROM c QUALIFY row_number() OVER (PARTITION BY key ORDER BY c DESC, problem) = 1"""
            hot_problem = _keyed(con.execute(sql, msp).df())["problem"]
        first = places.drop_duplicates("place")
        place_problem = pd.Series(first["problem"].to_numpy(object),
                                  index=pd.Index(("p" + first["place"].astype(str)).to_numpy(object), dtype=object))
        out["problem"] = pd.concat([hot_problem, place_problem[place_problem.index.isin(base.index)]]).astype("str")
        linked = None
        if direct:
            linked_cte, linked_params = _member_cte(f, hk, pk, grid, shift, source, lean=True, extra=LINKED_ONLY)
            linked = (linked_cte, {**linked_params, **kp})
        out["clues"] = _key_clues(con, f, modes_src, msp, source, linked)
        if places.empty:
            out["after"] = pd.Series(dtype="int64")
            return out
        out["after"] = base.loc[base.index.str.startswith("p"), "n_back"].rename("n_after_close")
    finally:
        for name in (mt, lt, hk, pk) if temp else ():
            sql = f"DROP TABLE IF EXISTS {name}"
            con.execute(sql)
    return out


def latest_texts(con, ticket_ids: list[str], f: Filters | None = None) -> pd.DataFrame:
    """ticket_id, received_at and masked content of these tickets, newest first (ties: by id, so every engine
    and every run lists them in one order).

    `f` (the filters the ids came from) lets DuckDB skip row groups outside the dates.
    """
    if not ticket_ids:
        return pd.DataFrame(columns=["ticket_id", "received_at", "content"])
    w = (f or Filters()).where(prefix="x")
    sql = f"""SELECT ticket_id, received_at, content, complainant_name FROM tickets
              WHERE {w.sql} AND ticket_id IN (SELECT unnest($ids::VARCHAR[]))
              ORDER BY received_at DESC, ticket_id"""
    df = con.execute(sql, {**w.params, "ids": list(ticket_ids)}).df()
    return privacy.mask_frame(df).drop(columns=["complainant_name"])


def cluster_tickets(con, f: Filters, gi: GiStar, cluster: int, limit: int = 1000) -> pd.DataFrame:
    """The latest `limit` located tickets in the cells of one Gi* hotspot, masked (drill-down when the
    table row carries no ticket ids: the capped all-problem case)."""
    from analytics.maps import TICKET_COLUMNS

    cells = gi.cells[gi.cells["hot"] & (gi.cells["cluster"] == int(cluster))]
    if cells.empty:
        return pd.DataFrame(columns=list(TICKET_COLUMNS))
    w = f.where(prefix="q")
    cols = ", ".join(TICKET_COLUMNS)
    sql = f"""
        SELECT {cols}, complainant_name FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL}
          AND ({SQL_GI}, {SQL_GJ}) IN (SELECT (unnest($cgi::BIGINT[]), unnest($cgj::BIGINT[])))
        ORDER BY received_at DESC LIMIT $lim
    """
    params = {**w.params, **gi.grid.sql_params(), "cgi": cells["gi"].astype("int64").tolist(),
              "cgj": cells["gj"].astype("int64").tolist(), "lim": int(limit)}
    return privacy.mask_frame(con.execute(sql, params).df()).drop(columns=["complainant_name"])


@dataclass(frozen=True, eq=False)
class Members:
    """What `fetch_ids()` needs to list the tickets of a table row or place after the fact: the selection,
    the hotspot cells and place positions the rows were joined on, and each row's key (h<cluster>/p<place>)."""

    f: Filters
    grid: Grid
    shift: int
    src: Located
    hot_cells: pd.DataFrame     # gi, gj, cluster
    positions: pd.DataFrame     # problem, pi, pj, place (the grouping's place ids)
    table_keys: tuple[str, ...]
    place_keys: tuple[str, ...]
    max_ids: int


def fetch_ids(con, m: Members, keys: list[str]) -> dict[str, list]:
    """The latest `m.max_ids` ticket ids of these keys, newest first: the eager path's lists (`IDS_SQL` over the
    same join), computed for these keys only."""
    hot = m.hot_cells[m.hot_cells["cluster"].isin([int(k[1:]) for k in keys if k.startswith("h")])]
    pos = m.positions[m.positions["place"].isin([int(k[1:]) for k in keys if k.startswith("p")])]
    if hot.empty and pos.empty:
        return {}
    cte, params = _member_cte(m.f, HOT_KEYS_SQL, PLACE_KEYS_SQL, m.grid, m.shift, m.src, lean=True)
    sql = f"WITH {cte} " + IDS_SQL.format(src="m")
    params = {**params, "max_ids": m.max_ids, **_key_params(hot, pos)}
    df = con.execute(sql, params).df()
    return {str(k): list(v) for k, v in zip(df["key"].tolist(), df["ids"].tolist(), strict=True)}
