-- 0008_login_addresses: where logins succeeded, keyed by an opaque hash of
-- the identity and the client address that the login guard forms, so that
-- the guard's per-identity tier never slows the owner at an address they
-- signed in from before.

CREATE TABLE login_addresses (
    key  TEXT PRIMARY KEY,
    seen INTEGER NOT NULL
);
CREATE INDEX login_addresses_seen ON login_addresses (seen);
