-- 0002_recovery: single-use password reset tokens. Only the SHA-256 of a
-- token is stored. A user has at most one pending reset (a new one replaces
-- the old), and resets go with their user.

CREATE TABLE password_resets (
	hash       bytea PRIMARY KEY,
	account_id text NOT NULL,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created    timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);
