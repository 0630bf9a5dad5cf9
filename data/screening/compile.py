"""A screening rule compiled to one SQL query over the ticket store: the one place rules become SQL.

Values are always bound parameters (`$r…`); identifiers come from this module's constants only. The SQL keeps
to forms that sqlglot transpiles to other engines (strpos, CASE, floor, sin/cos/asin, integer × INTERVAL 1 DAY);
the only DuckDB-specific piece is the ASOF join of "back after a close" (data/after_close.py).

The query reads what the rule needs and nothing else:
- `base`: the tickets that meet the rule's plain conditions (categories, keywords, places, channel, type,
  status, satisfaction, time window), over the screened period plus the look-back the repeat and after-close
  conditions need; `analytics.filters.Filters.where()` writes the category/district/street/channel/type/topic
  part, this module the rest;
- `target`: the tickets being screened (a period, or the tickets of some imports: new and changed tickets);
- optional layers: `repeat` (≥ N located tickets of `base` within R m of a target ticket in the D days up to
  it: the target ticket and those tickets are hits), `after_close` (a target ticket received again after a
  ticket of `base` about the same problem near it was closed), `layer_of` (only the hits of another rule).

A rule with a place condition (repeat or after-close) hits located tickets only, so it reads them from
`screening_tickets` (data/screen_tickets.py: the located tickets with their text, sorted by problem) when the
caller says that copy is current (`located_copy`): its project's rows are a few row groups there, against a
little of every row group of `tickets`. Same rows and columns, so the same hits.

The result has one row per hit: ticket_id, received_at, district, street, address, lon, lat, trigger (true
for a ticket that meets every condition itself, false for a repeat-window member that makes the count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from analytics.filters import Filters
from data import after_close
from data.screening.rule import Rule

EARTH_RADIUS_M = 6371008.8     # as geo/crs.haversine_m
M_PER_DEG_LAT = 111_320.0
PROBLEM_SQL = "coalesce(topic, category_l3, category_l2, category_l1, '未分类')"   # as data/positions.py
LOCATED_SQL = "lon IS NOT NULL AND lat IS NOT NULL"
COLUMNS = "ticket_id, received_at, closed_at, district, street, address, lon, lat"
SOURCES = ("tickets", "screening_tickets")   # where `pre` reads: the store, or its located copy
SHIFTS = after_close.SHIFTS   # the four half-shifted grids of "the same place" (data/after_close.py)
REF_LAT = after_close.REF_LAT


@dataclass(frozen=True)
class Target:
    """What is screened: tickets received in [date_from, date_to] and/or loaded by the given imports."""

    date_from: date | None = None
    date_to: date | None = None
    import_ids: tuple[int, ...] = ()

    def describe(self) -> str:
        bits = []
        if self.date_from or self.date_to:
            bits.append(f"{self.date_from or '…'} 至 {self.date_to or '…'}")
        if self.import_ids:
            bits.append(f"导入批次 {', '.join(map(str, self.import_ids))} 的新增和变更工单")
        return "；".join(bits) or "全部工单"


@dataclass
class Compiled:
    sql: str
    params: dict = field(default_factory=dict)


EVERYTHING = Target()


def haversine_sql(lon1: str, lat1: str, lon2: str, lat2: str) -> str:
    """Great-circle distance in metres between two points given as SQL expressions (fixed names only)."""
    return (f"(2 * {EARTH_RADIUS_M} * asin(sqrt(power(sin(radians({lat2} - {lat1}) / 2), 2) + "
            f"cos(radians({lat1})) * cos(radians({lat2})) * power(sin(radians({lon2} - {lon1}) / 2), 2))))")


def degrees(radius_m: float, lat: float = 40.0) -> tuple[float, float]:
    """(dlat, dlon) of `radius_m` at latitude `lat` (a bounding box that contains the disc)."""
    import math

    dlat = radius_m / M_PER_DEG_LAT
    return dlat, radius_m / (M_PER_DEG_LAT * math.cos(math.radians(min(abs(lat) + dlat, 80.0))))


def period(rule: Rule, target: Target, span: tuple[date, date] | None) -> tuple[date | None, date | None]:
    """The days the rule screens: the target's period (or the target tickets' span) within the rule's window."""
    c = rule.conditions
    lo = target.date_from or (span[0] if span else None)
    hi = target.date_to or (span[1] if span else None)
    if c.last_days and hi:
        lo = max(lo or date.min, hi - timedelta(days=c.last_days - 1))
    if c.date_from:
        lo = max(lo or date.min, c.date_from)
    if c.date_to:
        hi = min(hi or date.max, c.date_to)
    return lo, hi


def compile_rule(rule: Rule, target: Target, *, span: tuple[date, date] | None = None,
                 layer: Compiled | None = None, prefix: str = "r", located_copy: bool = False) -> Compiled:
    """The SQL (and parameters) of the hits of `rule` among the `target` tickets.

    `span` is the first and last day of the target tickets when the target is a set of imports (the caller
    asks the store: `target_span`). `layer` is the compiled rule named by `rule.layer_of` (its hits limit
    this rule's). Identifiers in the SQL are fixed; every value is a parameter named `prefix…`.
    `located_copy`: `screening_tickets` is current (data/screen_tickets.ready), so a rule with a place
    condition may read it instead of `tickets`.
    """
    c = rule.conditions
    params: dict = {}

    def p(value) -> str:
        key = f"{prefix}{len(params)}"
        params[key] = value
        return f"${key}"

    lo, hi = period(rule, target, span)
    plain: list[str] = []
    f = Filters(districts=c.districts, streets=c.streets, categories=c.categories, topics=c.topics,
                channels=c.channels, appeal_types=c.appeal_types)
    w = f.where(prefix=f"{prefix}f")
    if w.sql != "TRUE":
        plain.append(w.sql)
        params.update(w.params)
    for col, values in (("status", c.statuses), ("satisfaction", c.satisfaction)):
        if values:
            plain.append(f"{col} IN ({', '.join(p(v) for v in values)})")
    if c.resolved is not None:
        plain.append(f"resolved = {p(c.resolved)}")
    kw = c.keywords

    def has(word: str) -> str:
        return "(" + " OR ".join(f"strpos(content, {p(v)}) > 0" for v in kw.variants(word)) + ")"

    words = [has(word) for word in kw.all]
    if kw.any:
        words.append("(" + " OR ".join(has(word) for word in kw.any) + ")")
    words += [f"NOT coalesce({has(word)}, FALSE)" for word in kw.none]
    if c.near:
        dlat, dlon = degrees(c.near.radius_m, c.near.lat)
        plain.append(f"lat BETWEEN {p(c.near.lat - dlat)} AND {p(c.near.lat + dlat)} "
                     f"AND lon BETWEEN {p(c.near.lon - dlon)} AND {p(c.near.lon + dlon)}")
        plain.append(f"{haversine_sql(p(c.near.lon), p(c.near.lat), 'lon', 'lat')} <= {p(c.near.radius_m)}")

    look = c.lookback_days()
    base_where = list(plain)
    if lo:
        base_where.append(f"received_at >= {p(lo - timedelta(days=look))}::TIMESTAMP")
    if hi:
        base_where.append(f"received_at < ({p(hi)}::DATE + INTERVAL 1 DAY)")
    target_where = []
    if lo:
        target_where.append(f"received_at >= {p(lo)}::TIMESTAMP")
    if target.import_ids:
        target_where.append(f"import_id IN ({', '.join(p(int(i)) for i in target.import_ids)})")
    if lo and hi and lo > hi:
        target_where.append("FALSE")   # the rule's window and the period do not meet
    if layer is not None:
        params.update(layer.params)
        target_where.append(f"ticket_id IN (SELECT ticket_id FROM ({layer.sql}) layer_hits)")

    # The keywords are tested on the tickets that meet the cheap conditions only: read first (MATERIALIZED), so
    # the ticket texts of other tickets are never decompressed (a year of Beijing is 25 M texts).
    source = SOURCES[1] if located_copy and (c.repeat is not None or c.after_close) else SOURCES[0]
    if source != SOURCES[0]:
        base_where.append(LOCATED_SQL)   # what the copy holds (a place condition reads located tickets only)
    ctes = [f"pre AS MATERIALIZED (SELECT {COLUMNS}, import_id, content, {PROBLEM_SQL} AS problem FROM {source} "
            f"WHERE {_and(base_where)})",
            f"base AS MATERIALIZED (SELECT {COLUMNS}, import_id, problem FROM pre WHERE {_and(words)})",
            f"target AS (SELECT * FROM base WHERE {_and(target_where)})"]
    trigger_from = "target"
    if c.after_close:
        ctes.append(_after_close_cte(c.after_close, params, prefix))
        trigger_from = "(SELECT * FROM target WHERE ticket_id IN (SELECT ticket_id FROM back_ids)) t"
    if c.repeat is None:
        ctes.append(f"hits AS (SELECT {COLUMNS}, TRUE AS trigger FROM {trigger_from})")
    else:
        ctes += _repeat_ctes(c.repeat, trigger_from, p)
    sql = "WITH " + ",\n".join(ctes) + "\nSELECT ticket_id, received_at, district, street, address, lon, lat, trigger FROM hits"
    return Compiled(sql, params)


def _repeat_ctes(r, trigger_from: str, p) -> list[str]:
    """≥ N located tickets of `base` at the same place as a trigger ticket in the D days up to it (itself
    included). "The same place" is a square cell of side 2R in one of four grids shifted by half a cell (the
    construction of data/after_close.py): tickets less than R apart east-west and north-south always share a
    cell of one grid, tickets 2R or more apart never do. No pairs of tickets are formed (a busy crossing has
    10^5 pairs a month): each cell's tickets are put in time order once, and

    - a ticket has N in its D days when the ticket N - 1 places before it came at most D days earlier (`lag`:
      a count over a time frame costs three times as much at 25 M); tickets received at the same second in one
      cell (`tied`) all take the answer of the last of them, as a count over their time frame would;
    - the tickets that make a trigger's count are those with a trigger at most D days later (the next one in
      the cell's order, `first_value … IGNORE NULLS`), or a trigger received at the same second.

    Only cells that can hold a trigger (at least N tickets, one of them screened) are put in order: a day's
    run leaves out nearly every cell of its look-back. Rows carry a number (`rid`, the ticket's place in time
    and id order) instead of the ticket id."""
    side = 2.0 * float(r.radius_m)
    dlat, dlon = side / M_PER_DEG_LAT, side / (M_PER_DEG_LAT * math.cos(math.radians(REF_LAT)))
    pl, po = p(dlat), p(dlon)
    n = p(int(r.min_tickets))
    grids = "\n    UNION ALL\n    ".join(
        f"SELECT {g} AS grid, CAST(floor(lat / {pl} + {a}) AS BIGINT) AS ci, CAST(floor(lon / {po} + {b}) AS BIGINT) AS cj, "
        f"rid, received_at, screened FROM cells"
        for g, (a, b) in enumerate(SHIFTS))
    # The window's length and the lag's offset are the rule's checked integers (1-730 days, 2-10,000 tickets:
    # rule.py): window arguments must be constants.
    span = f"INTERVAL '{int(r.days)} days'"
    back = int(r.min_tickets) - 1
    cols = ", ".join("c." + x.strip() for x in COLUMNS.split(","))
    same = "t.grid = o.grid AND t.ci = o.ci AND t.cj = o.cj AND t.received_at = o.received_at"
    return [
        f"trig AS (SELECT ticket_id FROM {trigger_from} WHERE {LOCATED_SQL})",
        f"""cells AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY received_at, ticket_id) AS rid, {COLUMNS},
           ticket_id IN (SELECT ticket_id FROM trig) AS screened
    FROM base WHERE {LOCATED_SQL})""",
        f"""placed AS MATERIALIZED (
    {grids})""",
        f"""live AS (SELECT grid, ci, cj FROM placed GROUP BY grid, ci, cj
    HAVING count(*) >= {n} AND bool_or(screened))""",
        f"""ordered AS MATERIALIZED (
    SELECT grid, ci, cj, rid, received_at, screened,
           coalesce(lag(received_at, {back}) OVER w >= received_at - {span}, FALSE) AS enough,
           coalesce(lead(received_at) OVER w = received_at, FALSE)
               OR coalesce(lag(received_at) OVER w = received_at, FALSE) AS tied
    FROM placed SEMI JOIN live USING (grid, ci, cj)
    WINDOW w AS (PARTITION BY grid, ci, cj ORDER BY rid))""",
        # tickets of one second: the last of them counts them all (`enough` only grows along the second's tickets)
        "tied_enough AS (SELECT DISTINCT grid, ci, cj, received_at FROM ordered WHERE tied AND enough)",
        f"""counted AS MATERIALIZED (
    SELECT o.grid, o.ci, o.cj, o.rid, o.received_at, o.tied,
           o.screened AND (o.enough OR (o.tied AND EXISTS (SELECT 1 FROM tied_enough t WHERE {same}))) AS is_trigger
    FROM ordered o)""",
        """windowed AS (
    SELECT grid, ci, cj, rid, received_at, tied, is_trigger,
           first_value(CASE WHEN is_trigger THEN received_at END IGNORE NULLS) OVER (
               PARTITION BY grid, ci, cj ORDER BY rid
               ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_trigger
    FROM counted)""",
        "tied_triggers AS (SELECT DISTINCT grid, ci, cj, received_at FROM counted WHERE tied AND is_trigger)",
        # a member in any grid is a hit; a trigger (in any grid) is a member of its own count
        f"""members AS (SELECT rid, bool_or(is_trigger) AS trigger FROM windowed o
    WHERE (next_trigger IS NOT NULL AND next_trigger < received_at + {span})
       OR (tied AND EXISTS (SELECT 1 FROM tied_triggers t WHERE {same}))
    GROUP BY rid)""",
        f"""hits AS (
    SELECT {cols}, m.trigger
    FROM cells c JOIN members m ON m.rid = c.rid)""",
    ]


def _after_close_cte(a, params: dict, prefix: str) -> str:
    """`back_ids`: target tickets received again after a close of a `base` ticket about the same problem near
    them (data/after_close.py, the hotspot tables' own rule, with this rule's window and radius)."""
    rule = after_close.Rule(a.min_days, a.max_days, a.radius_m)
    ac = f"{prefix}ac"
    params.update(rule.params(ac))
    rows = f"(SELECT * FROM target WHERE {LOCATED_SQL})"
    closes = f"(SELECT * FROM base WHERE {LOCATED_SQL})"
    return f"back_ids AS ({after_close.ids_sql(rows, closes, prefix=ac)})"


def _and(parts: list[str]) -> str:
    return " AND ".join(f"({x})" for x in parts) if parts else "TRUE"


def target_span(con, target: Target) -> tuple[date, date] | None:
    """First and last day of the tickets of `target`'s imports (None: no such tickets)."""
    if not target.import_ids:
        return None
    ph = ", ".join(f"$i{k}" for k in range(len(target.import_ids)))
    row = con.execute(f"SELECT min(received_at)::DATE, max(received_at)::DATE FROM tickets WHERE import_id IN ({ph})",
                      {f"i{k}": int(v) for k, v in enumerate(target.import_ids)}).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])
