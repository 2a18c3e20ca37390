-- 0013_oauth: the OAuth provider's records. Applications belong to an
-- account; grants to a user and an application; refresh tokens to a grant;
-- tickets (authorization requests with their codes, device authorizations)
-- to an application. Each goes with what it belongs to. Codes and refresh
-- tokens are stored as SHA-256 hashes only.

CREATE TABLE oauth_apps (
	id         text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	doc        text NOT NULL, -- JSON; text keeps an escaped NUL that jsonb refuses
	revision   text NOT NULL,
	created    timestamptz NOT NULL,
	modified   timestamptz NOT NULL
);
CREATE INDEX oauth_apps_account_idx ON oauth_apps (account_id, id);

CREATE TABLE oauth_grants (
	id         text PRIMARY KEY,
	account_id text NOT NULL,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	app_id     text NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
	scopes     jsonb NOT NULL,
	created    timestamptz NOT NULL,
	modified   timestamptz NOT NULL,
	UNIQUE (user_id, app_id)
);
CREATE INDEX oauth_grants_app_idx ON oauth_grants (app_id);

CREATE TABLE oauth_tickets (
	id         text PRIMARY KEY,
	kind       text NOT NULL,
	app_id     text NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
	code_hash  bytea UNIQUE,
	user_code  text UNIQUE,
	data       bytea NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	created    timestamptz NOT NULL
);
CREATE INDEX oauth_tickets_expires_idx ON oauth_tickets (expires_at);
CREATE INDEX oauth_tickets_app_idx ON oauth_tickets (app_id);

CREATE TABLE oauth_refresh (
	hash           bytea PRIMARY KEY,
	family_id      text NOT NULL,
	grant_id       text NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
	app_id         text NOT NULL,
	account_id     text NOT NULL,
	user_id        text NOT NULL,
	scopes         jsonb NOT NULL,
	auth_time      timestamptz,
	access_jti     text NOT NULL,
	access_expires timestamptz,
	expires_at     timestamptz NOT NULL,
	used_at        timestamptz,
	created        timestamptz NOT NULL
);
CREATE INDEX oauth_refresh_family_idx ON oauth_refresh (family_id);
CREATE INDEX oauth_refresh_grant_idx ON oauth_refresh (grant_id);
