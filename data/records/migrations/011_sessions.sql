-- Signed-in sessions (data/people.py): the browser keeps a random token in a session cookie; only its
-- SHA-256 is stored. A session ends on sign-out, when idle longer than HOTLINE_SESSION_IDLE_MINUTES,
-- or when its account is disabled.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash  TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users (name),
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    ended_at    TEXT,
    ended_why   TEXT              -- sign_out / idle / disabled
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_name, created_at);
