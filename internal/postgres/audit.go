package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

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

// Audit lists accountID's entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, accountID string, f identity.AuditFilter, p identity.Page) (_ []identity.AuditEntry, _ string, err error) {
	defer wrap(&err, "postgres: audit of %q", accountID)
	q := `SELECT seq, created, account_id, actor_kind, actor, action, outcome, target_kind, target_id,
		reason, client_ip, user_agent, request_id FROM audit_log WHERE `
	args := []any{accountID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Unattributed {
		q += `account_id IN ($1, '')`
	} else {
		q += `account_id = $1`
	}
	if p.After != "" {
		after, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil {
			return nil, "", identity.Invalid("start_key", "type", "Value is not a valid start key")
		}
		q += ` AND seq > ` + arg(after)
	}
	if !f.From.IsZero() {
		q += ` AND created >= ` + arg(normTime(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND created <= ` + arg(normTime(f.To))
	}
	if f.Actor != "" {
		q += ` AND actor = ` + arg(f.Actor)
	}
	if f.Action != "" {
		q += ` AND action = ` + arg(f.Action)
	}
	q += ` ORDER BY seq LIMIT ` + arg(p.Limit()+1)
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

// PruneAudit deletes the entries recorded before before.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune audit")
	tag, err := db.pool.Exec(ctx, `DELETE FROM audit_log WHERE created < $1`, normTime(before))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
