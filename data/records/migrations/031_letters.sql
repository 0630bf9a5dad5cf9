-- 12309 letters and visits (信访, data/ledger/letters.py): imported from the 12309 centre's export with their
-- own mapping, or entered in the app. Every change is a new version of the letter (nothing updated or deleted);
-- the current letter is its latest version. Times are local 'YYYY-MM-DD HH:MM:SS'.

CREATE TABLE IF NOT EXISTS letter_imports (
    import_id    INTEGER PRIMARY KEY,
    file         TEXT NOT NULL,
    mapping      TEXT NOT NULL DEFAULT '',
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    actor        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'running',   -- running / ok / failed
    rows_read    INTEGER NOT NULL DEFAULT 0,        -- = inserted + updated + unchanged + quarantined
    inserted     INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    quarantined  INTEGER NOT NULL DEFAULT 0,
    reasons      TEXT NOT NULL DEFAULT '{}',        -- JSON {reason: count} of quarantined rows
    message      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS letters (
    letter_id    TEXT NOT NULL,               -- 12309 信访件编号
    version      INTEGER NOT NULL,            -- 1, 2, 3 ... per letter
    received_at  TEXT NOT NULL,               -- 收到 / 来访时间
    channel      TEXT NOT NULL,               -- 来信 / 来访 / 电话 / 网络
    matter       TEXT NOT NULL DEFAULT '',    -- 信访事项
    category     TEXT,                        -- 事项类别 (控告、申诉、举报、求决、意见建议 ...)
    district     TEXT NOT NULL,               -- the receiving procuratorate's district (scope)
    petitioner   TEXT,                        -- 信访人 (personal: masked on screen)
    phone        TEXT,                        -- 联系电话 (personal: masked on screen)
    replied_at   TEXT,                        -- 程序性回复 (HOTLINE_LETTER_REPLY_DAYS)
    result_at    TEXT,                        -- 办理结果答复 (HOTLINE_LETTER_RESULT_DAYS)
    result       TEXT,
    handler      TEXT,
    row_hash     TEXT NOT NULL,               -- the content of this version, to tell unchanged rows on re-import
    import_id    INTEGER REFERENCES letter_imports (import_id),   -- NULL: entered in the app
    recorded_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    PRIMARY KEY (letter_id, version)
);
CREATE INDEX IF NOT EXISTS letters_district ON letters (district, received_at);

CREATE TABLE IF NOT EXISTS letter_quarantine (
    import_id   INTEGER NOT NULL REFERENCES letter_imports (import_id),
    row_number  INTEGER NOT NULL,             -- 1-based data row of the file (header not counted)
    reason      TEXT NOT NULL,                -- missing_id / bad_time / missing_channel / missing_district / ...
    detail      TEXT NOT NULL,                -- Chinese explanation
    letter_id   TEXT,
    raw         TEXT NOT NULL                 -- the row as read, JSON
);

CREATE TRIGGER IF NOT EXISTS letters_no_update BEFORE UPDATE ON letters
BEGIN
    SELECT RAISE(ABORT, 'letters are append-only');
END;
CREATE TRIGGER IF NOT EXISTS letters_no_delete BEFORE DELETE ON letters
BEGIN
    SELECT RAISE(ABORT, 'letters are append-only');
END;
CREATE TRIGGER IF NOT EXISTS letter_quarantine_no_update BEFORE UPDATE ON letter_quarantine
BEGIN
    SELECT RAISE(ABORT, 'letters are append-only');
END;
CREATE TRIGGER IF NOT EXISTS letter_quarantine_no_delete BEFORE DELETE ON letter_quarantine
BEGIN
    SELECT RAISE(ABORT, 'letters are append-only');
END;
