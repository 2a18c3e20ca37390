package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/audian/audian/internal/identity"
)

var _ identity.AlertStore = (*DB)(nil)

func scanAlert(row scanner) (*identity.Alert, error) {
	var a identity.Alert
	var doc string
	var expires, created int64
	if err := row.Scan(&a.ID, &a.AccountID, &doc, &expires, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, identity.ErrNotFound
		}
		return nil, err
	}
	a.Doc, a.ExpiresAt, a.Created = []byte(doc), fromMS(expires), fromMS(created)
	return &a, nil
}

// CreateAlert stores a new alert of an existing account.
func (db *DB) CreateAlert(ctx context.Context, a *identity.Alert) (err error) {
	defer wrap(&err, "sqlite.CreateAlert")
	c := *a
	if c.ID == "" {
		c.ID = identity.NewID()
	}
	c.Created, c.ExpiresAt = db.clock(), norm(c.ExpiresAt)
	err = db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, c.AccountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE account_id = ?`, c.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= identity.MaxAlerts {
			return identity.ErrTooManyAlerts
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, account_id, document, expires, created) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.AccountID, string(c.Doc), ms(c.ExpiresAt), ms(c.Created))
		return err
	})
	if err != nil {
		return err
	}
	*a = c
	return nil
}

// Alert returns one alert of the account.
func (db *DB) Alert(ctx context.Context, accountID, id string) (_ *identity.Alert, err error) {
	defer wrap(&err, "sqlite.Alert")
	return scanAlert(db.read.QueryRowContext(ctx, `SELECT id, account_id, document, expires, created FROM alerts
		WHERE account_id = ? AND id = ?`, accountID, id))
}

// Alerts lists the account's alerts in id order.
func (db *DB) Alerts(ctx context.Context, accountID string, p identity.Page) (_ []*identity.Alert, _ string, err error) {
	defer wrap(&err, "sqlite.Alerts")
	after, limit := pageArgs(p)
	rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, document, expires, created FROM alerts
		WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?`, accountID, after, limit)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*identity.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(out, p, func(a *identity.Alert) string { return a.ID })
	return items, next, nil
}

// DeleteAlert removes one alert exactly once.
func (db *DB) DeleteAlert(ctx context.Context, accountID, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteAlert")
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return identity.ErrNotFound
		}
		return nil
	})
}
