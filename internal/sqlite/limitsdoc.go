package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/audian/audian/internal/identity"
)

var _ identity.LimitsDocStore = (*DB)(nil)

// LimitsDoc returns the account's limits document, nil when it has none.
func (db *DB) LimitsDoc(ctx context.Context, accountID string) (_ []byte, err error) {
	defer wrap(&err, "sqlite.LimitsDoc")
	var doc sql.NullString
	err = db.read.QueryRowContext(ctx, `SELECT l.document FROM accounts a
		LEFT JOIN limits_docs l ON l.account_id = a.id WHERE a.id = ?`, accountID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil || !doc.Valid {
		return nil, err
	}
	return []byte(doc.String), nil
}

// SetLimitsDoc stores the account's limits document.
func (db *DB) SetLimitsDoc(ctx context.Context, accountID string, doc []byte) (err error) {
	defer wrap(&err, "sqlite.SetLimitsDoc")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, accountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO limits_docs (account_id, document, modified) VALUES (?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET document = excluded.document, modified = excluded.modified`,
			accountID, string(doc), ms(db.clock()))
		return err
	})
}
