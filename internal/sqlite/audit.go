package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.AuditStore = (*DB)(nil)

// auditedTx runs fn in a write transaction and, when ctx carries an audit
// entry (identity.WithAudit) and fn appended change-feed events, appends the
// entry in the same transaction. The single write connection makes "the
// events after the highest seq seen before fn" exactly this transaction's
// events; the two extra queries run only for audited writes.
func (db *DB) auditedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	e, audited := identity.AuditFrom(ctx)
	if !audited {
		return inTx(ctx, db.write, fn)
	}
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		var before int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&before); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT kind, subject, cutoff FROM events WHERE seq > ? ORDER BY seq`, before)
		if err != nil {
			return err
		}
		var evs []identity.Event
		for rows.Next() {
			var ev identity.Event
			var cutoff int64
			if err := rows.Scan(&ev.Kind, &ev.ID, &cutoff); err != nil {
				rows.Close()
				return err
			}
			ev.Cutoff = fromMS(cutoff)
			evs = append(evs, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		if e.TargetKind == "" && e.TargetID == "" {
			kind, id := identity.AuditTarget(evs)
			e.TargetKind, e.TargetID = string(kind), id
		}
		return insertAudit(ctx, tx, db.clock(), e)
	})
}

func insertAudit(ctx context.Context, tx *sql.Tx, now time.Time, e identity.AuditEntry) error {
	if e.Outcome == "" {
		e.Outcome = identity.AuditSuccess
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (created, account_id, actor_kind, actor, action, outcome,
		target_kind, target_id, reason, client_ip, user_agent, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ms(now), e.AccountID, e.ActorKind, e.Actor, e.Action, e.Outcome,
		e.TargetKind, e.TargetID, e.Reason, e.ClientIP, e.UserAgent, e.RequestID)
	return err
}

// AppendAudit appends e in a transaction of its own.
func (db *DB) AppendAudit(ctx context.Context, e identity.AuditEntry) (err error) {
	defer wrap(&err, "sqlite.AppendAudit")
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, db.clock(), e)
	})
}

// Audit lists accountID's entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, accountID string, f identity.AuditFilter, p identity.Page) (_ []identity.AuditEntry, _ string, err error) {
	defer wrap(&err, "sqlite.Audit")
	q := `SELECT seq, created, account_id, actor_kind, actor, action, outcome, target_kind, target_id,
		reason, client_ip, user_agent, request_id FROM audit_log WHERE `
	args := []any{accountID}
	if f.Unattributed {
		q += `account_id IN (?, '')`
	} else {
		q += `account_id = ?`
	}
	if p.After != "" {
		after, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil {
			return nil, "", identity.Invalid("start_key", "type", "Value is not a valid start key")
		}
		q += ` AND seq > ?`
		args = append(args, after)
	}
	if !f.From.IsZero() {
		q += ` AND created >= ?`
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND created <= ?`
		args = append(args, ms(f.To))
	}
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, p.Limit()+1)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []identity.AuditEntry
	for rows.Next() {
		var e identity.AuditEntry
		var created int64
		if err := rows.Scan(&e.Seq, &created, &e.AccountID, &e.ActorKind, &e.Actor, &e.Action, &e.Outcome,
			&e.TargetKind, &e.TargetID, &e.Reason, &e.ClientIP, &e.UserAgent, &e.RequestID); err != nil {
			return nil, "", err
		}
		e.Time = fromMS(created)
		items = append(items, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(e identity.AuditEntry) string { return strconv.FormatInt(e.Seq, 10) })
	return items, next, nil
}

// PruneAudit deletes the entries recorded before before.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "sqlite.PruneAudit")
	var n int64
	err = inTx(ctx, db.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE created < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
