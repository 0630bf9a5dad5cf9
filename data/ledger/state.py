"""A clue's state now, derived from what was imported and the events recorded in the app (pure functions).

Rules (docs/data-model.md, "The ledger"):
- each stage's value is its latest event in the app: a stage event, or a `correct` event naming the stage
  (which replaces it with new values and a reason); a `void` event withdraws the stage;
- an imported clue starts from the imported rows (`Imported.stages`); an app event for a stage replaces the
  imported value of that stage only;
- a `baseline` event deciding an import conflict with `take_import` makes the app's stage events and edits
  recorded before it give way to the imported values (they stay in the history, marked superseded);
- attributes start from the registration (or the imported clue row) and follow `edit` events;
- linked tickets are the imported links and those added in the app, less those removed (`unlink`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from data import records
from data.ledger import deadlines
from data.ledger.model import EDITABLE, STAGES, Clue, Event, Stage


@dataclass(frozen=True)
class Imported:
    """An imported clue as the case system's files give it (data/ledger/imported.py reads it)."""

    clue_id: str
    attrs: dict                              # district, source, function, department, topic, summary, status
    created_at: datetime | None
    stages: dict[str, Stage]
    ticket_ids: tuple[str, ...]
    fingerprint: str
    cases: tuple[dict, ...] = ()             # every case row of the clue (the first is the primary case)
    rectifications: tuple[dict, ...] = ()    # every rectification row of those cases
    clue_row: dict = field(default_factory=dict)


def baseline_cut(events: list[Event]) -> int:
    """Event id before which the app's stage events and edits gave way to an import (0: none did)."""
    cut = 0
    for e in events:
        if e.kind == "baseline" and e.details.get("decision") == "take_import":
            cut = e.event_id
    return cut


def stages_of(events: list[Event], base: dict[str, Stage] | None = None) -> tuple[dict[str, Stage], set[int]]:
    """(stage key -> Stage as it stands, ids of events that no longer count)."""
    stages = dict(base or {})
    holder: dict[str, int] = {}          # stage -> event id that set it
    superseded: set[int] = set()
    cut = baseline_cut(events)
    for e in events:
        if e.kind in STAGES or e.kind in ("correct", "void"):
            key = e.kind if e.kind in STAGES else e.details.get("stage")
            if key not in STAGES:
                continue
            if e.event_id < cut:
                superseded.add(e.event_id)
                continue
            if key in holder:
                superseded.add(holder[key])
            if e.kind == "void":
                stages.pop(key, None)
                holder.pop(key, None)
                continue
            details = {k: v for k, v in e.details.items() if k != "stage"}
            stages[key] = Stage(key, e.stage_at, details, e.event_id, e.recorded_by, e.recorded_at, e.outcomes)
            holder[key] = e.event_id
    return stages, superseded


def attributes_of(events: list[Event], base: dict) -> tuple[dict, set[int]]:
    attrs = dict(base)
    cut = baseline_cut(events)
    superseded = set()
    for e in events:
        if e.kind != "edit":
            continue
        if e.event_id < cut:
            superseded.add(e.event_id)
            continue
        attrs.update({k: v for k, v in e.details.items() if k in EDITABLE})
    return attrs, superseded


def links_of(events: list[Event], base: tuple[str, ...], added: dict[int, list[str]]) -> tuple[str, ...]:
    """Linked tickets: `base` (imported), then in event order the app's links (`added`: event id -> ids) and
    unlinks."""
    out = dict.fromkeys(base)
    for e in events:
        if e.kind == "link" or e.kind == "register":
            for t in added.get(e.event_id, ()):
                out[t] = None
        elif e.kind == "unlink":
            for t in e.details.get("ticket_ids", ()):
                out.pop(t, None)
    return tuple(out)


def derive(row: dict | None, events: list[Event], added_links: dict[int, list[str]],
           imported: Imported | None, today: date | None = None) -> Clue:
    """The Clue from its ledger row (None for an imported clue the app never touched), its events in order,
    the tickets its events linked, and its imported rows (None for an app clue)."""
    today = today or records.now().date()
    if imported is not None:
        base_attrs = dict(imported.attrs)
        base_stages = imported.stages
        base_links = imported.ticket_ids
    else:
        base_attrs = {k: row.get(k) for k in ("district", "source", "function", "department", "topic", "subject",
                                              "place", "lon", "lat", "summary", "handler")}
        base_stages = {}
        base_links = ()
    stages, sup_stages = stages_of(events, base_stages)
    attrs, sup_edits = attributes_of(events, base_attrs)
    superseded = sup_stages | sup_edits
    history = tuple(replace(e, superseded=e.event_id in superseded) for e in events)
    created_at = (records.from_text(row["created_at"]) if row and imported is None
                  else (imported.created_at if imported else None))
    source = attrs.get("source")
    conflict = False
    if imported is not None:
        conflict = has_conflict(events, imported.fingerprint)
    return Clue(
        clue_no=row["clue_no"] if row else imported.clue_id,
        origin=row["origin"] if row else "import",
        district=attrs.get("district") or (row or {}).get("district") or "",
        source=source,
        source_ref=_json_dict((row or {}).get("source_ref")),
        function=attrs.get("function"), department=attrs.get("department"), topic=attrs.get("topic"),
        subject=attrs.get("subject"), place=attrs.get("place"), lon=attrs.get("lon"), lat=attrs.get("lat"),
        summary=attrs.get("summary"), handler=attrs.get("handler"),
        created_at=created_at,
        created_by=(row or {}).get("created_by") if imported is None else "导入",
        ticket_ids=links_of(events, base_links, added_links),
        stages=stages, history=history,
        next_due=deadlines.next_due(stages, source, today),
        conflict=conflict,
    )


def has_conflict(events: list[Event], fingerprint: str) -> bool:
    """True when the app edited an imported clue and the imported rows changed since the app last looked.

    The app "looked" when it first acted on the clue and whenever someone decided a conflict (`baseline`
    events carry the imported rows' fingerprint then). Edited = a stage, correction, withdrawal or attribute
    edit after that baseline (links added in the app do not conflict with anything imported).
    """
    base = [e for e in events if e.kind == "baseline"]
    if not base:
        return False
    last = base[-1]
    if last.details.get("fingerprint") == fingerprint:
        return False
    cut = baseline_cut(events)    # app edits before an import was taken over no longer count
    return any(e.kind in STAGES or e.kind in ("correct", "void", "edit") for e in events if e.event_id > cut)


def _json_dict(s) -> dict:
    import json

    if isinstance(s, dict):
        return s
    try:
        v = json.loads(s or "{}")
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}
