-- Times are INTEGER unix milliseconds in UTC; 0 is the zero time.
-- Revisions are "<n>-<16 hex>", n counting the writes of the row.

CREATE TABLE accounts (
    id                 TEXT PRIMARY KEY,
    parent_id          TEXT NOT NULL DEFAULT '',
    -- path is '/<root id>/.../<own id>/': the descendants of an account are
    -- the rows whose path starts with its path, one index range scan.
    path               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    name_norm          TEXT NOT NULL,
    realm              TEXT NOT NULL DEFAULT '',
    realm_lower        TEXT NOT NULL DEFAULT '',
    timezone           TEXT NOT NULL DEFAULT '',
    language           TEXT NOT NULL DEFAULT '',
    enabled            INTEGER NOT NULL DEFAULT 0,
    system             INTEGER NOT NULL DEFAULT 0,
    extra              TEXT NOT NULL DEFAULT 'null',
    tokens_valid_after INTEGER NOT NULL DEFAULT 0,
    revision           TEXT NOT NULL,
    created            INTEGER NOT NULL,
    modified           INTEGER NOT NULL
);
CREATE INDEX accounts_parent ON accounts (parent_id, id);
-- Names and realms are unique once normalised; accounts without a realm
-- (or with a name of punctuation only) do not collide with each other.
CREATE UNIQUE INDEX accounts_name_norm ON accounts (name_norm) WHERE name_norm <> '';
CREATE UNIQUE INDEX accounts_realm_lower ON accounts (realm_lower) WHERE realm_lower <> '';

CREATE TABLE users (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    username                TEXT NOT NULL DEFAULT '',
    email                   TEXT NOT NULL DEFAULT '',
    first_name              TEXT NOT NULL DEFAULT '',
    last_name               TEXT NOT NULL DEFAULT '',
    priv_level              TEXT NOT NULL DEFAULT '',
    enabled                 INTEGER NOT NULL DEFAULT 0,
    require_password_update INTEGER NOT NULL DEFAULT 0,
    presence_id             TEXT NOT NULL DEFAULT '',
    timezone                TEXT NOT NULL DEFAULT '',
    language                TEXT NOT NULL DEFAULT '',
    extra                   TEXT NOT NULL DEFAULT 'null',
    password                TEXT NOT NULL DEFAULT '',
    md5_lookup              TEXT NOT NULL DEFAULT '',
    md5_hash                TEXT NOT NULL DEFAULT '',
    sha1_lookup             TEXT NOT NULL DEFAULT '',
    sha1_hash               TEXT NOT NULL DEFAULT '',
    tokens_valid_after      INTEGER NOT NULL DEFAULT 0,
    revision                TEXT NOT NULL,
    created                 INTEGER NOT NULL,
    modified                INTEGER NOT NULL
);
CREATE INDEX users_account ON users (account_id, id);
-- Users without a username cannot log in and do not collide.
CREATE UNIQUE INDEX users_username ON users (account_id, username) WHERE username <> '';
CREATE INDEX users_md5_lookup ON users (account_id, md5_lookup);
CREATE INDEX users_sha1_lookup ON users (account_id, sha1_lookup);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    prefix        TEXT NOT NULL DEFAULT '',
    hash          BLOB NOT NULL UNIQUE,
    sealed        BLOB,
    scopes        TEXT NOT NULL DEFAULT 'null',
    allowed_cidrs TEXT NOT NULL DEFAULT 'null',
    created_by    TEXT NOT NULL DEFAULT '',
    created       INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER NOT NULL DEFAULT 0,
    last_used_at  INTEGER NOT NULL DEFAULT 0,
    last_used_ip  TEXT NOT NULL DEFAULT '',
    revision      TEXT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys (account_id, id);
-- An account has at most one live account key: AccountKey must never have
-- to choose between two.
CREATE UNIQUE INDEX api_keys_live_account_key ON api_keys (account_id)
    WHERE kind = 'account' AND revoked_at = 0;

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    public     BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    created    INTEGER NOT NULL,
    retired_at INTEGER NOT NULL DEFAULT 0
);

-- AUTOINCREMENT so that a sequence number is never reused after a prune:
-- a follower that has seen seq n must never miss a later event numbered n.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    cutoff  INTEGER NOT NULL DEFAULT 0,
    expires INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created);
