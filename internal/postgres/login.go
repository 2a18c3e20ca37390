package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.LoginStore = (*DB)(nil)

// maxNameMatches bounds AccountsByName: each match costs the login a user
// lookup, and only a deployment without name uniqueness has more than one.
const maxNameMatches = 100

// AccountsByName returns the accounts whose normalized name equals that of
// name, through the name_norm index.
func (db *DB) AccountsByName(ctx context.Context, name string) (_ []*identity.Account, err error) {
	defer wrap(&err, "postgres: accounts by name")
	norm := identity.NormalizeName(name)
	if norm == "" {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, qAccountsByName, norm, maxNameMatches)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.Account, error) { return scanAccount(row) })
}

// AccountByRealm returns the account whose lower-cased realm equals the
// lower-cased realm.
func (db *DB) AccountByRealm(ctx context.Context, realm string) (_ *identity.Account, err error) {
	defer wrap(&err, "postgres: account by realm")
	realm = strings.ToLower(realm)
	if realm == "" {
		return nil, identity.ErrNotFound
	}
	return scanAccount(db.pool.QueryRow(ctx, qAccountByRealm, realm))
}

// CreatePasswordReset stores r in place of the user's earlier resets. The
// user's row is locked first, so that two concurrent requests for one user
// cannot both leave a reset behind.
func (db *DB) CreatePasswordReset(ctx context.Context, r *identity.PasswordReset) (err error) {
	defer wrap(&err, "postgres: create password reset for user %q", r.UserID)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE account_id = $1 AND id = $2 FOR UPDATE`,
			r.AccountID, r.UserID).Scan(&one); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE user_id = $1`, r.UserID); err != nil {
			return err
		}
		now := db.clock()
		expires := normTime(r.ExpiresAt)
		if _, err := tx.Exec(ctx, `INSERT INTO password_resets (hash, account_id, user_id, created, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, r.Hash, r.AccountID, r.UserID, now, expires); err != nil {
			return err
		}
		r.Created, r.ExpiresAt = now, expires
		return nil
	})
}

// ConsumePasswordReset deletes the reset and returns the deleted row. Of
// concurrent DELETEs of one row, only the first to commit removes it; the
// others wait for it and then find nothing.
func (db *DB) ConsumePasswordReset(ctx context.Context, hash []byte, now time.Time) (_ *identity.PasswordReset, err error) {
	defer wrap(&err, "postgres: consume password reset")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	r := identity.PasswordReset{Hash: append([]byte(nil), hash...)}
	err = db.pool.QueryRow(ctx, `DELETE FROM password_resets WHERE hash = $1
		RETURNING account_id, user_id, created, expires_at`, hash).Scan(&r.AccountID, &r.UserID, &r.Created, &r.ExpiresAt)
	if err != nil {
		return nil, err
	}
	r.Created, r.ExpiresAt = normTime(r.Created), normTime(r.ExpiresAt)
	// The expired row is deleted all the same: a stale token is never worth
	// keeping.
	if !now.Before(r.ExpiresAt) {
		return nil, identity.ErrNotFound
	}
	return &r, nil
}
