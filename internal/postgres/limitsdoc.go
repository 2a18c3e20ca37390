package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.LimitsDocStore = (*DB)(nil)

// LimitsDoc returns the account's limits document, nil when it has none.
func (db *DB) LimitsDoc(ctx context.Context, accountID string) (_ []byte, err error) {
	defer wrap(&err, "postgres: limits of %q", accountID)
	var doc *string
	err = db.pool.QueryRow(ctx, `SELECT l.document FROM accounts a
		LEFT JOIN limits_docs l ON l.account_id = a.id WHERE a.id = $1`, accountID).Scan(&doc)
	if err != nil || doc == nil {
		return nil, err
	}
	return []byte(*doc), nil
}

// SetLimitsDoc stores the account's limits document.
func (db *DB) SetLimitsDoc(ctx context.Context, accountID string, doc []byte) (err error) {
	defer wrap(&err, "postgres: set limits of %q", accountID)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO limits_docs (account_id, document, modified) VALUES ($1, $2, $3)
			ON CONFLICT (account_id) DO UPDATE SET document = excluded.document, modified = excluded.modified`,
			accountID, string(doc), db.clock())
		return err
	})
}
