package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.AlertStore = (*DB)(nil)

func scanAlert(row pgx.Row) (*identity.Alert, error) {
	var a identity.Alert
	var doc string
	var expires *time.Time
	if err := row.Scan(&a.ID, &a.AccountID, &doc, &expires, &a.Created); err != nil {
		return nil, err
	}
	a.Doc, a.ExpiresAt, a.Created = []byte(doc), fromNull(expires), normTime(a.Created)
	return &a, nil
}

// CreateAlert stores a new alert of an existing account.
func (db *DB) CreateAlert(ctx context.Context, a *identity.Alert) (err error) {
	defer wrap(&err, "postgres: create alert")
	c := *a
	if c.ID == "" {
		c.ID = identity.NewID()
	}
	c.Created, c.ExpiresAt = db.clock(), normTime(c.ExpiresAt)
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The account row lock also serializes the count below with
		// concurrent creates, so MaxAlerts holds.
		if err := lockAccount(ctx, tx, c.AccountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM alerts WHERE account_id = $1`, c.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= identity.MaxAlerts {
			return identity.ErrTooManyAlerts
		}
		_, err := tx.Exec(ctx, `INSERT INTO alerts (id, account_id, document, expires, created) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, c.AccountID, string(c.Doc), nullTime(c.ExpiresAt), c.Created)
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
	defer wrap(&err, "postgres: alert %q", id)
	return scanAlert(db.pool.QueryRow(ctx, `SELECT id, account_id, document, expires, created FROM alerts
		WHERE account_id = $1 AND id = $2`, accountID, id))
}

// Alerts lists the account's alerts in id order.
func (db *DB) Alerts(ctx context.Context, accountID string, p identity.Page) (_ []*identity.Alert, _ string, err error) {
	defer wrap(&err, "postgres: alerts of %q", accountID)
	rows, err := db.pool.Query(ctx, `SELECT id, account_id, document, expires, created FROM alerts
		WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`, accountID, p.After, p.Limit()+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*identity.Alert, error) { return scanAlert(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, p.Limit(), func(a *identity.Alert) string { return a.ID })
	return items, next, nil
}

// DeleteAlert removes one alert exactly once.
func (db *DB) DeleteAlert(ctx context.Context, accountID, id string) (err error) {
	defer wrap(&err, "postgres: delete alert %q", id)
	tag, err := db.pool.Exec(ctx, `DELETE FROM alerts WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	return nil
}
