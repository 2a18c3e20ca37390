package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.LimitStore = (*DB)(nil)

// RateLimits returns every per-account override.
func (db *DB) RateLimits(ctx context.Context) (_ map[string]identity.RateLimit, err error) {
	defer wrap(&err, "sqlite.RateLimits")
	rows, err := db.read.QueryContext(ctx, `SELECT account_id, burst, rate, cost FROM rate_limits`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]identity.RateLimit{}
	for rows.Next() {
		var id string
		var l identity.RateLimit
		if err := rows.Scan(&id, &l.Burst, &l.Rate, &l.Cost); err != nil {
			return nil, err
		}
		out[id] = l
	}
	return out, rows.Err()
}

// RateLimit returns accountID's override.
func (db *DB) RateLimit(ctx context.Context, accountID string) (_ identity.RateLimit, err error) {
	defer wrap(&err, "sqlite.RateLimit")
	var l identity.RateLimit
	err = db.read.QueryRowContext(ctx, `SELECT burst, rate, cost FROM rate_limits WHERE account_id = ?`, accountID).
		Scan(&l.Burst, &l.Rate, &l.Cost)
	if errors.Is(err, sql.ErrNoRows) {
		return l, identity.ErrNotFound
	}
	return l, err
}

// SetRateLimit stores or removes accountID's override with its event.
func (db *DB) SetRateLimit(ctx context.Context, accountID string, l *identity.RateLimit) (err error) {
	defer wrap(&err, "sqlite.SetRateLimit")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, accountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		if l == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM rate_limits WHERE account_id = ?`, accountID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO rate_limits (account_id, burst, rate, cost) VALUES (?, ?, ?, ?)
				ON CONFLICT (account_id) DO UPDATE SET burst = excluded.burst, rate = excluded.rate, cost = excluded.cost`,
				accountID, l.Burst, l.Rate, l.Cost)
		}
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, db.clock(), identity.EventAccount, accountID, time.Time{}, time.Time{})
	})
}

// TakeTokens refills and takes from the bucket key in one write
// transaction; BEGIN IMMEDIATE serialises takers, also across processes.
func (db *DB) TakeTokens(ctx context.Context, key string, burst int, rate float64, want int) (granted int, level float64, err error) {
	defer wrap(&err, "sqlite.TakeTokens")
	err = inTx(ctx, db.write, func(tx *sql.Tx) error {
		now := db.clock()
		var updated int64
		err := tx.QueryRowContext(ctx, `SELECT level, updated FROM rate_buckets WHERE key = ?`, key).Scan(&level, &updated)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			level, updated = float64(burst), ms(now)
		case err != nil:
			return err
		}
		if elapsed := ms(now) - updated; elapsed > 0 {
			level += float64(elapsed) / 1000 * rate
			updated = ms(now)
		}
		level = math.Min(level, float64(burst))
		granted = min(want, int(math.Floor(level)))
		granted = max(granted, 0)
		level -= float64(granted)
		_, err = tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, level, updated) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET level = excluded.level, updated = excluded.updated`, key, level, updated)
		return err
	})
	return granted, level, err
}

// PruneBuckets deletes buckets untouched since before.
func (db *DB) PruneBuckets(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "sqlite.PruneBuckets")
	return db.prune(ctx, `DELETE FROM rate_buckets WHERE updated < ?`, before)
}

// AuthFailures returns the counters of keys.
func (db *DB) AuthFailures(ctx context.Context, keys []string) (_ map[string]identity.AuthFailures, err error) {
	defer wrap(&err, "sqlite.AuthFailures")
	return readFailures(ctx, db.read, keys)
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func readFailures(ctx context.Context, q queryer, keys []string) (map[string]identity.AuthFailures, error) {
	out := map[string]identity.AuthFailures{}
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := q.QueryContext(ctx, `SELECT key, count, last FROM auth_failures WHERE key IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var f identity.AuthFailures
		var last int64
		if err := rows.Scan(&k, &f.Count, &last); err != nil {
			return nil, err
		}
		f.Last = fromMS(last)
		out[k] = f
	}
	return out, rows.Err()
}

// AddAuthFailure counts one failure for each key.
func (db *DB) AddAuthFailure(ctx context.Context, keys []string, idle time.Duration) (_ map[string]identity.AuthFailures, err error) {
	defer wrap(&err, "sqlite.AddAuthFailure")
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	var out map[string]identity.AuthFailures
	err = inTx(ctx, db.write, func(tx *sql.Tx) error {
		now := db.clock()
		for _, k := range keys {
			_, err := tx.ExecContext(ctx, `INSERT INTO auth_failures (key, count, last) VALUES (?, 1, ?)
				ON CONFLICT (key) DO UPDATE SET
					count = CASE WHEN auth_failures.last < ? THEN 1 ELSE auth_failures.count + 1 END,
					last = excluded.last`, k, ms(now), ms(now.Add(-idle)))
			if err != nil {
				return err
			}
		}
		var err error
		out, err = readFailures(ctx, tx, keys)
		return err
	})
	return out, err
}

// ClearAuthFailures forgets the counters of keys.
func (db *DB) ClearAuthFailures(ctx context.Context, keys []string) (err error) {
	defer wrap(&err, "sqlite.ClearAuthFailures")
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
		return err
	})
}

// PruneAuthFailures deletes counters idle since before.
func (db *DB) PruneAuthFailures(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "sqlite.PruneAuthFailures")
	return db.prune(ctx, `DELETE FROM auth_failures WHERE last < ?`, before)
}

// prune runs a DELETE of rows older than before and counts them.
func (db *DB) prune(ctx context.Context, query string, before time.Time) (int, error) {
	var n int64
	err := inTx(ctx, db.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
