-- 0004_audit: the append-only audit log. Entries outlive the accounts,
-- users and keys they name (no foreign keys), and only retention pruning
-- deletes them; the trigger refuses any UPDATE, whatever the code does.

CREATE TABLE audit_log (
	seq         bigserial PRIMARY KEY,
	created     timestamptz NOT NULL,
	account_id  text NOT NULL,
	actor_kind  text NOT NULL,
	actor       text NOT NULL,
	action      text NOT NULL,
	outcome     text NOT NULL,
	target_kind text NOT NULL,
	target_id   text NOT NULL,
	reason      text NOT NULL,
	client_ip   text NOT NULL,
	user_agent  text NOT NULL,
	request_id  text NOT NULL
);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, seq);
CREATE INDEX audit_log_created_idx ON audit_log (created);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
