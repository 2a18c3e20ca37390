package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// RememberLoginAddress records a successful login for key.
func (db *DB) RememberLoginAddress(ctx context.Context, key string) (err error) {
	defer wrap(&err, "sqlite.RememberLoginAddress")
	// Every successful login writes this marker: group commit lets
	// concurrent logins share the transaction and its fsync.
	return db.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO login_addresses (key, seen) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET seen = MAX(login_addresses.seen, excluded.seen)`, key, ms(db.clock()))
		return err
	})
}

// KnownLoginAddress reports whether key was remembered at or after since.
func (db *DB) KnownLoginAddress(ctx context.Context, key string, since time.Time) (_ bool, err error) {
	defer wrap(&err, "sqlite.KnownLoginAddress")
	var n int
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM login_addresses WHERE key = ? AND seen >= ?`, key, ms(since)).Scan(&n)
	return n > 0, err
}

// PruneLoginAddresses deletes markers last refreshed before before.
func (db *DB) PruneLoginAddresses(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "sqlite.PruneLoginAddresses")
	var n int64
	err = inTx(ctx, db.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_addresses WHERE seen < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
