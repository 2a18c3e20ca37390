-- 0010_audit_partitions: the audit log partitioned by month of created,
-- so that retention drops a month whole (DROP TABLE: no dead rows, no
-- vacuum, no index bloat) instead of deleting row by row, and a query
-- bounded in time reads only its months. Partitions are named
-- audit_log_YYYYMM; the store creates them a few months ahead
-- (DB.ensureAuditPartitions). The default partition only catches rows
-- outside every month created, such as those of a clock far off.
--
-- The primary key must contain the partition key: (seq, created). seq
-- keeps its sequence, so numbering goes on where it was.

ALTER SEQUENCE audit_log_seq_seq OWNED BY NONE;
ALTER TABLE audit_log RENAME TO audit_log_old;
ALTER TABLE audit_log_old RENAME CONSTRAINT audit_log_pkey TO audit_log_old_pkey;
ALTER INDEX audit_log_account_idx RENAME TO audit_log_old_account_idx;
ALTER INDEX audit_log_created_idx RENAME TO audit_log_old_created_idx;
DROP TRIGGER audit_log_append_only ON audit_log_old;

CREATE TABLE audit_log (
	seq         bigint NOT NULL DEFAULT nextval('audit_log_seq_seq'),
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
	request_id  text NOT NULL,
	PRIMARY KEY (seq, created)
) PARTITION BY RANGE (created);
ALTER SEQUENCE audit_log_seq_seq OWNED BY audit_log.seq;
-- No index on created: partitions do what it did (retention, time
-- bounds), and without it no plan can prefer a time range sorted by seq
-- over the account's own range already in seq order.
CREATE INDEX audit_log_account_idx ON audit_log (account_id, seq);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

DO $$
DECLARE
	m    timestamptz := date_trunc('month', coalesce((SELECT min(created) FROM audit_log_old), now()), 'UTC');
	stop timestamptz := date_trunc('month', now(), 'UTC') + interval '3 months';
BEGIN
	WHILE m < stop LOOP
		EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
			'audit_log_' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
		m := (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
	END LOOP;
END $$;

INSERT INTO audit_log SELECT * FROM audit_log_old;
DROP TABLE audit_log_old;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
