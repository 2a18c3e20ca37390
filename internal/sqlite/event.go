package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Bootstrap creates the first account, its admin and its account key in
// one transaction. The check that no account exists runs inside the same
// BEGIN IMMEDIATE transaction, so two processes bootstrapping at once
// cannot both succeed.
func (db *DB) Bootstrap(ctx context.Context, a *identity.Account, u *identity.User, k *identity.APIKey) (err error) {
	defer wrap(&err, "sqlite.Bootstrap")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts LIMIT 1`)
		if err != nil {
			return err
		}
		if found {
			return identity.ErrBootstrapped
		}
		if err := db.createAccount(ctx, tx, a); err != nil {
			return err
		}
		u.AccountID, k.AccountID = a.ID, a.ID
		if err := db.createUser(ctx, tx, u); err != nil {
			return err
		}
		return db.createAPIKey(ctx, tx, k)
	})
}

const signingKeyCols = `id, algorithm, public, sealed, created, retired_at`

// scanSigningKey reads one row of signingKeyCols.
func scanSigningKey(row scanner) (*identity.SigningKey, error) {
	var (
		k                identity.SigningKey
		created, retired int64
	)
	err := row.Scan(&k.ID, &k.Algorithm, &k.Public, &k.Sealed, &created, &retired)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	k.Created, k.RetiredAt = fromMS(created), fromMS(retired)
	return &k, nil
}

// SigningKeys returns the key ring, newest first. Keys added within one
// millisecond are ordered by insertion, which rowid records.
func (db *DB) SigningKeys(ctx context.Context) (_ []*identity.SigningKey, err error) {
	defer wrap(&err, "sqlite.SigningKeys")
	rows, err := db.read.QueryContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created DESC, rowid DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ring []*identity.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, err
		}
		ring = append(ring, k)
	}
	return ring, rows.Err()
}

// AddSigningKey adds k to the ring; its Created is the store's clock.
func (db *DB) AddSigningKey(ctx context.Context, k *identity.SigningKey) (err error) {
	defer wrap(&err, "sqlite.AddSigningKey")
	return db.update(ctx, func(tx *sql.Tx) error {
		now := db.clock()
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, k.Public, k.Sealed, ms(now), ms(k.RetiredAt))
		if err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, now, identity.EventSigningKey, k.ID, time.Time{}, time.Time{}); err != nil {
			return err
		}
		k.Created, k.RetiredAt = now, norm(k.RetiredAt)
		return nil
	})
}

// UpdateSigningKey applies fn to the key inside a write transaction; ID and
// Created are kept whatever fn does.
func (db *DB) UpdateSigningKey(ctx context.Context, id string, fn func(*identity.SigningKey) error) (_ *identity.SigningKey, err error) {
	defer wrap(&err, "sqlite.UpdateSigningKey")
	var k *identity.SigningKey
	err = db.update(ctx, func(tx *sql.Tx) error {
		const q = `SELECT ` + signingKeyCols + ` FROM signing_keys WHERE id = ?`
		old, err := scanSigningKey(tx.QueryRowContext(ctx, q, id))
		if err != nil {
			return err
		}
		k, err = scanSigningKey(tx.QueryRowContext(ctx, q, id))
		if err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return fnError{err}
		}
		k.ID, k.Created = old.ID, old.Created
		k.RetiredAt = norm(k.RetiredAt)
		_, err = tx.ExecContext(ctx, `UPDATE signing_keys SET algorithm = ?, public = ?, sealed = ?, retired_at = ? WHERE id = ?`,
			k.Algorithm, k.Public, k.Sealed, ms(k.RetiredAt), id)
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, db.clock(), identity.EventSigningKey, id, time.Time{}, time.Time{})
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// RevokeToken records the revocation as an event and nothing else: the
// feed is where every process looks, and the event lives at least as long
// as the token could. Revoking twice appends a second, harmless event.
func (db *DB) RevokeToken(ctx context.Context, jti string, expires time.Time) (err error) {
	defer wrap(&err, "sqlite.RevokeToken")
	return db.update(ctx, func(tx *sql.Tx) error {
		return appendEvent(ctx, tx, db.clock(), identity.EventToken, jti, time.Time{}, expires)
	})
}

const qEvents = `SELECT seq, kind, subject, cutoff, expires, created FROM events WHERE seq > ? ORDER BY seq LIMIT ?`

// Events returns up to limit events after the sequence number after, in
// order; a limit of zero or less means identity.DefaultPageSize.
func (db *DB) Events(ctx context.Context, after int64, limit int) (_ []identity.Event, err error) {
	defer wrap(&err, "sqlite.Events")
	if limit <= 0 {
		limit = identity.DefaultPageSize
	}
	rows, err := db.query(ctx, qEvents, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []identity.Event
	for rows.Next() {
		var (
			ev                       identity.Event
			cutoff, expires, created int64
		)
		if err := rows.Scan(&ev.Seq, &ev.Kind, &ev.ID, &cutoff, &expires, &created); err != nil {
			return nil, err
		}
		ev.Cutoff, ev.Expires, ev.Created = fromMS(cutoff), fromMS(expires), fromMS(created)
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// PruneEvents deletes the events created before before.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "sqlite.PruneEvents")
	var n int64
	err = db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE created < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
