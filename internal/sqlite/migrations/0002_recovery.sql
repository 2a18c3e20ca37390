-- 0002_recovery: single-use password reset tokens. Only the SHA-256 of a
-- token is stored. A user has at most one pending reset (a new one replaces
-- the old), and resets go with their user.

CREATE TABLE password_resets (
    hash       BLOB PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);
