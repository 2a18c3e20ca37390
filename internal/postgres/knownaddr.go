package postgres

import (
	"context"
	"time"
)

// RememberLoginAddress records a successful login for key.
func (db *DB) RememberLoginAddress(ctx context.Context, key string) (err error) {
	defer wrap(&err, "postgres: remember login address")
	_, err = db.pool.Exec(ctx, `INSERT INTO login_addresses AS a (key, seen) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET seen = GREATEST(a.seen, excluded.seen)`, key, db.clock())
	return err
}

// KnownLoginAddress reports whether key was remembered at or after since.
func (db *DB) KnownLoginAddress(ctx context.Context, key string, since time.Time) (_ bool, err error) {
	defer wrap(&err, "postgres: known login address")
	var known bool
	err = db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM login_addresses WHERE key = $1 AND seen >= $2)`, key, normTime(since)).Scan(&known)
	return known, err
}

// PruneLoginAddresses deletes markers last refreshed before before.
func (db *DB) PruneLoginAddresses(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune login addresses")
	tag, err := db.pool.Exec(ctx, `DELETE FROM login_addresses WHERE seen < $1`, normTime(before))
	return int(tag.RowsAffected()), err
}
