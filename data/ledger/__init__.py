"""The clue ledger (线索台账): every clue from its source to its rectification, in the records store.

Contract for other modules (the screening queue registers and attaches through these; signatures are kept
stable and only extended):

    from data import ledger, records
    with records.session() as con:
        clue = ledger.register_clue(con, me, source="rule",
                                    source_ref={"rule_id": 7, "rule_version": 3, "queue_items": [41, 42]},
                                    district="朝阳区", function="公益诉讼", department="第八检察部",
                                    topic="井盖", place="八里庄路口", lon=116.49, lat=39.92,
                                    summary="八里庄路口井盖反复破损", ticket_ids=["T01", "T02"])
        clue.clue_no                      # 'X-2026-000123': X-<year>-<number within the year>
        ledger.attach_tickets(con, me, clue.clue_no, ["T03"], "同一路口新增工单")
        ledger.get_clue(con, "X-2026-000123", me.scope)            # None: unknown or another district
        ledger.find_clues(con, me.scope, text="井盖", open_only=True, limit=20)   # for a picker

- `source` is one of SOURCES: rule (source_ref: rule id, version, queue item ids), 12309 (letter id),
  liaison (联络点), department, letter, other.
- Each write is one transaction with its audit row; if `con` is already inside a transaction (a queue
  decision written with it), the write joins it.
- Imported clues (the case system's files in the ticket store) are part of the same ledger: pass
  `store=` (a cursor on the ticket store) to find, read, attach to or advance them.
- `LedgerError` carries a Chinese message for the user.

Modules: model (sources, stages, the Clue value), state (a clue's state derived from imports and events),
clues (writes), read (reads), imported (the case system's rows as stages), deadlines (how days count),
overlay (the app's clues in the ticket store's shape, for the funnel), summary (counts for the overview and
the wall screen), letters (12309).
"""

from data.ledger.clues import (
    attach_tickets,
    correct_stage,
    decide_conflict,
    detach_tickets,
    edit_clue,
    record_stage,
    register_clue,
    void_stage,
)
from data.ledger.model import (
    FUNCTIONS,
    OUTCOMES,
    RECTIFY_RESULTS,
    SOURCES,
    STAGES,
    SUGGESTION_KINDS,
    Clue,
    Due,
    Event,
    LedgerError,
    Stage,
)
from data.ledger.read import all_clues, find_clues, get_clue, version

__all__ = [
    "FUNCTIONS", "OUTCOMES", "RECTIFY_RESULTS", "SOURCES", "STAGES", "SUGGESTION_KINDS", "Clue", "Due", "Event",
    "LedgerError", "Stage", "all_clues", "attach_tickets", "correct_stage", "decide_conflict", "detach_tickets",
    "edit_clue", "find_clues", "get_clue", "record_stage", "register_clue", "version", "void_stage",
]
