package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.TokenRestrictionStore = (*DB)(nil)

const qTokenRestrictions = `SELECT r.document FROM accounts a
	LEFT JOIN token_restrictions r ON r.account_id = a.id WHERE a.id = $1`

// TokenRestrictions returns the account's restrictions document, nil when
// it has none.
func (db *DB) TokenRestrictions(ctx context.Context, accountID string) (_ []byte, err error) {
	defer wrap(&err, "postgres: token restrictions of %q", accountID)
	var doc *string
	err = db.pool.QueryRow(ctx, qTokenRestrictions, accountID).Scan(&doc)
	if err != nil || doc == nil {
		return nil, err
	}
	return []byte(*doc), nil
}

// SetTokenRestrictions stores or removes the account's restrictions with
// an account event.
func (db *DB) SetTokenRestrictions(ctx context.Context, accountID string, doc []byte) (err error) {
	defer wrap(&err, "postgres: set token restrictions of %q", accountID)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The account row lock keeps a concurrent DeleteAccount from
		// leaving restrictions behind (and makes an unknown id NotFound).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&one); err != nil {
			return err
		}
		var err error
		if doc == nil {
			_, err = tx.Exec(ctx, `DELETE FROM token_restrictions WHERE account_id = $1`, accountID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO token_restrictions (account_id, document, modified) VALUES ($1, $2, $3)
				ON CONFLICT (account_id) DO UPDATE SET document = excluded.document, modified = excluded.modified`,
				accountID, string(doc), db.clock())
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAccount, ID: accountID})
	})
}
