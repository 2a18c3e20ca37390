-- 0011_monster: what Monster UI needs beyond authentication. Each
-- account's whitelabel branding (its domain unique across accounts, its
-- logo, icon and welcome text), the app catalogue with its images, the
-- apps installed on each account and the blacklist an ancestor sets,
-- alerts, and Kazoo's limits document, stored and never enforced.
-- Per-account rows go with their account.

CREATE TABLE whitelabels (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    domain     TEXT UNIQUE, -- lower-case; NULL when the account claims none
    document   TEXT NOT NULL,
    revision   TEXT NOT NULL,
    created    INTEGER NOT NULL,
    modified   INTEGER NOT NULL
);

CREATE TABLE whitelabel_files (
    account_id   TEXT NOT NULL REFERENCES whitelabels (account_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    modified     INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE apps (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL,
    created  INTEGER NOT NULL,
    modified INTEGER NOT NULL
);

CREATE TABLE app_files (
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (app_id, name)
);

CREATE TABLE app_installs (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    app_id     TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    document   TEXT NOT NULL,
    created    INTEGER NOT NULL,
    modified   INTEGER NOT NULL,
    PRIMARY KEY (account_id, app_id)
);

CREATE TABLE app_blacklists (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    app_ids    TEXT NOT NULL -- a JSON array of app ids
);

CREATE TABLE alerts (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    document   TEXT NOT NULL,
    expires    INTEGER NOT NULL, -- 0 for never
    created    INTEGER NOT NULL
);
CREATE INDEX alerts_account ON alerts (account_id, id);

CREATE TABLE limits_docs (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    document   TEXT NOT NULL,
    modified   INTEGER NOT NULL
);
