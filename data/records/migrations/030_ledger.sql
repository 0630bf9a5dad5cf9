-- The clue ledger (线索台账, data/ledger): clues registered in the app, and imported clues the app has acted
-- on, with every step as an appended event. Nothing here is updated or deleted (triggers below): the current
-- state of a clue is derived from its events, and a correction is a new event with a reason.
-- Times are local 'YYYY-MM-DD HH:MM:SS'.

-- One row per clue the ledger holds: registered in the app (origin 'app', numbered X-YYYY-NNNNNN), or an
-- imported clue (origin 'import', its clue_id from the case system) that someone acted on in the app. The
-- columns from source to handler are the clue as registered (an app clue); later changes are 'edit' events.
CREATE TABLE IF NOT EXISTS ledger_clues (
    clue_no      TEXT PRIMARY KEY,           -- X-2026-000123, or the imported clue_id
    serial       INTEGER NOT NULL UNIQUE,    -- 1, 2, 3 ... in registration order (the funnel numbers app clues -serial)
    origin       TEXT NOT NULL CHECK (origin IN ('app', 'import')),
    year         INTEGER,                    -- app clues: the year of the number
    seq          INTEGER,                    -- app clues: the number within the year
    district     TEXT NOT NULL,              -- the procuratorate's district (scope)
    source       TEXT,                       -- rule / 12309 / liaison / department / letter / other
    source_ref   TEXT NOT NULL DEFAULT '{}', -- JSON: rule id, version and queue items; letter id; ...
    function     TEXT,                       -- 刑事 / 民事 / 行政 / 公益诉讼
    department   TEXT,
    topic        TEXT,                       -- special project
    subject      TEXT,                       -- 被监督对象: the agency or company supervised
    place        TEXT,
    lon          REAL,                       -- WGS84
    lat          REAL,
    summary      TEXT,
    handler      TEXT,                       -- the prosecutor handling it (account name)
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX IF NOT EXISTS ledger_clues_district ON ledger_clues (district, created_at);

-- Every step, edit, link and decision on a clue, in order. kind: register, assess, decide, notify, suggest,
-- reply, rectify, follow_up, close (the stages); edit (attributes), link / unlink (tickets), correct
-- (replaces the event named in `replaces` with new values), void (withdraws it), baseline (an imported
-- clue's state as the app first saw it, or a decision on an import conflict).
CREATE TABLE IF NOT EXISTS ledger_events (
    event_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    clue_no        TEXT NOT NULL REFERENCES ledger_clues (clue_no),
    kind           TEXT NOT NULL,
    stage_at       TEXT,                     -- when the step happened (stages); NULL for other kinds
    details        TEXT NOT NULL DEFAULT '{}',  -- JSON: the step's values (outcome, to whom, urgent, ...)
    reason         TEXT NOT NULL DEFAULT '',
    replaces       INTEGER REFERENCES ledger_events (event_id),
    recorded_at    TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    recorded_role  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ledger_events_clue ON ledger_events (clue_no, event_id);

-- Tickets linked to a clue by the app (added by a 'link' event; an 'unlink' event lists the ones removed).
CREATE TABLE IF NOT EXISTS ledger_links (
    clue_no    TEXT NOT NULL REFERENCES ledger_clues (clue_no),
    ticket_id  TEXT NOT NULL,
    event_id   INTEGER NOT NULL REFERENCES ledger_events (event_id),
    PRIMARY KEY (clue_no, ticket_id, event_id)
);
CREATE INDEX IF NOT EXISTS ledger_links_ticket ON ledger_links (ticket_id);

-- Rectification results as counted figures (更换井盖 3 个, 截污 120 吨), one row per figure of a 'rectify'
-- event (or of the 'correct' event that replaces one).
CREATE TABLE IF NOT EXISTS ledger_outcomes (
    event_id  INTEGER NOT NULL REFERENCES ledger_events (event_id),
    item      TEXT NOT NULL,
    value     REAL NOT NULL,
    unit      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ledger_outcomes_event ON ledger_outcomes (event_id);

CREATE TRIGGER IF NOT EXISTS ledger_clues_no_update BEFORE UPDATE ON ledger_clues
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_clues_no_delete BEFORE DELETE ON ledger_clues
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_events_no_update BEFORE UPDATE ON ledger_events
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_events_no_delete BEFORE DELETE ON ledger_events
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_links_no_update BEFORE UPDATE ON ledger_links
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_links_no_delete BEFORE DELETE ON ledger_links
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_outcomes_no_update BEFORE UPDATE ON ledger_outcomes
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_outcomes_no_delete BEFORE DELETE ON ledger_outcomes
BEGIN
    SELECT RAISE(ABORT, 'the clue ledger is append-only');
END;
