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

const insertAuditSQL = `INSERT INTO audit_log (created, account_id, actor_kind, actor, action, outcome,
	target_kind, target_id, reason, client_ip, user_agent, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// auditArgs are the arguments of insertAuditSQL for e, recorded at now.
func auditArgs(now time.Time, e identity.AuditEntry) []any {
	if e.Outcome == "" {
		e.Outcome = identity.AuditSuccess
	}
	return []any{ms(now), e.AccountID, e.ActorKind, e.Actor, e.Action, e.Outcome,
		e.TargetKind, e.TargetID, e.Reason, e.ClientIP, e.UserAgent, e.RequestID}
}

func insertAudit(ctx context.Context, tx *sql.Tx, now time.Time, e identity.AuditEntry) error {
	_, err := tx.ExecContext(ctx, insertAuditSQL, auditArgs(now, e)...)
	return err
}

// auditCols are the columns Audit reads.
const auditCols = `seq, created, account_id, actor_kind, actor, action, outcome, target_kind, target_id,
	reason, client_ip, user_agent, request_id`

// auditQuery returns the query and arguments of one page of Audit. Every
// form reads audit_log_account in seq order from the cursor on and stops
// at the page. The unattributed entries are a second range of the same
// index, merged in seq order (UNION ALL), rather than account_id IN (?,
// the empty id), which SQLite answers by sorting every entry of the account.
func auditQuery(accountID string, f identity.AuditFilter, p identity.Page) (string, []any, error) {
	var cond string
	var args []any
	if p.After != "" {
		after, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil {
			return "", nil, identity.Invalid("start_key", "type", "Value is not a valid start key")
		}
		cond += ` AND seq > ?`
		args = append(args, after)
	}
	if !f.From.IsZero() {
		cond += ` AND created >= ?`
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		cond += ` AND created <= ?`
		args = append(args, ms(f.To))
	}
	if f.Actor != "" {
		cond += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		cond += ` AND action = ?`
		args = append(args, f.Action)
	}
	q := `SELECT ` + auditCols + ` FROM audit_log WHERE account_id = ?` + cond
	all := append([]any{accountID}, args...)
	if f.Unattributed {
		q += ` UNION ALL SELECT ` + auditCols + ` FROM audit_log WHERE account_id = ''` + cond
		all = append(all, args...)
	}
	return q + ` ORDER BY seq LIMIT ?`, append(all, p.Limit()+1), nil
}

// Audit lists accountID's entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, accountID string, f identity.AuditFilter, p identity.Page) (_ []identity.AuditEntry, _ string, err error) {
	defer wrap(&err, "sqlite.Audit")
	q, args, err := auditQuery(accountID, f, p)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.query(ctx, q, args...)
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

// pruneBatch is how many audit entries one retention transaction deletes.
// Each batch holds the only write connection for a few milliseconds, so
// logins and other writes interleave with a prune of millions of rows
// instead of waiting for it.
const pruneBatch = 2000

// PruneAudit deletes the entries recorded before before, oldest first, in
// transactions of pruneBatch entries found through audit_log_created.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "sqlite.PruneAudit")
	total := 0
	for {
		var n int64
		err := inTx(ctx, db.write, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE seq IN
				(SELECT seq FROM audit_log WHERE created < ? ORDER BY created LIMIT ?)`, ms(before), pruneBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}
