-- 0005_limits: per-account rate limit overrides, the token buckets every
-- node shares, and failed authentication counters. Buckets and counters
-- are keyed by opaque strings the limiter forms (hashes, never a
-- credential). Both tables are UNLOGGED: they are rewritten constantly,
-- and losing them in a crash only refills buckets and forgets counters.

CREATE TABLE rate_limits (
	account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	burst      integer NOT NULL,
	rate       double precision NOT NULL,
	cost       integer NOT NULL
);

CREATE UNLOGGED TABLE rate_buckets (
	key        text PRIMARY KEY,
	level      double precision NOT NULL,
	updated    timestamptz NOT NULL,
	last_grant integer NOT NULL DEFAULT 0
);
CREATE INDEX rate_buckets_updated_idx ON rate_buckets (updated);

CREATE UNLOGGED TABLE auth_failures (
	key   text PRIMARY KEY,
	count integer NOT NULL,
	last  timestamptz NOT NULL
);
CREATE INDEX auth_failures_last_idx ON auth_failures (last);
