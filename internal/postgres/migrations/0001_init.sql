-- 0001_init creates audian's tables. Times are timestamptz, NULL standing
-- for Go's zero time; optional JSON and byte values are NULL when the Go
-- value is nil, so that nil and empty survive a round trip.

CREATE TABLE accounts (
	id                 text PRIMARY KEY,
	-- NO ACTION on purpose: deleting an account that still has children
	-- fails even if a child is inserted concurrently.
	parent_id          text REFERENCES accounts (id),
	-- path is '/<root id>/.../<own id>/', so that the descendants of an
	-- account are the rows whose path starts with its path.
	path               text NOT NULL,
	name               text NOT NULL,
	name_norm          text NOT NULL,
	realm              text NOT NULL,
	realm_lower        text NOT NULL,
	timezone           text NOT NULL,
	language           text NOT NULL,
	enabled            boolean NOT NULL,
	system             boolean NOT NULL,
	extra              jsonb,
	tokens_valid_after timestamptz,
	revision           text NOT NULL,
	created            timestamptz NOT NULL,
	modified           timestamptz NOT NULL
);
-- Names that normalize to nothing and accounts without a realm do not
-- compete for uniqueness.
CREATE UNIQUE INDEX accounts_name_norm_key ON accounts (name_norm) WHERE name_norm <> '';
CREATE UNIQUE INDEX accounts_realm_lower_key ON accounts (realm_lower) WHERE realm_lower <> '';
CREATE INDEX accounts_parent_id_idx ON accounts (parent_id, id);
CREATE INDEX accounts_path_idx ON accounts (path text_pattern_ops);

CREATE TABLE users (
	id                      text PRIMARY KEY,
	account_id              text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	username                text NOT NULL,
	email                   text NOT NULL,
	first_name              text NOT NULL,
	last_name               text NOT NULL,
	priv_level              text NOT NULL,
	enabled                 boolean NOT NULL,
	require_password_update boolean NOT NULL,
	presence_id             text NOT NULL,
	timezone                text NOT NULL,
	language                text NOT NULL,
	extra                   jsonb,
	password_hash           text NOT NULL,
	md5_lookup              text NOT NULL,
	md5_hash                text NOT NULL,
	sha1_lookup             text NOT NULL,
	sha1_hash               text NOT NULL,
	tokens_valid_after      timestamptz,
	revision                text NOT NULL,
	created                 timestamptz NOT NULL,
	modified                timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_account_username_key ON users (account_id, username) WHERE username <> '';
CREATE INDEX users_account_id_idx ON users (account_id, id);
CREATE INDEX users_md5_lookup_idx ON users (account_id, md5_lookup);
CREATE INDEX users_sha1_lookup_idx ON users (account_id, sha1_lookup);

CREATE TABLE api_keys (
	id            text PRIMARY KEY,
	account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	kind          text NOT NULL,
	name          text NOT NULL,
	prefix        text NOT NULL,
	hash          bytea,
	sealed        bytea,
	scopes        jsonb,
	allowed_cidrs jsonb,
	created_by    text NOT NULL,
	created       timestamptz NOT NULL,
	expires_at    timestamptz,
	revoked_at    timestamptz,
	last_used_at  timestamptz,
	last_used_ip  text NOT NULL,
	revision      text NOT NULL,
	CONSTRAINT api_keys_hash_key UNIQUE (hash)
);
CREATE INDEX api_keys_account_id_idx ON api_keys (account_id, id);
-- At most one unrevoked account key per account: the one GET api_key reads
-- back. ReplaceAccountKey revokes the old one before storing the new one.
CREATE UNIQUE INDEX api_keys_live_account_key ON api_keys (account_id)
	WHERE kind = 'account' AND revoked_at IS NULL;

CREATE TABLE signing_keys (
	id         text PRIMARY KEY,
	algorithm  text NOT NULL,
	public     bytea,
	sealed     bytea,
	created    timestamptz NOT NULL,
	retired_at timestamptz
);

CREATE TABLE events (
	seq     bigserial PRIMARY KEY,
	kind    text NOT NULL,
	subject text NOT NULL,
	cutoff  timestamptz,
	expires timestamptz,
	created timestamptz NOT NULL
);
CREATE INDEX events_created_idx ON events (created);
