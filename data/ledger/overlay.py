"""One ledger for both sources: the app's clues laid over the imported ones on a cursor of the ticket store.

The funnel, the overview's KPIs, the ticket list's funnel stages, the ticket detail's path, the visit list
and the briefing all read the case system's tables of the ticket store (`clues`, `clue_tickets`, `cases`,
`rectifications`) and their derived per-clue tables (`funnel_clues`, `funnel_tickets`, data/links.py). The
ledger is in the records store. So a cursor that should see the whole ledger gets, for each of those six
tables, a temporary view of the same name (like the district views of data/scope.py, which it composes with):

    the store's rows, less those of the imported clues the app acted on (`ledger_ov_replaced`)
    UNION ALL the overlay rows: every clue of the app's ledger in the store's own shape

The overlay rows are small (one row per app clue and case, one per link) and are built once per change of
the ledger (its change counter, data/ledger/read.version) and generation of the store, then copied into
temporary tables of each cursor that needs them (`sync`). Every query above keeps its SQL and its speed:
the union adds a few thousand rows to tables of hundreds of thousands, and the anti-join of the replaced
clues is a hash join on a handful of ids.

An imported clue the app acted on is reproduced from its imported rows with the app's stages laid over them
(data/ledger/state.py): what the app did not change stays as imported, field for field. An app clue becomes
a clue row (status from its decision), a case when it was filed (case id `<clue number>-A`, or the number
given at filing), its suggestion as the case's measure, its reply, and one rectification row per counted
result. `ledger_ov_extra` carries what the store's tables have no column for (assessment, notice,
closing, handler, subject, place), for the ledger's own lists and reports.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, time

import duckdb
import pandas as pd

from data import links as store_links
from data import records
from data.ledger import deadlines, read
from data.ledger import imported as imp
from data.ledger.model import SOURCES, STATUS_OF_OUTCOME, SUGGESTION_KINDS, Clue
from data.ledger.overlay_sql import (
    EXTRA,
    EXTRA_COLUMNS,
    LOADED,
    PREFIX,
    REPLACED,
    REPLACED_CASES,
    TABLES,
    install,
    table,
    union_sql,
)
from data.ledger.state import Imported, derive

__all__ = ["EXTRA", "EXTRA_COLUMNS", "PREFIX", "REPLACED", "REPLACED_CASES", "TABLES", "Frames", "build", "frames",
           "install", "ledger_cursor", "loaded_version", "sync", "table", "union_sql"]


# ------------------------------------------------------------------------------------------- the rows
@dataclass(frozen=True)
class Frames:
    """The overlay rows of one ledger version over one generation of the store."""

    version: int
    frames: dict[str, pd.DataFrame]

    def rows(self, name: str) -> int:
        return len(self.frames.get(name, ()))


_lock = threading.Lock()
_CACHE: dict[tuple, Frames] = {}
_TICKETS: dict[str, dict[str, tuple]] = {}   # generation -> ticket id -> ticket columns (or None: not in store)


def frames(store, rc, generation: str | None = None) -> Frames:
    """The overlay rows for the ledger as it is now (records connection `rc`) over the store behind `store`
    (a cursor reading whole tables). Cached per (generation, ledger version) when `generation` is given."""
    v = read.version(rc)
    key = (generation, str(records.path_for()) if generation else None)
    if generation is not None:
        with _lock:
            hit = _CACHE.get(key)
            if hit is not None and hit.version == v:
                return hit
    built = build(store, rc, version=v, generation=generation)
    if generation is not None:
        with _lock:
            _CACHE[key] = built
            for k in [k for k in _CACHE if k[0] != generation]:
                del _CACHE[k]            # older generations: their readers have moved on
    return built


def build(store, rc, *, version: int | None = None, generation: str | None = None) -> Frames:
    v = read.version(rc) if version is None else version
    rows, events, added = read.load_rows(rc)
    base = imp.load(store, [n for n, r in rows.items() if r["origin"] == "import"])
    today = records.now().date()
    numbers = _clue_numbers(store, list(base))
    out: dict[str, list[dict]] = {n: [] for n in (*TABLES, "replaced", "replaced_cases", "extra")}
    tickets_wanted: list[tuple[str, str]] = []
    nos: dict[str, int] = {}      # clue id -> its number in funnel_clues / funnel_tickets
    for no in sorted(rows, key=lambda n: rows[n]["serial"]):
        row = rows[no]
        b = base.get(no)
        if row["origin"] == "import" and b is None:
            continue     # an imported clue no longer in the store (a store rebuilt without it): nothing to lay over
        clue = derive(row, events.get(no, []), added, b, today)
        evs = events.get(no, [])
        updated = max((e.recorded_at for e in evs), default=None)
        clue_no = numbers.get(no, -int(row["serial"]))
        _clue_rows(out, clue, b, updated)
        if b is not None:
            out["replaced"].append({"clue_id": no})
            out["replaced_cases"] += [{"case_id": c["case_id"]} for c in b.cases]
        out["extra"].append(_extra(clue, row, updated))
        for t in clue.ticket_ids:
            out["clue_tickets"].append({"clue_id": no, "ticket_id": t, "import_id": None})
            tickets_wanted.append((no, t))
        nos[no] = clue_no
    ticket_rows = _ticket_rows(store, sorted({t for _c, t in tickets_wanted}), generation)
    first: dict[str, datetime] = {}
    for c, t in tickets_wanted:
        tr = ticket_rows.get(t)
        if tr is not None and (c not in first or tr["received_at"] < first[c]):
            first[c] = tr["received_at"]
    for c, t in dict.fromkeys(tickets_wanted):
        tr = ticket_rows.get(t)
        if tr is None:
            continue
        out["funnel_tickets"].append({"clue_id": c, **tr, "day": tr["received_at"].date(), "first_at": first[c],
                                      "clue_no": nos[c]})
    _funnel_clues(out, nos, first)
    return Frames(v, {k: pd.DataFrame(r) for k, r in out.items()})


def _clue_numbers(store, clue_ids: list[str]) -> dict[str, int]:
    """The store's funnel numbers of imported clues (so their links keep joining), where it has them."""
    if not clue_ids:
        return {}
    sql = (f"SELECT DISTINCT clue_id, clue_no FROM {imp.base_table(store, 'funnel_clues')} "
           "WHERE clue_id IN (SELECT unnest($ids::VARCHAR[])) AND clue_no IS NOT NULL")
    try:
        return {c: int(n) for c, n in store.execute(sql, {"ids": clue_ids}).fetchall()}
    except duckdb.CatalogException:   # a store without the per-clue table: readers join by clue id
        return {}


def _ticket_rows(store, ids: list[str], generation: str | None) -> dict[str, dict]:
    """The linked tickets' columns (funnel_tickets' ticket part), by id; unknown ids are left out. Cached per
    generation, so a new link costs a look-up of its own ticket only."""
    cols = store_links.TICKET_COLUMNS
    known = _TICKETS.setdefault(generation, {}) if generation is not None else {}
    if generation is not None:
        for g in [g for g in _TICKETS if g != generation]:
            del _TICKETS[g]
    missing = [t for t in ids if t not in known]
    if missing:
        sql = (f"SELECT ticket_id, {', '.join(cols)} FROM {imp.base_table(store, 'tickets')} "
               "WHERE ticket_id IN (SELECT unnest($ids::VARCHAR[]))")
        got = {r[0]: r[1:] for r in store.execute(sql, {"ids": missing}).fetchall()}
        for t in missing:
            known[t] = got.get(t)
    return {t: {"ticket_id": t, **dict(zip(cols, known[t], strict=True))} for t in ids if known.get(t) is not None}


def _end_of(day) -> datetime:
    return datetime.combine(day, time(23, 59, 59))


def _app_sourced(clue: Clue, key: str) -> bool:
    s = clue.stages.get(key)
    return s is not None and s.event_id is not None


def _clue_rows(out: dict, clue: Clue, b: Imported | None, updated: datetime | None) -> None:
    st = clue.stages
    dec = st.get("decide")
    outcome = dec.details.get("outcome") if dec else None
    if b is not None:
        row = {k: v for k, v in b.clue_row.items()}
        if _app_sourced(clue, "register"):
            row["created_at"] = st["register"].at
        if _app_sourced(clue, "decide") or ("decide" in b.stages and dec is None):
            row["status"] = STATUS_OF_OUTCOME[outcome]
            row["reviewed_at"] = dec.at if dec else None
        for k in ("function", "department", "topic", "summary"):
            row[k] = getattr(clue, k)
        row["updated_at"] = updated or row.get("updated_at")
    else:
        row = {"clue_id": clue.clue_no, "created_at": st["register"].at if "register" in st else clue.created_at,
               "district": clue.district, "function": clue.function, "department": clue.department,
               "topic": clue.topic, "source": SOURCES.get(clue.source or "", clue.source),
               "status": STATUS_OF_OUTCOME[outcome], "reviewed_at": dec.at if dec else None,
               "summary": clue.summary, "row_hash": None, "import_id": None, "updated_at": updated}
    out["clues"].append(row)
    cases = _cases(clue, b, outcome)
    out["cases"] += cases
    out["rectifications"] += _rectifications(clue, b, cases)


def _cases(clue: Clue, b: Imported | None, outcome: str | None) -> list[dict]:
    st = clue.stages
    dec = st.get("decide")
    if outcome != "file":
        # Decided against filing in the app: no case (the app's decision stands over the imported one).
        return [] if (b is None or _app_sourced(clue, "decide")) else [dict(c) for c in b.cases]
    cases = [dict(c) for c in b.cases] if b is not None else []
    if cases:
        case = cases[0]
    else:
        case = {"case_id": (dec.details.get("case_no") or f"{clue.clue_no}-A"), "clue_id": clue.clue_no,
                "filed_at": dec.at, "case_type": clue.function, "measure": None, "measure_at": None,
                "reply_due_at": None, "replied_at": None, "urgent": None, "row_hash": None, "import_id": None,
                "updated_at": None}
        cases = [case]
    if _app_sourced(clue, "decide"):
        case["filed_at"] = dec.at
    had = b.stages if b is not None else {}
    sug = st.get("suggest")
    if _app_sourced(clue, "suggest"):
        case["measure"] = SUGGESTION_KINDS[sug.details["kind"]]
        case["measure_at"] = sug.at
        case["urgent"] = bool(sug.details.get("urgent"))
        rule = "urgent_reply" if case["urgent"] else "suggestion_reply"
        case["reply_due_at"] = _end_of(deadlines.due_date(sug.at, deadlines.days_of(rule)))
    elif sug is None and "suggest" in had:
        case["measure"] = case["measure_at"] = case["reply_due_at"] = None
    if _app_sourced(clue, "reply"):
        case["replied_at"] = st["reply"].at
    elif "reply" not in st and "reply" in had:
        case["replied_at"] = None
    return cases


def _rectifications(clue: Clue, b: Imported | None, cases: list[dict]) -> list[dict]:
    if not cases:
        return []
    primary = cases[0]["case_id"]
    st = clue.stages
    had = b.stages if b is not None else {}
    passthrough = [dict(r) for r in (b.rectifications if b is not None else ())
                   if r["case_id"] in {c["case_id"] for c in cases}]
    changed = any(_app_sourced(clue, k) for k in ("rectify", "follow_up")) or any(
        k in had and k not in st for k in ("rectify", "follow_up"))
    if not changed:
        return passthrough
    others = [r for r in passthrough if r["case_id"] != primary]
    rect = st.get("rectify")
    if rect is None:
        return others
    follow = st.get("follow_up")
    figures = rect.outcomes or ((None, None, None),)
    rows = [{"case_id": primary, "rectified_at": rect.at, "result": rect.details.get("result"),
             "followed_up_at": follow.at if follow else None, "outcome": item,
             "outcome_value": value, "outcome_unit": unit or None, "row_hash": None, "import_id": None,
             "updated_at": None} for item, value, unit in figures]
    return others + rows


def _extra(clue: Clue, row: dict, updated: datetime | None) -> dict:
    st = clue.stages
    dec, sug = st.get("decide"), st.get("suggest")
    return {"clue_id": clue.clue_no, "origin": clue.origin, "serial": int(row["serial"]),
            "source_key": clue.source if clue.source in SOURCES else None,
            "handler": clue.handler, "subject": clue.subject, "place": clue.place, "lon": clue.lon, "lat": clue.lat,
            "assessed_at": st["assess"].at if "assess" in st else None,
            "notified_at": st["notify"].at if "notify" in st else None,
            "closed_at": st["close"].at if "close" in st else None,
            "transfer_to": dec.details.get("transfer_to") if dec else None,
            "addressee": sug.details.get("addressee") if sug else None,
            "registered_by": clue.created_by, "conflict": clue.conflict, "updated_at": updated,
            "source_ref": json.dumps(clue.source_ref, ensure_ascii=False, sort_keys=True) if clue.source_ref else None}


def _funnel_clues(out: dict, nos: dict[str, int], first: dict[str, datetime]) -> None:
    """funnel_clues rows (data/links.py CLUES_REFRESH_SQL) of the overlay's clues, cases and rectifications."""
    by_case: dict[str, datetime] = {}
    for r in out["rectifications"]:
        if r.get("rectified_at") is not None and (r.get("result") or "") != "未整改":
            by_case[r["case_id"]] = min(by_case.get(r["case_id"], r["rectified_at"]), r["rectified_at"])
    for c in out["clues"]:
        cid = c["clue_id"]
        cases = sorted((k for k in out["cases"] if k["clue_id"] == cid),
                       key=lambda k: (k["case_id"], k.get("filed_at") or datetime.max))
        base = {"clue_no": nos[cid], "clue_id": cid, "created_at": c.get("created_at"),
                "reviewed_at": c.get("reviewed_at"), "district": c.get("district"), "topic": c.get("topic"),
                "function": c.get("function"), "first_at": first.get(cid)}
        if not cases:
            out["funnel_clues"].append({**base, "clue_row": True, "case_id": None, "filed_at": None, "measure": None,
                                        "measure_at": None, "replied_at": None, "urgent": None, "suggestion": False,
                                        "rectified_at": None})
        for i, k in enumerate(cases):
            measure = k.get("measure") or ""
            out["funnel_clues"].append({
                **base, "clue_row": i == 0, "case_id": k["case_id"], "filed_at": k.get("filed_at"),
                "measure": k.get("measure"), "measure_at": k.get("measure_at"), "replied_at": k.get("replied_at"),
                "urgent": k.get("urgent"), "suggestion": "检察建议" in measure and k.get("measure_at") is not None,
                "rectified_at": by_case.get(k["case_id"])})


# ------------------------------------------------------------------------------------------- into a cursor
def sync(cur, fr: Frames) -> bool:
    """Copy the overlay rows into `cur`'s temporary tables unless they hold this version already; returns
    True when it copied. `cur` must have been made with the overlay (data/scope.scoped_cursor(..., ledger=True))."""
    if LOADED.get(cur) == fr.version:
        return False
    for name in (*TABLES, "replaced", "replaced_cases", "extra"):
        target = f"{PREFIX}{name}"
        exists = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $t",
                             {"t": target}).fetchone()[0]
        if not exists:
            continue
        cur.execute(f"DELETE FROM temp.main.{target}")
        df = fr.frames.get(name)
        if df is None or df.empty:
            continue
        src = f"{PREFIX}src"
        cur.register(src, df)
        try:
            cur.execute(f"INSERT INTO temp.main.{target} BY NAME SELECT * FROM {src}")
        finally:
            cur.unregister(src)
    LOADED[cur] = fr.version
    return True


def loaded_version(cur) -> int | None:
    return LOADED.get(cur)


def ledger_cursor(con, sc=None, db_path=None):
    """A cursor of `con` (a ticket store opened by a command) that reads the whole ledger within scope `sc`
    (default: the whole city): what the dashboard's cursors read, for commands that print or export figures."""
    from data import scope as scopes

    cur = scopes.scoped_cursor(con, sc or scopes.CITY, ledger=True)
    base = con.cursor()
    try:
        with records.session(db_path) as rc:
            sync(cur, frames(base, rc))
    finally:
        base.close()
    return cur
