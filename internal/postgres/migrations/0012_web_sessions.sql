-- 0012_web_sessions: the portal's server-side sessions. Only the SHA-256
-- of a session id is stored; sessions go with their user.

CREATE TABLE web_sessions (
	id         text PRIMARY KEY,
	hash       bytea NOT NULL UNIQUE,
	account_id text NOT NULL,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created    timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	client_ip  text NOT NULL,
	user_agent text NOT NULL
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id, created);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);
