-- 0011_monster: what Monster UI needs beyond authentication. Each
-- account's whitelabel branding (its domain unique across accounts, its
-- logo, icon and welcome text), the app catalogue with its images, the
-- apps installed on each account and the blacklist an ancestor sets,
-- alerts, and Kazoo's limits document, stored and never enforced.
-- Documents are text, not jsonb, so that they read back as written.
-- Per-account rows go with their account.

CREATE TABLE whitelabels (
	account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	domain     text, -- lower-case; NULL when the account claims none
	document   text NOT NULL,
	revision   text NOT NULL,
	created    timestamptz NOT NULL,
	modified   timestamptz NOT NULL,
	CONSTRAINT whitelabels_domain_key UNIQUE (domain)
);

CREATE TABLE whitelabel_files (
	account_id   text NOT NULL REFERENCES whitelabels (account_id) ON DELETE CASCADE,
	name         text NOT NULL,
	content_type text NOT NULL,
	data         bytea NOT NULL,
	modified     timestamptz NOT NULL,
	PRIMARY KEY (account_id, name)
);

CREATE TABLE apps (
	id       text PRIMARY KEY,
	name     text NOT NULL,
	document text NOT NULL,
	created  timestamptz NOT NULL,
	modified timestamptz NOT NULL,
	CONSTRAINT apps_name_key UNIQUE (name)
);

CREATE TABLE app_files (
	app_id       text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	name         text NOT NULL,
	content_type text NOT NULL,
	data         bytea NOT NULL,
	PRIMARY KEY (app_id, name)
);

CREATE TABLE app_installs (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	app_id     text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	document   text NOT NULL,
	created    timestamptz NOT NULL,
	modified   timestamptz NOT NULL,
	PRIMARY KEY (account_id, app_id)
);

CREATE TABLE app_blacklists (
	account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	app_ids    text NOT NULL -- a JSON array of app ids
);

CREATE TABLE alerts (
	id         text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	document   text NOT NULL,
	expires    timestamptz,
	created    timestamptz NOT NULL
);
CREATE INDEX alerts_account_idx ON alerts (account_id, id);

CREATE TABLE limits_docs (
	account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	document   text NOT NULL,
	modified   timestamptz NOT NULL
);
