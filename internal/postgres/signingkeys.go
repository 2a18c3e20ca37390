package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

const signingKeyCols = `id, algorithm, public, sealed, created, retired_at`

func scanSigningKey(row pgx.Row) (*identity.SigningKey, error) {
	var k identity.SigningKey
	var retired *time.Time
	if err := row.Scan(&k.ID, &k.Algorithm, &k.Public, &k.Sealed, &k.Created, &retired); err != nil {
		return nil, err
	}
	k.Created, k.RetiredAt = normTime(k.Created), fromNull(retired)
	return &k, nil
}

// SigningKeys returns the whole key ring, newest first.
func (db *DB) SigningKeys(ctx context.Context) (_ []*identity.SigningKey, err error) {
	defer wrap(&err, "postgres: signing keys")
	rows, err := db.pool.Query(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.SigningKey, error) { return scanSigningKey(row) })
}

// AddSigningKey stores k with Created from the Store's clock; a kid already
// stored is ErrConflict.
func (db *DB) AddSigningKey(ctx context.Context, k *identity.SigningKey) (err error) {
	defer wrap(&err, "postgres: add signing key")
	c := *k
	if c.ID == "" {
		c.ID = identity.NewID()
	}
	c.Created, c.RetiredAt = db.clock(), normTime(c.RetiredAt)
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, algorithm, public, sealed, created, retired_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Algorithm, c.Public, c.Sealed, c.Created, nullTime(c.RetiredAt)); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventSigningKey, ID: c.ID})
	})
	if err != nil {
		return err
	}
	*k = c
	return nil
}

// UpdateSigningKey applies fn to the key under a row lock.
func (db *DB) UpdateSigningKey(ctx context.Context, id string, fn func(*identity.SigningKey) error) (_ *identity.SigningKey, err error) {
	var k *identity.SigningKey
	err = db.update(ctx, func(tx pgx.Tx) error {
		old, err := scanSigningKey(tx.QueryRow(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		created := old.Created
		if err := fn(old); err != nil {
			return fnError{err}
		}
		k = old
		if k.ID != id {
			return errIDChanged
		}
		k.Created, k.RetiredAt = created, normTime(k.RetiredAt)
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET algorithm = $2, public = $3, sealed = $4, retired_at = $5
			WHERE id = $1`, id, k.Algorithm, k.Public, k.Sealed, nullTime(k.RetiredAt)); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventSigningKey, ID: id})
	}, "postgres: update signing key %q", id)
	if err != nil {
		return nil, err
	}
	return k, nil
}
