-- Accounts and the audit trail (data/people.py, data/audit.py). Times are local 'YYYY-MM-DD HH:MM:SS'.

CREATE TABLE IF NOT EXISTS users (
    name           TEXT PRIMARY KEY,          -- sign-in name
    display_name   TEXT NOT NULL DEFAULT '',  -- shown in the app and on records (e.g. 张三)
    role           TEXT NOT NULL,             -- leader / prosecutor / clue_admin / press / admin / display
    districts      TEXT NOT NULL DEFAULT '[]',-- JSON list of district names; [] = the whole city
    password_hash  TEXT,                      -- argon2id (argon2-cffi); NULL: single sign-on only
    sso_subject    TEXT,                      -- the OpenID Connect identity (email or sub) that signs in as this account
    disabled       INTEGER NOT NULL DEFAULT 0,
    failed_count   INTEGER NOT NULL DEFAULT 0,-- failed sign-ins since the last success
    locked_until   TEXT,                      -- no sign-in before this time (after too many failures)
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL
);

-- Append-only: who did what, when, on what. Each row carries an HMAC-SHA256 over its content and the
-- previous row's hash (a chain), so an edited, inserted or deleted row shows (data/audit.py, docs/security.md).
CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY,           -- 1, 2, 3, ... with no gaps
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,                 -- account name, or cli:<os user> / system
    role       TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,                 -- sign_in, sign_in_failed, ticket_view, unmask, export, ...
    target     TEXT NOT NULL DEFAULT '',      -- ticket id, clue number, file name, account, ...
    details    TEXT NOT NULL DEFAULT '{}',    -- JSON: filters, ids, reason, counts
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, seq);
CREATE INDEX IF NOT EXISTS audit_action ON audit (action, seq);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);

CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
