-- 0008_login_addresses: where logins succeeded, keyed by an opaque hash of
-- the identity and the client address that the login guard forms, so that
-- the guard's per-identity tier never slows the owner at an address they
-- signed in from before. Logged, unlike the failure counters: losing it in
-- a crash would slow owners down after it.

CREATE TABLE login_addresses (
	key  text PRIMARY KEY,
	seen timestamptz NOT NULL
);
CREATE INDEX login_addresses_seen_idx ON login_addresses (seen);
