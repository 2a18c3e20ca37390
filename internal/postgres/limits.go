package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.LimitStore = (*DB)(nil)

// RateLimits returns every per-account override.
func (db *DB) RateLimits(ctx context.Context) (_ map[string]identity.RateLimit, err error) {
	defer wrap(&err, "postgres: rate limits")
	rows, err := db.pool.Query(ctx, `SELECT account_id, burst, rate, cost FROM rate_limits`)
	if err != nil {
		return nil, err
	}
	out := map[string]identity.RateLimit{}
	var id string
	var l identity.RateLimit
	_, err = pgx.ForEachRow(rows, []any{&id, &l.Burst, &l.Rate, &l.Cost}, func() error {
		out[id] = l
		return nil
	})
	return out, err
}

// RateLimit returns accountID's override.
func (db *DB) RateLimit(ctx context.Context, accountID string) (_ identity.RateLimit, err error) {
	defer wrap(&err, "postgres: rate limit of %q", accountID)
	var l identity.RateLimit
	err = db.pool.QueryRow(ctx, `SELECT burst, rate, cost FROM rate_limits WHERE account_id = $1`, accountID).
		Scan(&l.Burst, &l.Rate, &l.Cost)
	return l, err
}

// SetRateLimit stores or removes accountID's override with its event.
func (db *DB) SetRateLimit(ctx context.Context, accountID string, l *identity.RateLimit) (err error) {
	defer wrap(&err, "postgres: set rate limit of %q", accountID)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The account row lock keeps a concurrent DeleteAccount from
		// leaving an override behind (and makes an unknown id NotFound).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&one); err != nil {
			return err
		}
		var err error
		if l == nil {
			_, err = tx.Exec(ctx, `DELETE FROM rate_limits WHERE account_id = $1`, accountID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO rate_limits (account_id, burst, rate, cost) VALUES ($1, $2, $3, $4)
				ON CONFLICT (account_id) DO UPDATE SET burst = excluded.burst, rate = excluded.rate, cost = excluded.cost`,
				accountID, l.Burst, l.Rate, l.Cost)
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAccount, ID: accountID})
	})
}

// takeTokens refills and takes in one statement: the upsert locks the
// bucket row, so concurrent takers on any node queue on it and each sees
// the level the previous one left (ON CONFLICT DO UPDATE reads the latest
// committed row even under READ COMMITTED). SET expressions all read the
// old row, hence the repeated refill expression; last_grant carries the
// grant out through RETURNING.
const takeTokens = `
INSERT INTO rate_buckets AS b (key, level, updated, last_grant)
VALUES ($1, $2::float8 - LEAST($4::int, floor($2::float8)), $3, LEAST($4::int, floor($2::float8))::int)
ON CONFLICT (key) DO UPDATE SET
	level = LEAST($2::float8, b.level + GREATEST(0, extract(epoch FROM $3 - b.updated)::float8) * $5::float8)
		- GREATEST(0, LEAST($4::int, floor(LEAST($2::float8, b.level + GREATEST(0, extract(epoch FROM $3 - b.updated)::float8) * $5::float8)))),
	last_grant = GREATEST(0, LEAST($4::int, floor(LEAST($2::float8, b.level + GREATEST(0, extract(epoch FROM $3 - b.updated)::float8) * $5::float8))))::int,
	updated = GREATEST(b.updated, $3)
RETURNING last_grant, level`

// TakeTokens refills and takes from the shared bucket key in one round
// trip.
func (db *DB) TakeTokens(ctx context.Context, key string, burst int, rate float64, want int) (granted int, level float64, err error) {
	defer wrap(&err, "postgres: take tokens")
	err = db.pool.QueryRow(ctx, takeTokens, key, float64(burst), db.clock(), max(want, 0), rate).Scan(&granted, &level)
	return granted, level, err
}

// PruneBuckets deletes buckets untouched since before.
func (db *DB) PruneBuckets(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune buckets")
	tag, err := db.pool.Exec(ctx, `DELETE FROM rate_buckets WHERE updated < $1`, normTime(before))
	return int(tag.RowsAffected()), err
}

// AuthFailures returns the counters of keys.
func (db *DB) AuthFailures(ctx context.Context, keys []string) (_ map[string]identity.AuthFailures, err error) {
	defer wrap(&err, "postgres: auth failures")
	rows, err := db.pool.Query(ctx, `SELECT key, count, last FROM auth_failures WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, err
	}
	return collectFailures(rows)
}

func collectFailures(rows pgx.Rows) (map[string]identity.AuthFailures, error) {
	out := map[string]identity.AuthFailures{}
	var k string
	var f identity.AuthFailures
	_, err := pgx.ForEachRow(rows, []any{&k, &f.Count, &f.Last}, func() error {
		f.Last = normTime(f.Last)
		out[k] = f
		return nil
	})
	return out, err
}

// AddAuthFailure counts one failure for each key in one statement. Keys
// are deduplicated (an upsert may not touch a row twice) and sorted, so
// that concurrent callers lock rows in one order and cannot deadlock.
func (db *DB) AddAuthFailure(ctx context.Context, keys []string, idle time.Duration) (_ map[string]identity.AuthFailures, err error) {
	defer wrap(&err, "postgres: add auth failure")
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	now := db.clock()
	rows, err := db.pool.Query(ctx, `INSERT INTO auth_failures AS f (key, count, last)
		SELECT k, 1, $2 FROM unnest($1::text[]) AS k ORDER BY k
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN f.last < $3 THEN 1 ELSE f.count + 1 END,
			last = GREATEST(f.last, excluded.last)
		RETURNING key, count, last`, keys, now, now.Add(-idle))
	if err != nil {
		return nil, err
	}
	return collectFailures(rows)
}

// ClearAuthFailures forgets the counters of keys.
func (db *DB) ClearAuthFailures(ctx context.Context, keys []string) (err error) {
	defer wrap(&err, "postgres: clear auth failures")
	_, err = db.pool.Exec(ctx, `DELETE FROM auth_failures WHERE key = ANY($1)`, keys)
	return err
}

// PruneAuthFailures deletes counters idle since before.
func (db *DB) PruneAuthFailures(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune auth failures")
	tag, err := db.pool.Exec(ctx, `DELETE FROM auth_failures WHERE last < $1`, normTime(before))
	return int(tag.RowsAffected()), err
}
