"""Reading the ledger: one clue, a search for pickers, every clue of the app, and the change counter.

A clue of another district reads as not found, exactly like an unknown number (data/scope.py). Imported
clues the app never acted on live only in the ticket store: pass `store` (a cursor on it) to see them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from data import records
from data.ledger import imported as imp
from data.ledger.model import STAGES, Clue, Event
from data.ledger.state import derive
from data.scope import Scope, records_filter


def version(con: sqlite3.Connection) -> int:
    """The ledger's change counter: the last event's id (every change to the ledger appends an event)."""
    return int(con.execute("SELECT coalesce(max(event_id), 0) FROM ledger_events").fetchone()[0])


def _event(r: sqlite3.Row, outcomes: dict[int, list]) -> Event:
    return Event(event_id=r["event_id"], kind=r["kind"], stage_at=records.from_text(r["stage_at"]),
                 details=json.loads(r["details"] or "{}"), reason=r["reason"], replaces=r["replaces"],
                 recorded_at=records.from_text(r["recorded_at"]), recorded_by=r["recorded_by"],
                 recorded_role=r["recorded_role"], outcomes=tuple(outcomes.get(r["event_id"], ())))


def _chunks(items: list, n: int = 500):
    for i in range(0, len(items), n):
        yield items[i:i + n]


def load_rows(con: sqlite3.Connection, clue_nos: list[str] | None = None
              ) -> tuple[dict[str, dict], dict[str, list[Event]], dict[int, list[str]]]:
    """(ledger rows by number, events by number in order, tickets linked by each event) of the given clues
    (None: every clue of the ledger)."""
    if clue_nos is None:
        parts = [("", [])]
    else:
        nos = sorted(set(clue_nos))
        if not nos:
            return {}, {}, {}
        parts = [(f" WHERE clue_no IN ({', '.join('?' for _ in c)})", c) for c in _chunks(nos)]
    rows, events, links, outcomes = {}, {}, {}, {}
    raw_events = []
    for where, params in parts:
        for r in con.execute("SELECT * FROM ledger_clues" + where, params):
            rows[r["clue_no"]] = dict(r)
        raw_events += con.execute("SELECT * FROM ledger_events" + where + " ORDER BY event_id", params).fetchall()
        for r in con.execute("SELECT clue_no, ticket_id, event_id FROM ledger_links" + where
                             + " ORDER BY event_id, rowid", params):
            links.setdefault(r["event_id"], []).append(r["ticket_id"])
        for r in con.execute("SELECT o.event_id, o.item, o.value, o.unit FROM ledger_outcomes o "
                             "JOIN ledger_events e USING (event_id)" + where.replace("clue_no", "e.clue_no")
                             + " ORDER BY o.rowid", params):
            outcomes.setdefault(r["event_id"], []).append((r["item"], float(r["value"]), r["unit"]))
    for r in sorted(raw_events, key=lambda x: x["event_id"]):
        events.setdefault(r["clue_no"], []).append(_event(r, outcomes))
    return rows, events, links


def get_clue(con: sqlite3.Connection, clue_no: str, scope: Scope, *, store=None,
             today: date | None = None) -> Clue | None:
    """The clue `clue_no` as it stands now, or None when unknown or outside `scope`.

    An imported clue is found when `store` (a cursor on the ticket store) is given.
    """
    clue_no = str(clue_no or "").strip()
    if not clue_no:
        return None
    rows, events, links = load_rows(con, [clue_no])
    row = rows.get(clue_no)
    base = None
    if row is None or row["origin"] == "import":
        if store is None:
            if row is None:
                return None
        else:
            base = imp.load(store, [clue_no]).get(clue_no)
            if base is None and row is None:
                return None
    clue = derive(row, events.get(clue_no, []), links, base, today)
    return clue if scope.allows_district(clue.district) else None


def all_clues(con: sqlite3.Connection, *, store=None, today: date | None = None,
              scope: Scope | None = None) -> list[Clue]:
    """Every clue of the app's ledger (registered here, or imported and acted on), derived; within `scope`.

    Imported clues are read from `store` when given (without it their imported rows are unknown and they are
    left out).
    """
    where, params = records_filter(scope or Scope(), "district")
    nos = [r[0] for r in con.execute(f"SELECT clue_no FROM ledger_clues WHERE {where} ORDER BY serial", params)]
    rows, events, links = load_rows(con, nos)
    base = imp.load(store, [n for n, r in rows.items() if r["origin"] == "import"]) if store is not None else {}
    out = []
    for no in nos:
        row = rows[no]
        if row["origin"] == "import" and no not in base:
            continue
        c = derive(row, events.get(no, []), links, base.get(no), today)
        if scope is None or scope.allows_district(c.district):
            out.append(c)
    return out


def find_clues(con: sqlite3.Connection, scope: Scope, *, text: str | None = None, district: str | None = None,
               function: str | None = None, topic: str | None = None, stage: str | None = None,
               ticket_id: str | None = None, origin: str | None = None, open_only: bool = False,
               limit: int = 50, store=None, today: date | None = None) -> list[Clue]:
    """Clues for a picker ("attach to an existing clue"), newest first: at most `limit + 1`, so a caller can
    say the list was cut.

    text: part of the number, summary, place or subject; stage: a STAGES key (the furthest stage reached);
    open_only: not closed and not decided against filing or transferred. With `store`, imported clues
    that match (number, summary, district, function, topic, linked ticket) are included.
    """
    if stage is not None and stage not in STAGES:
        raise ValueError(f"stage must be one of {tuple(STAGES)}")
    where, params = records_filter(scope, "district")
    conds, args = [where], list(params)
    if district:
        conds.append("district = ?")
        args.append(district)
    if origin:
        conds.append("origin = ?")
        args.append(origin)
    if ticket_id:
        conds.append("clue_no IN (SELECT clue_no FROM ledger_links WHERE ticket_id = ?)")
        args.append(ticket_id)
    sql = f"SELECT clue_no FROM ledger_clues WHERE {' AND '.join(conds)} ORDER BY serial DESC"
    nos = [r[0] for r in con.execute(sql, args)]
    rows, events, links = load_rows(con, nos)
    imported_nos = [n for n in nos if rows[n]["origin"] == "import"]
    extra: list[str] = []
    if store is not None and origin != "app":
        extra = _imported_matches(store, scope, text=text, district=district, function=function, topic=topic,
                                  ticket_id=ticket_id, limit=limit + 1)
    base = imp.load(store, set(imported_nos) | set(extra), scope) if store is not None else {}
    out: list[Clue] = []
    for no in dict.fromkeys([*nos, *extra]):
        row = rows.get(no)
        if (row is None or row["origin"] == "import") and no not in base:
            continue
        c = derive(row, events.get(no, []), links, base.get(no), today)
        if not scope.allows_district(c.district) or not _matches(c, text, function, topic, stage, open_only):
            continue
        out.append(c)
    out.sort(key=lambda c: (c.created_at is not None, c.created_at), reverse=True)
    return out[:limit + 1]


def _matches(c: Clue, text, function, topic, stage, open_only) -> bool:
    if function and c.function != function:
        return False
    if topic and c.topic != topic:
        return False
    if stage and c.stage != stage:
        return False
    if open_only and ("close" in c.stages or c.outcome in ("not_file", "transfer")):
        return False
    if text:
        t = text.strip().lower()
        hay = " ".join(str(x or "") for x in (c.clue_no, c.summary, c.place, c.subject)).lower()
        if t not in hay:
            return False
    return True


def _imported_matches(store, scope: Scope, *, text, district, function, topic, ticket_id, limit) -> list[str]:
    conds, p = ["TRUE"], {}
    if scope.districts is not None:
        conds.append("district IN (SELECT unnest($scope::VARCHAR[]))")
        p["scope"] = list(scope.districts)
    for col, val in (("district", district), ("function", function), ("topic", topic)):
        if val:
            conds.append(f"{col} = ${col}")
            p[col] = val
    if text:
        conds.append("(clue_id ILIKE $text ESCAPE '\\' OR summary ILIKE $text ESCAPE '\\')")
        p["text"] = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if ticket_id:
        conds.append(f"clue_id IN (SELECT clue_id FROM {imp.base_table(store, 'clue_tickets')} WHERE ticket_id = $tid)")
        p["tid"] = ticket_id
    sql = (f"SELECT clue_id FROM {imp.base_table(store, 'clues')} WHERE {' AND '.join(conds)} "
           "ORDER BY created_at DESC NULLS LAST, clue_id LIMIT $lim")
    return [r[0] for r in store.execute(sql, {**p, "lim": int(limit)}).fetchall()]


def rule_names(con: sqlite3.Connection) -> dict:
    """Names of screening rules for reports: {(rule id, version): name}, {rule id: latest name} and {rule key:
    latest name}, as text keys (empty when the screening tables are not there)."""
    try:
        rows = con.execute("SELECT v.rule_id, v.version, v.name, r.key FROM screening_rule_versions v "
                           "JOIN screening_rules r USING (rule_id) ORDER BY v.rule_id, v.version").fetchall()
    except sqlite3.OperationalError:
        return {}
    out: dict = {}
    for rid, ver, name, key in rows:
        out[(str(rid), str(ver))] = name
        out[str(rid)] = name
        out[str(key)] = name          # a clue that names its rule by key only (rule_key)
    return out
