-- 0010_audit_partitions: PostgreSQL partitions its audit log by month at
-- this number. SQLite has no partitions: retention deletes in small
-- batches through audit_log_created (PruneAudit), and the schema stays as
-- it is. The number is kept so that both backends count alike.
SELECT 1;
