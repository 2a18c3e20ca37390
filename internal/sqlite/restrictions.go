package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.TokenRestrictionStore = (*DB)(nil)

const qTokenRestrictions = `SELECT r.document FROM accounts a
	LEFT JOIN token_restrictions r ON r.account_id = a.id WHERE a.id = ?`

// TokenRestrictions returns the account's restrictions document, nil when
// it has none.
func (db *DB) TokenRestrictions(ctx context.Context, accountID string) (_ []byte, err error) {
	defer wrap(&err, "sqlite.TokenRestrictions")
	var doc sql.NullString
	err = db.queryRow(ctx, qTokenRestrictions, accountID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil || !doc.Valid {
		return nil, err
	}
	return []byte(doc.String), nil
}

// SetTokenRestrictions stores or removes the account's restrictions with
// an account event.
func (db *DB) SetTokenRestrictions(ctx context.Context, accountID string, doc []byte) (err error) {
	defer wrap(&err, "sqlite.SetTokenRestrictions")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, accountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		now := db.clock()
		if doc == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM token_restrictions WHERE account_id = ?`, accountID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO token_restrictions (account_id, document, modified) VALUES (?, ?, ?)
				ON CONFLICT (account_id) DO UPDATE SET document = excluded.document, modified = excluded.modified`,
				accountID, string(doc), ms(now))
		}
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, now, identity.EventAccount, accountID, time.Time{}, time.Time{})
	})
}
