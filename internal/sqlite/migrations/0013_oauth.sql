-- 0013_oauth: the OAuth provider's records. Applications belong to an
-- account; grants to a user and an application; refresh tokens to a grant;
-- tickets (authorization requests with their codes, device authorizations)
-- to an application. Each goes with what it belongs to. Codes and refresh
-- tokens are stored as SHA-256 hashes only.

CREATE TABLE oauth_apps (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    doc        TEXT NOT NULL,
    revision   TEXT NOT NULL,
    created    INTEGER NOT NULL,
    modified   INTEGER NOT NULL
);
CREATE INDEX oauth_apps_account ON oauth_apps (account_id, id);

CREATE TABLE oauth_grants (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id     TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created    INTEGER NOT NULL,
    modified   INTEGER NOT NULL,
    UNIQUE (user_id, app_id)
);
CREATE INDEX oauth_grants_app ON oauth_grants (app_id);

CREATE TABLE oauth_tickets (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    app_id     TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    code_hash  BLOB UNIQUE,
    user_code  TEXT UNIQUE,
    data       BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL
);
CREATE INDEX oauth_tickets_expires ON oauth_tickets (expires_at);
CREATE INDEX oauth_tickets_app ON oauth_tickets (app_id);

CREATE TABLE oauth_refresh (
    hash           BLOB PRIMARY KEY,
    family_id      TEXT NOT NULL,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    app_id         TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    access_jti     TEXT NOT NULL,
    access_expires INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER NOT NULL DEFAULT 0,
    created        INTEGER NOT NULL
);
CREATE INDEX oauth_refresh_family ON oauth_refresh (family_id);
CREATE INDEX oauth_refresh_grant ON oauth_refresh (grant_id);
