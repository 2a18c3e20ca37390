-- 0012_web_sessions: the portal's server-side sessions. Only the SHA-256
-- of a session id is stored; sessions go with their user.

CREATE TABLE web_sessions (
    id         TEXT PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    client_ip  TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id, created);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
