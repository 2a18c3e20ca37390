package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/audian/audian/internal/identity"
)

var _ identity.AuditStore = (*DB)(nil)

// auditEvents appends the audit entry of ctx (identity.WithAudit), if any,
// for a write whose events are evs. appendEvents calls it, so that every
// write that reports a change records it in the same transaction.
func (db *DB) auditEvents(ctx context.Context, tx pgx.Tx, evs []identity.Event) error {
	e, ok := identity.AuditFrom(ctx)
	if !ok || len(evs) == 0 {
		return nil
	}
	if e.TargetKind == "" && e.TargetID == "" {
		kind, id := identity.AuditTarget(evs)
		e.TargetKind, e.TargetID = string(kind), id
	}
	return insertAudit(ctx, tx, db.clock(), e)
}

func insertAudit(ctx context.Context, tx pgx.Tx, now time.Time, e identity.AuditEntry) error {
	if e.Outcome == "" {
		e.Outcome = identity.AuditSuccess
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (created, account_id, actor_kind, actor, action, outcome,
		target_kind, target_id, reason, client_ip, user_agent, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		now, e.AccountID, e.ActorKind, e.Actor, e.Action, e.Outcome,
		e.TargetKind, e.TargetID, e.Reason, e.ClientIP, e.UserAgent, e.RequestID)
	return err
}

// AppendAudit appends e in a transaction of its own.
func (db *DB) AppendAudit(ctx context.Context, e identity.AuditEntry) (err error) {
	defer wrap(&err, "postgres: append audit")
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		return insertAudit(ctx, tx, db.clock(), e)
	})
}

// auditCols are the columns Audit reads.
const auditCols = `seq, created, account_id, actor_kind, actor, action, outcome, target_kind, target_id,
	reason, client_ip, user_agent, request_id`

// auditQuery returns the query and arguments of one page of Audit. Every
// form reads audit_log_account_idx in seq order from the cursor on and
// stops at the page. The unattributed entries are a second range of the
// same index, each range limited to the page and the two merged, rather
// than account_id IN ($1, the empty id), which sorts every entry of the account.
func auditQuery(accountID string, f identity.AuditFilter, p identity.Page) (string, []any, error) {
	args := []any{accountID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var cond string
	if p.After != "" {
		after, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil {
			return "", nil, identity.Invalid("start_key", "type", "Value is not a valid start key")
		}
		cond += ` AND seq > ` + arg(after)
	}
	if !f.From.IsZero() {
		cond += ` AND created >= ` + arg(normTime(f.From))
	}
	if !f.To.IsZero() {
		cond += ` AND created <= ` + arg(normTime(f.To))
	}
	if f.Actor != "" {
		cond += ` AND actor = ` + arg(f.Actor)
	}
	if f.Action != "" {
		cond += ` AND action = ` + arg(f.Action)
	}
	limit := arg(p.Limit() + 1)
	q := `SELECT ` + auditCols + ` FROM audit_log WHERE account_id = $1` + cond + ` ORDER BY seq LIMIT ` + limit
	if f.Unattributed {
		q = `(` + q + `) UNION ALL (SELECT ` + auditCols + ` FROM audit_log WHERE account_id = ''` + cond +
			` ORDER BY seq LIMIT ` + limit + `) ORDER BY seq LIMIT ` + limit
	}
	return q, args, nil
}

// Audit lists accountID's entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, accountID string, f identity.AuditFilter, p identity.Page) (_ []identity.AuditEntry, _ string, err error) {
	defer wrap(&err, "postgres: audit of %q", accountID)
	q, args, err := auditQuery(accountID, f, p)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (identity.AuditEntry, error) {
		var e identity.AuditEntry
		err := row.Scan(&e.Seq, &e.Time, &e.AccountID, &e.ActorKind, &e.Actor, &e.Action, &e.Outcome,
			&e.TargetKind, &e.TargetID, &e.Reason, &e.ClientIP, &e.UserAgent, &e.RequestID)
		e.Time = normTime(e.Time)
		return e, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, p.Limit(), func(e identity.AuditEntry) string { return strconv.FormatInt(e.Seq, 10) })
	return items, next, nil
}

// auditMonthsAhead is how many months after the current one have their
// audit partition ready, so that inserts never wait for one to be made.
const auditMonthsAhead = 3

// auditPartition is the name of the partition of audit_log holding month.
func auditPartition(month time.Time) string { return "audit_log_" + month.Format("200601") }

// monthOf returns the first instant of t's month, in UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// ensureAuditPartitions creates the partitions of audit_log from the month
// of now to auditMonthsAhead months later, those not already there. Open
// and every PruneAudit call it. Another process creating the same
// partition at once is no error; nor is a month already holding rows in
// the default partition (a clock once far ahead): that month stays there.
func (db *DB) ensureAuditPartitions(ctx context.Context, now time.Time) error {
	first := monthOf(now)
	for i := 0; i <= auditMonthsAhead; i++ {
		from := first.AddDate(0, i, 0)
		to := from.AddDate(0, 1, 0)
		_, err := db.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+pgx.Identifier{auditPartition(from)}.Sanitize()+
			` PARTITION OF audit_log FOR VALUES FROM ('`+from.Format(time.RFC3339)+`') TO ('`+to.Format(time.RFC3339)+`')`)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "23505" || pgErr.Code == "23514") {
			continue // duplicate_table, a concurrent create, or rows in the default partition
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PruneAudit drops the monthly partitions that end at or before before,
// whole, and deletes the entries before before from the partitions that
// remain (the month of before, and the default partition). The count of a
// dropped partition is PostgreSQL's estimate of its rows (pg_class
// reltuples, kept by autovacuum), exact only for one never analyzed:
// counting a month of entries exactly would read it all.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune audit")
	before = normTime(before)
	if err := db.ensureAuditPartitions(ctx, db.clock()); err != nil {
		return 0, err
	}
	rows, err := db.pool.Query(ctx, `SELECT c.relname, c.reltuples::bigint
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'audit_log'::regclass`)
	if err != nil {
		return 0, err
	}
	type part struct {
		name string
		rows int64
	}
	parts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (part, error) {
		var p part
		return p, row.Scan(&p.name, &p.rows)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range parts {
		month, err := time.Parse("200601", strings.TrimPrefix(p.name, "audit_log_"))
		if err != nil || !strings.HasPrefix(p.name, "audit_log_") || month.AddDate(0, 1, 0).After(before) {
			continue // the default partition, or a month that ends after before
		}
		if p.rows < 0 {
			// Never analyzed, so young or small: count it.
			if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{p.name}.Sanitize()).Scan(&p.rows); err != nil {
				return n, err
			}
		}
		// DROP TABLE on a partition detaches it too; IF EXISTS lets two
		// processes prune at once.
		if _, err := db.pool.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{p.name}.Sanitize()); err != nil {
			return n, err
		}
		n += int(p.rows)
	}
	// What is left before before lives in one month and the default
	// partition; partition pruning keeps the delete to those.
	tag, err := db.pool.Exec(ctx, `DELETE FROM audit_log WHERE created < $1`, before)
	if err != nil {
		return n, err
	}
	return n + int(tag.RowsAffected()), nil
}
