"""The numbers behind the map page: area values, capped points, grid cells, months, drill-down.

Browsers choke on a few thousand plain markers and streamlit-folium re-sends
everything on each rerun, so nothing here returns more than
HOTLINE_MAP_MAX_FEATURES features: above that, points are counted per grid cell
in SQL and the caller gets a Chinese note saying what was aggregated. Every
function takes the one `Filters` value and aggregates in DuckDB.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analytics import privacy, theme
from analytics.filters import Filters
from analytics.query import summary_table
from data import positions as hpos
from data import settings
from geo import boundaries, regions
from geo.grid import SQL_GI, SQL_GJ, Grid

LEVELS = ("district", "street")
# Grid sizes of the point layer: each twice the one before, so one GROUP BY at the finest size tells how many
# cells every size would have (a cell of 2^k fine cells is (gi >> k, gj >> k)).
MAP_CELL_SIZES_M = tuple(125 * 2 ** k for k in range(7))  # 125 m … 8 km
METRICS = theme.MAP_METRICS

# Preset problems of the point map: label -> (topic name, keyword used when the topic is not in the data).
PRESETS: dict[str, tuple[str, str]] = {
    "井盖": ("井盖", "井盖"),
    "污水/排污": ("污水", "污水"),
    "假冒伪劣": ("假冒伪劣", "假冒"),
}

# Which rows a map may draw (docs/data-model.md, geo_flag): defined with the hotspot table that holds them.
LOCATED_SQL = hpos.LOCATED_SQL

TICKET_COLUMNS = ("ticket_id", "received_at", "district", "street", "address", "topic", "category_l3",
                  "content", "status", "closed_at", "lon", "lat")


def max_features() -> int:
    return max(10, int(settings.get("HOTLINE_MAP_MAX_FEATURES")))


def preset_filters(f: Filters, preset: str, known_topics: tuple[str, ...] | list[str] = ()) -> Filters:
    """The filters with the preset problem applied (its topic, or its keyword if the topic is unknown)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {list(PRESETS)}")
    topic, keyword = PRESETS[preset]
    if not known_topics or topic in known_topics:
        return f.replace(topics=(topic,))
    return f.replace(topics=(), text=keyword)


# ---------------------------------------------------------------- areas
def _area_where(f: Filters) -> tuple[str, dict]:
    """Restrict the area list to the chosen districts/streets (other filters apply to tickets)."""
    only = Filters(districts=f.districts, streets=f.streets)
    w = only.where("g", prefix="a", dates=False)
    return w.sql, w.params


def _counts_sql(f: Filters, level: str, prefix: str) -> tuple[str, dict]:
    keys = "district" if level == "district" else "district, street"
    table = summary_table(f, *keys.split(", "))
    if table is not None:
        w = f.daily_where(prefix=prefix)
        return f"SELECT {keys}, sum(n) AS n FROM {table} WHERE {w.sql} GROUP BY ALL", w.params
    w = f.where(prefix=prefix)
    return f"SELECT {keys}, count(*) AS n FROM tickets WHERE {w.sql} GROUP BY ALL", w.params


def area_values(con, f: Filters, level: str = "district") -> pd.DataFrame:
    """Ticket counts per district or street, per 10,000 residents, and change against the previous period.

    Columns: district, [street, street_code], n, n_prev, population, per_10k, change, change_pct,
    population_estimated (True for streets: their population is the district's split evenly).
    Every area of the chosen districts/streets is listed, with 0 where no ticket matched.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    cur_sql, params = _counts_sql(f, level, "c")
    prev = f.previous_period()
    if prev is not None:
        prev_sql, prev_params = _counts_sql(prev, level, "p")
        params = {**params, **prev_params}
    else:
        prev_sql = f"SELECT {'district' if level == 'district' else 'district, street'}, NULL::BIGINT AS n WHERE FALSE"
    area_sql, area_params = _area_where(f)
    params.update(area_params)
    if level == "district":
        sql = f"""
            WITH cur AS ({cur_sql}), prev AS ({prev_sql})
            SELECT g.district, coalesce(cur.n, 0) AS n, prev.n AS n_prev, g.population AS population
            FROM districts g LEFT JOIN cur USING (district) LEFT JOIN prev USING (district)
            WHERE {area_sql}
            ORDER BY g.adcode
        """
    else:
        sql = f"""
            WITH cur AS ({cur_sql}), prev AS ({prev_sql})
            SELECT g.district, g.street, g.street_code, coalesce(cur.n, 0) AS n, prev.n AS n_prev,
                   g.population_est AS population
            FROM streets g LEFT JOIN cur USING (district, street) LEFT JOIN prev USING (district, street)
            WHERE {area_sql}
            ORDER BY g.street_code
        """
    df = con.execute(sql, params).df()
    if prev is not None:
        df["n_prev"] = df["n_prev"].fillna(0)
    df["n"] = df["n"].astype("int64")
    df["n_prev"] = df["n_prev"].astype("Float64")
    pop = df["population"].astype(float)
    df["per_10k"] = np.where(pop > 0, df["n"] / pop.where(pop > 0) * 10_000, np.nan).round(3)
    df["change"] = (df["n"] - df["n_prev"]).astype("Float64")
    df["change_pct"] = np.where(df["n_prev"].fillna(0).to_numpy(float) > 0,
                                (df["change"] / df["n_prev"]).to_numpy(float, na_value=np.nan) * 100, np.nan)
    df["population_estimated"] = level == "street"
    return df


def unplaced_count(con, f: Filters) -> int:
    """Matching tickets without a known street (not shown on a street choropleth)."""
    table = summary_table(f, "street")
    if table is not None:
        w = f.daily_where(prefix="u")
        sql = f"SELECT coalesce(sum(n), 0) FROM {table} WHERE {w.sql} AND street IS NULL"
    else:
        w = f.where(prefix="u")
        sql = f"SELECT count(*) FROM tickets WHERE {w.sql} AND street IS NULL"
    return int(con.execute(sql, w.params).fetchone()[0])


def shows_points(f: Filters, located: int, limit: int) -> bool:
    """The map's automatic layer: points when the selection is small, else the choropleth.

    Small means at most `limit` located tickets within chosen districts or
    streets, or at most 2,000 anywhere (a whole-city selection of more would be
    a cloud of dots; the choropleth says more at city zoom).
    """
    return located <= limit and (bool(f.districts or f.streets) or located <= 2000)


def quick_counts(con, f: Filters) -> tuple[int, int]:
    """(matching tickets, of which with coordinates), from the daily summary when the filters allow.

    The second number counts every ticket with coordinates, drawable or not (`n_located`), so it is an
    upper bound of what `counts` returns: enough to decide whether a selection is small enough for points.
    """
    table = summary_table(f)
    if table is None:
        return counts(con, f)
    w = f.daily_where(prefix="k")
    sql = f"SELECT coalesce(sum(n), 0), coalesce(sum(n_located), 0) FROM {table} WHERE {w.sql}"
    n, located = con.execute(sql, w.params).fetchone()
    return int(n), int(located)


# ---------------------------------------------------------------- points and grid
@dataclass(frozen=True)
class PointLayer:
    """What a point-type layer will draw, and the note that says what was capped."""

    mode: str                # "points", "grid" or "empty"
    frame: pd.DataFrame      # points: TICKET_COLUMNS (masked); grid: gi, gj, lon, lat, n, first, last
    total: int               # matching tickets
    located: int             # of which with coordinates
    grid: Grid | None = None
    limit: int = 5000
    notes: list[str] = field(default_factory=list)

    @property
    def shown(self) -> int:
        return len(self.frame)

    @property
    def note(self) -> str:
        return "；".join(self.notes)


def region_label() -> str:
    """The active region's name in Chinese (北京市, 蚌埠市 ...), for the page's words."""
    return regions.active().label


def region_has(what: str) -> bool:
    """Whether the active region has "geography" (district polygons) or "streets"."""
    r = regions.active()
    return r.has_streets if what == "streets" else r.has_geography


def outside_region(con, f: Filters) -> int:
    """Tickets of the selection whose coordinates lie outside the active region (kept, never drawn)."""
    w = f.where(prefix="k")
    sql = f"SELECT count(*) FROM tickets WHERE {w.sql} AND geo_flag = 'outside_region'"
    return int(con.execute(sql, w.params).fetchone()[0])


def geography_note(con, f: Filters) -> tuple[str, str] | None:
    """("info" | "warning", what the map page must say first) when the data is not (all) in the active
    region or the region has no geography; None when there is nothing to say."""
    r = regions.active()
    out = outside_region(con, f)
    if not r.has_geography:
        with_pts = f" 其中 {out:,} 件带坐标。" if out else ""
        return ("info", f"本数据库的区域为“{r.label}”，没有区县边界，地图无法显示。{with_pts}"
                        "如数据来自某个城市，请用 `python manage.py region install 区域包 --db 数据库路径` 选择它的区域包"
                        "（`python manage.py region list` 列出现有区域包，`region build --name 城市名` 可生成）。")
    if out:
        _n, located = quick_counts(con, f)     # located: in the region (outside ones are not counted there)
        most = out >= (out + located) * 0.5
        return ("warning", f"{out:,} 件工单的坐标不在{r.label}范围内，已保留但不上图。"
                + ("数据可能不属于本区域：请确认数据来源，或用 `python manage.py region install` 选择数据所在城市的区域包。"
                   if most else ""))
    return None


def unplaceable_note(con, f: Filters) -> str | None:
    """What the map page says instead of drawing an empty region, when no ticket of the selection can be
    placed on it (no district of the region, no point inside it); None when some can.

    Data with no geography at all (anonymised "A市" messages) or another city's points would otherwise show
    an empty map of the region, which reads as "no tickets here".
    """
    r = regions.active()
    if not r.has_geography:
        return None                        # geography_note says the region has no boundaries
    w = f.where(prefix="k")
    sql = f"""
        SELECT count(*), count(*) FILTER (WHERE district IS NOT NULL OR {LOCATED_SQL}), count(lon)
        FROM tickets WHERE {w.sql}
    """
    total, placed, with_points = (int(x) for x in con.execute(sql, w.params).fetchone())
    if total == 0 or placed:
        return None
    if with_points:
        why = f"它们的坐标不在{r.label}范围内，也没有{r.label}的区县名称"
    else:
        why = f"它们既没有坐标，也没有{r.label}的区县名称（数据中没有经纬度和“所属区”，或其值不属于本区域）"
    return (f"所选 {total:,} 件工单无法落到{r.label}的地图上：{why}，因此不显示空白地图。"
            "如数据来自某个城市，请在映射文件中对应其“所属区”或经纬度列，或用 "
            "`python manage.py region install 区域包 --db 数据库路径` 选择它所在城市的区域包；"
            "没有地理信息的匿名数据（如“A市”）可用区域包 `none`。")


def counts(con, f: Filters) -> tuple[int, int]:
    """(matching tickets, of which located)."""
    w = f.where(prefix="k")
    sql = f"SELECT count(*), count(*) FILTER (WHERE {LOCATED_SQL}) FROM tickets WHERE {w.sql}"
    n, located = con.execute(sql, w.params).fetchone()
    return int(n), int(located)


POINT_COLUMNS = tuple(c for c in TICKET_COLUMNS if c != "content")


def points(con, f: Filters, limit: int) -> pd.DataFrame:
    """The latest `limit` located tickets matching the filters, personal data masked.

    No ticket text: the map's tooltips do not show it (clicks open the tickets with their texts), and
    masking up to 5,000 texts cost more CPU than the query.
    """
    w = f.where(prefix="q")
    cols = ", ".join(POINT_COLUMNS)
    sql = f"""
        SELECT {cols}, complainant_name FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL}
        ORDER BY received_at DESC, ticket_id
        LIMIT $lim
    """
    df = con.execute(sql, {**w.params, "lim": int(limit)}).df()
    return privacy.mask_frame(df).drop(columns=["complainant_name"])


def grid_counts(con, f: Filters, grid: Grid) -> pd.DataFrame:
    """Located tickets counted per grid cell: gi, gj, lon, lat (cell centre), n, first, last."""
    w = f.where(prefix="q")
    sql = f"""
        SELECT {SQL_GI} AS gi, {SQL_GJ} AS gj, count(*) AS n,
               min(received_at) AS first, max(received_at) AS last
        FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL}
        GROUP BY ALL
        ORDER BY n DESC, gi, gj
    """
    df = con.execute(sql, {**w.params, **grid.sql_params()}).df()
    lon, lat = grid.centre(df["gi"].to_numpy(), df["gj"].to_numpy())
    df.insert(2, "lon", lon)
    df.insert(3, "lat", lat)
    return df


def cell_census(con, f: Filters, sizes=MAP_CELL_SIZES_M) -> tuple[int, dict[int, int]]:
    """(located tickets, {cell size: occupied cells}) in one scan: a GROUP BY at the finest size, then
    the coarser sizes from its cells. `sizes` must double from one to the next."""
    sizes = tuple(int(m) for m in sizes)
    if any(b != 2 * a for a, b in itertools.pairwise(sizes)):
        raise ValueError("cell sizes must double from one to the next")
    w = f.where(prefix="q")
    grid = Grid(sizes[0])
    # a cell id as one exact BIGINT: rows and columns < 10^6 for cells >= 10 m
    parts = ", ".join(f"count(DISTINCT (gi >> {k}) * 1000000 + (gj >> {k}))" for k in range(len(sizes)))
    sql = f"""
        WITH c AS (SELECT {SQL_GI} AS gi, {SQL_GJ} AS gj, count(*) AS n
                   FROM tickets WHERE {w.sql} AND {LOCATED_SQL} GROUP BY ALL)
        SELECT coalesce(sum(n), 0), {parts} FROM c
    """
    row = con.execute(sql, {**w.params, **grid.sql_params()}).fetchone()
    return int(row[0]), {m: int(n) for m, n in zip(sizes, row[1:], strict=True)}


def choose_grid(con, f: Filters, limit: int, sizes=MAP_CELL_SIZES_M) -> Grid:
    """The smallest cell size from `sizes` whose occupied cells number at most `limit` (one SQL pass)."""
    _, n_cells = cell_census(con, f, sizes)
    return _pick(n_cells, limit)


def _pick(n_cells: dict[int, int], limit: int) -> Grid:
    for m, n in n_cells.items():
        if n <= limit:
            return Grid(m)
    return Grid(max(n_cells))


def point_layer(con, f: Filters, limit: int | None = None, *, force_grid: Grid | None = None) -> PointLayer:
    """Points when at most `limit` are located, otherwise grid cells; with a note on what was done.

    Two scans of the tickets at most: the cell census (located count and cells per size), then the
    points or the cells of the chosen size. The total comes from the daily summary when it can.
    """
    limit = max_features() if limit is None else int(limit)
    total, _ = quick_counts(con, f)
    located, n_cells = cell_census(con, f)
    notes: list[str] = []
    if total > located:
        notes.append(f"{total - located:,} 件工单无坐标（或坐标不在{regions.active().label}的区县范围内），未上图")
    if located == 0:
        return PointLayer("empty", pd.DataFrame(), total, located, None, limit,
                          ["所选条件下没有带坐标的工单", *notes])
    if force_grid is None and located <= limit:
        df = points(con, f, limit)
        return PointLayer("points", df, total, located, None, limit,
                          [f"显示全部 {located:,} 个点位", *notes])
    grid = force_grid or _pick(n_cells, limit)
    cells = grid_counts(con, f, grid)
    if len(cells) > limit:  # even the largest cells are too many: keep the busiest
        notes.insert(0, f"网格数超过上限，仅显示工单最多的 {limit:,} 个格子")
        cells = cells.head(limit)
    if force_grid is None:
        notes.insert(0, f"点位 {located:,} 个，超过上限 {limit:,}，已按 {grid.label()} 网格聚合为 "
                        f"{len(cells):,} 个格子显示")
    else:
        notes.insert(0, f"{located:,} 个点位按 {grid.label()} 网格聚合为 {len(cells):,} 个格子")
    return PointLayer("grid", cells, total, located, grid, limit, notes)


# ---------------------------------------------------------------- months
def monthly_counts(con, f: Filters) -> pd.DataFrame:
    """Tickets per month for the selection: month (first day), n, n_located."""
    table = summary_table(f)
    if table is not None:
        w = f.daily_where(prefix="m")
        sql = f"""SELECT date_trunc('month', day)::DATE AS month, sum(n)::BIGINT AS n,
                         sum(n_located)::BIGINT AS n_located
                  FROM {table} WHERE {w.sql} GROUP BY 1 ORDER BY 1"""
    else:
        w = f.where(prefix="m")
        sql = f"""SELECT date_trunc('month', received_at)::DATE AS month, count(*) AS n,
                         count(*) FILTER (WHERE {LOCATED_SQL}) AS n_located
                  FROM tickets WHERE {w.sql} GROUP BY 1 ORDER BY 1"""
    return con.execute(sql, w.params).df()


def month_filters(f: Filters, month: date) -> Filters:
    """The filters narrowed to one calendar month (clipped to the selected dates)."""
    start = month.replace(day=1)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if f.date_from and f.date_from > start:
        start = f.date_from
    if f.date_to and f.date_to < end:
        end = f.date_to
    return f.replace(date_from=start, date_to=end)


def last_months(f: Filters, n: int = 12) -> Filters:
    """The filters over the `n` calendar months ending with the month of `f.date_to` (unchanged without an end)."""
    if f.date_to is None:
        return f
    y, m = f.date_to.year, f.date_to.month - (n - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return f.replace(date_from=date(y, m, 1))


# ---------------------------------------------------------------- drill-down
def street_at(lon: float, lat: float) -> dict | None:
    """District and street containing a WGS84 point (street None in a pack without streets), or None outside
    the active region."""
    r = boundaries.assign_points([lon], [lat]).iloc[0]
    if r["district"] is None:
        return None
    return {"district": r["district"], "street": r["street"], "street_code": r["street_code"]}


# The columns of a list of tickets under the map, in this order (those a frame has).
SHOWN_TICKET_COLUMNS = ("ticket_id", "received_at", "district", "street", "address", "topic", "category_l3",
                        "content", "status", "closed_at", "distance_m")


def ticket_table(df: pd.DataFrame) -> pd.DataFrame:
    """Tickets from `tickets_near` / `tickets_in_cell` / `tickets_by_ids` as shown under the map: the columns of
    SHOWN_TICKET_COLUMNS, with Chinese headers."""
    cols = [c for c in SHOWN_TICKET_COLUMNS if c in df.columns]
    return theme.labelled(df[cols], theme.FROM_CLICK)


def count_at(areas: pd.DataFrame, where: dict, level: str) -> int:
    """Tickets of the clicked area in `area_values`: the district's total, or the street's (level "street")."""
    rows = areas["district"] == where["district"]
    if level == "street":
        rows &= areas["street"] == where["street"]
    return int(areas.loc[rows, "n"].sum())


def tickets_near(con, f: Filters, lon: float, lat: float, radius_m: float = 150.0, limit: int = 200) -> pd.DataFrame:
    """Matching tickets within `radius_m` of a point, nearest first, masked; adds distance_m."""
    w = f.where(prefix="q")
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.2, np.cos(np.radians(lat))))
    cols = ", ".join(TICKET_COLUMNS)
    sql = f"""
        WITH near AS (
            SELECT {cols}, complainant_name,
                   2 * 6371008.8 * asin(sqrt(
                       pow(sin(radians(lat - $plat) / 2), 2)
                       + cos(radians($plat)) * cos(radians(lat)) * pow(sin(radians(lon - $plon) / 2), 2)
                   )) AS distance_m
            FROM tickets
            WHERE {w.sql} AND {LOCATED_SQL} AND lat BETWEEN $plat - $dlat AND $plat + $dlat
              AND lon BETWEEN $plon - $dlon AND $plon + $dlon
        )
        SELECT * FROM near WHERE distance_m <= $r ORDER BY distance_m, received_at DESC LIMIT $lim
    """
    params = {**w.params, "plat": float(lat), "plon": float(lon), "dlat": dlat, "dlon": dlon,
              "r": float(radius_m), "lim": int(limit)}
    df = con.execute(sql, params).df()
    df["distance_m"] = df["distance_m"].round(0)
    return privacy.mask_frame(df).drop(columns=["complainant_name"])


def tickets_in_cell(con, f: Filters, grid: Grid, gi: int, gj: int, limit: int = 500) -> pd.DataFrame:
    """Matching tickets inside one grid cell, latest first, masked."""
    w = f.where(prefix="q")
    cols = ", ".join(TICKET_COLUMNS)
    sql = f"""
        SELECT {cols}, complainant_name FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL} AND {SQL_GI} = $gi AND {SQL_GJ} = $gj
        ORDER BY received_at DESC LIMIT $lim
    """
    params = {**w.params, **grid.sql_params(), "gi": int(gi), "gj": int(gj), "lim": int(limit)}
    return privacy.mask_frame(con.execute(sql, params).df()).drop(columns=["complainant_name"])


def tickets_by_ids(con, ids, limit: int = 1000, f: Filters | None = None) -> pd.DataFrame:
    """The tickets with these ids, latest first, masked (drill-down from hotspots).

    `f` (the filters the ids came from) lets DuckDB skip row groups outside the dates.
    """
    ids = [str(i) for i in ids][:limit]
    if not ids:
        return pd.DataFrame(columns=list(TICKET_COLUMNS))
    w = (f or Filters()).where(prefix="x")
    cols = ", ".join(TICKET_COLUMNS)
    sql = f"""
        SELECT {cols}, complainant_name FROM tickets
        WHERE {w.sql} AND ticket_id IN (SELECT unnest($ids::VARCHAR[]))
        ORDER BY received_at DESC
    """
    df = con.execute(sql, {**w.params, "ids": ids}).df()
    return privacy.mask_frame(df).drop(columns=["complainant_name"])
