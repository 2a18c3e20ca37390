package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.LoginStore = (*DB)(nil)

// maxNameMatches bounds AccountsByName: each match costs the login a user
// lookup, and only a deployment without name uniqueness has more than one.
const maxNameMatches = 100

// AccountsByName returns the accounts whose normalized name equals that of
// name, through the name_norm index.
func (db *DB) AccountsByName(ctx context.Context, name string) (_ []*identity.Account, err error) {
	defer wrap(&err, "sqlite.AccountsByName")
	norm := identity.NormalizeName(name)
	if norm == "" {
		return nil, nil
	}
	items, _, err := db.accounts(ctx, identity.Page{Size: maxNameMatches}, qAccountsByName, norm, maxNameMatches+1)
	return items, err
}

// AccountByRealm returns the account whose lower-cased realm equals the
// lower-cased realm.
func (db *DB) AccountByRealm(ctx context.Context, realm string) (_ *identity.Account, err error) {
	defer wrap(&err, "sqlite.AccountByRealm")
	realm = strings.ToLower(realm)
	if realm == "" {
		return nil, identity.ErrNotFound
	}
	return scanAccount(db.queryRow(ctx, qAccountByRealm, realm))
}

// CreatePasswordReset stores r in place of the user's earlier resets.
func (db *DB) CreatePasswordReset(ctx context.Context, r *identity.PasswordReset) (err error) {
	defer wrap(&err, "sqlite.CreatePasswordReset")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE account_id = ? AND id = ?`, r.AccountID, r.UserID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = ?`, r.UserID); err != nil {
			return err
		}
		now := db.clock()
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (hash, account_id, user_id, created, expires_at)
			VALUES (?, ?, ?, ?, ?)`, r.Hash, r.AccountID, r.UserID, ms(now), ms(r.ExpiresAt)); err != nil {
			return err
		}
		r.Created, r.ExpiresAt = now, norm(r.ExpiresAt)
		return nil
	})
}

// ConsumePasswordReset deletes the reset and returns the deleted row. The
// single write connection serialises consumers, and only the one whose
// DELETE found the row gets it back.
func (db *DB) ConsumePasswordReset(ctx context.Context, hash []byte, now time.Time) (_ *identity.PasswordReset, err error) {
	defer wrap(&err, "sqlite.ConsumePasswordReset")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	var r identity.PasswordReset
	err = db.update(ctx, func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx, `DELETE FROM password_resets WHERE hash = ?
			RETURNING account_id, user_id, created, expires_at`, hash).Scan(&r.AccountID, &r.UserID, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.ErrNotFound
		}
		if err != nil {
			return err
		}
		r.Hash = append([]byte(nil), hash...)
		r.Created, r.ExpiresAt = fromMS(created), fromMS(expires)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The expired row is gone with the transaction above: a used or stale
	// token is never worth keeping.
	if !now.Before(r.ExpiresAt) {
		return nil, identity.ErrNotFound
	}
	return &r, nil
}
