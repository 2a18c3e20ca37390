-- 0005_limits: per-account rate limit overrides, token buckets and failed
-- authentication counters. Buckets and counters are keyed by opaque
-- strings the limiter forms (hashes, never a credential).

CREATE TABLE rate_limits (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    burst      INTEGER NOT NULL,
    rate       REAL NOT NULL,
    cost       INTEGER NOT NULL
);

CREATE TABLE rate_buckets (
    key     TEXT PRIMARY KEY,
    level   REAL NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX rate_buckets_updated ON rate_buckets (updated);

CREATE TABLE auth_failures (
    key   TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last  INTEGER NOT NULL
);
CREATE INDEX auth_failures_last ON auth_failures (last);
