-- 0004_audit: the append-only audit log. Entries outlive the accounts,
-- users and keys they name (no foreign keys), and only retention pruning
-- deletes them; the trigger refuses any UPDATE, whatever the code does.

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    created     INTEGER NOT NULL,
    account_id  TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    request_id  TEXT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, seq);
CREATE INDEX audit_log_created ON audit_log (created);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
