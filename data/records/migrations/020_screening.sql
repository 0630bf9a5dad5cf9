-- Screening (data/screening): rules and every version of them, runs, hits, the queue to assess and its
-- decisions, collisions. Times are local 'YYYY-MM-DD HH:MM:SS'. Nothing people wrote is updated or deleted:
-- a rule's change is a new version, a state change a new row, a decision a new row (triggers below).

CREATE TABLE IF NOT EXISTS screening_rules (
    rule_id     INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,         -- the rule's file key (manhole-covers, ...)
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS screening_rule_versions (
    rule_id     INTEGER NOT NULL REFERENCES screening_rules (rule_id),
    version     INTEGER NOT NULL,             -- 1, 2, 3, ... per rule
    name        TEXT NOT NULL,
    project     TEXT NOT NULL DEFAULT '',
    function    TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL,                -- the rule as JSON (data/screening/rule.py, Rule.to_dict)
    note        TEXT NOT NULL DEFAULT '',     -- why it changed
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (rule_id, version)
);

-- Active or not (screened after every import): the latest row per rule wins.
CREATE TABLE IF NOT EXISTS screening_rule_states (
    state_id    INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL REFERENCES screening_rules (rule_id),
    active      INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS screening_runs (
    run_id       INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    actor        TEXT NOT NULL,
    trigger      TEXT NOT NULL,               -- import / manual / cli
    target       TEXT NOT NULL,               -- what was screened, in Chinese
    generation   TEXT NOT NULL DEFAULT '',    -- the ticket store read
    rules        INTEGER NOT NULL DEFAULT 0,
    hits         INTEGER NOT NULL DEFAULT 0,  -- hits found (old and new)
    new_hits     INTEGER NOT NULL DEFAULT 0,  -- hits recorded for the first time
    new_items    INTEGER NOT NULL DEFAULT 0,
    returned     INTEGER NOT NULL DEFAULT 0,  -- decided items back in the queue with new tickets
    seconds      REAL,
    status       TEXT NOT NULL DEFAULT 'running',   -- running / ok / failed
    message      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS screening_run_rules (
    run_id    INTEGER NOT NULL REFERENCES screening_runs (run_id),
    rule_id   INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    hits      INTEGER NOT NULL,
    new_hits  INTEGER NOT NULL,
    seconds   REAL NOT NULL,
    error     TEXT NOT NULL DEFAULT ''
);

-- One item of the queue to assess (待研判): a rule's hits at one place, or a collision's matches.
CREATE TABLE IF NOT EXISTS queue_items (
    item_id       INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,              -- rule / collision
    rule_id       INTEGER,                    -- kind = rule
    collision_id  INTEGER,                    -- kind = collision
    place_key     TEXT NOT NULL,              -- cell:<i>:<j> (located), addr:<...>, street:<...>, district:<...>
    ci            INTEGER,                    -- the place's grid cell (HOTLINE_SCREEN_PLACE_M), located places
    cj            INTEGER,
    district      TEXT,
    street        TEXT,
    label         TEXT NOT NULL DEFAULT '',   -- the place in words (the most frequent address)
    lon           REAL,
    lat           REAL,
    created_at    TEXT NOT NULL,
    run_id        INTEGER
);
CREATE INDEX IF NOT EXISTS queue_items_rule ON queue_items (rule_id, place_key);
CREATE INDEX IF NOT EXISTS queue_items_district ON queue_items (district);

CREATE TABLE IF NOT EXISTS screening_hits (
    hit_id       INTEGER PRIMARY KEY,
    rule_id      INTEGER NOT NULL,
    version      INTEGER NOT NULL,            -- the version that found it (never changed)
    ticket_id    TEXT NOT NULL,
    item_id      INTEGER NOT NULL REFERENCES queue_items (item_id),
    run_id       INTEGER NOT NULL,
    district     TEXT,
    received_at  TEXT,
    trigger      INTEGER NOT NULL DEFAULT 1,  -- 0: a repeat-window member that makes the count
    created_at   TEXT NOT NULL,
    UNIQUE (rule_id, ticket_id)
);
CREATE INDEX IF NOT EXISTS screening_hits_item ON screening_hits (item_id);
CREATE INDEX IF NOT EXISTS screening_hits_ticket ON screening_hits (ticket_id);

-- Decisions on an item: dismiss (with a reason), attach (to an existing clue), register (a new clue),
-- returned (new tickets after a decision put it back in the queue; by the screening itself).
CREATE TABLE IF NOT EXISTS queue_decisions (
    decision_id  INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES queue_items (item_id),
    decision     TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    clue_id      TEXT,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_decisions_item ON queue_decisions (item_id, decision_id);

CREATE TABLE IF NOT EXISTS collisions (
    collision_id  INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    file          TEXT NOT NULL,
    params        TEXT NOT NULL,              -- JSON: mapping, distance, days, what was matched
    rows_read     INTEGER NOT NULL,
    rows_matched  INTEGER NOT NULL,
    matches       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    actor         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS collision_matches (
    match_id      INTEGER PRIMARY KEY,
    collision_id  INTEGER NOT NULL REFERENCES collisions (collision_id),
    item_id       INTEGER REFERENCES queue_items (item_id),
    row_number    INTEGER NOT NULL,           -- 1-based data row of the uploaded list
    ticket_id     TEXT NOT NULL,
    district      TEXT,
    evidence      TEXT NOT NULL,              -- JSON: what matched (distance m, days, address, name, phone)
    score         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS collision_matches_item ON collision_matches (item_id);

CREATE TRIGGER IF NOT EXISTS screening_versions_no_update BEFORE UPDATE ON screening_rule_versions
BEGIN
    SELECT RAISE(ABORT, 'rule versions are never changed: save a new version');
END;
CREATE TRIGGER IF NOT EXISTS screening_versions_no_delete BEFORE DELETE ON screening_rule_versions
BEGIN
    SELECT RAISE(ABORT, 'rule versions are never deleted');
END;
CREATE TRIGGER IF NOT EXISTS screening_hits_no_delete BEFORE DELETE ON screening_hits
BEGIN
    SELECT RAISE(ABORT, 'hits are never deleted');
END;
CREATE TRIGGER IF NOT EXISTS screening_hits_no_update BEFORE UPDATE ON screening_hits
BEGIN
    SELECT RAISE(ABORT, 'hits are never changed');
END;
CREATE TRIGGER IF NOT EXISTS queue_decisions_no_update BEFORE UPDATE ON queue_decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are never changed: record a new one');
END;
CREATE TRIGGER IF NOT EXISTS queue_decisions_no_delete BEFORE DELETE ON queue_decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are never deleted');
END;
CREATE TRIGGER IF NOT EXISTS queue_items_no_delete BEFORE DELETE ON queue_items
BEGIN
    SELECT RAISE(ABORT, 'queue items are never deleted');
END;
