package identity

import (
	"context"
	"time"
)

// RateLimit is a token bucket's parameters (spec §8): Burst tokens at
// most, refilled at Rate per second, Cost tokens per request. A Cost of 0
// turns limiting off.
type RateLimit struct {
	Burst int
	Rate  float64
	Cost  int
}

// Validate reports the fields of l a bucket cannot work with.
func (l RateLimit) Validate() error {
	v := Violations{}
	if l.Burst < 1 || l.Burst > 1_000_000 {
		v.Add("burst", "minimum", Violation{Message: "Value must be between 1 and 1000000"})
	}
	if !(l.Rate > 0) || l.Rate > 1_000_000 {
		v.Add("rate", "minimum", Violation{Message: "Value must be above 0 and at most 1000000"})
	}
	if l.Cost < 0 || l.Cost > l.Burst {
		v.Add("cost", "minimum", Violation{Message: "Value must be between 0 and burst"})
	}
	return v.Err()
}

// Permissions of the rate limit settings. Only a system account's admin
// may write them: they decide how much of the service one account gets.
const (
	RateLimitsRead  Permission = "rate_limits:read"
	RateLimitsWrite Permission = "rate_limits:write"
)

// AuthFailures counts failed authentication attempts for one key (an
// address, an identity, or both): Count failures, the latest at Last.
type AuthFailures struct {
	Count int
	Last  time.Time
}

// LimitStore keeps what rate limiting and brute-force protection share
// between the processes of one database.
type LimitStore interface {
	// RateLimits returns every per-account override of the global limits,
	// by account id.
	RateLimits(ctx context.Context) (map[string]RateLimit, error)
	// RateLimit returns accountID's override, ErrNotFound when it has none.
	RateLimit(ctx context.Context, accountID string) (RateLimit, error)
	// SetRateLimit stores accountID's override, or removes it when l is
	// nil, and appends an EventAccount event for accountID so that every
	// process reloads it. It returns ErrNotFound for an unknown account.
	SetRateLimit(ctx context.Context, accountID string, l *RateLimit) error

	// TakeTokens refills the shared bucket key to the Store's now (a new
	// bucket starts full with burst tokens; it gains rate per second, up to
	// burst) and takes min(want, whole tokens it holds). It returns the
	// tokens granted and the level left. Concurrent takers, in any
	// process, are never granted more than the bucket holds.
	TakeTokens(ctx context.Context, key string, burst int, rate float64, want int) (granted int, level float64, err error)
	// PruneBuckets deletes buckets last taken from before before.
	PruneBuckets(ctx context.Context, before time.Time) (int, error)

	// AuthFailures returns the counters of keys that have one.
	AuthFailures(ctx context.Context, keys []string) (map[string]AuthFailures, error)
	// AddAuthFailure counts one failure at the Store's now for each of
	// keys, restarting from one a counter whose last failure is before
	// now-idle, and returns the counters after the change.
	AddAuthFailure(ctx context.Context, keys []string, idle time.Duration) (map[string]AuthFailures, error)
	// ClearAuthFailures forgets the counters of keys.
	ClearAuthFailures(ctx context.Context, keys []string) error
	// PruneAuthFailures deletes counters whose last failure is before
	// before.
	PruneAuthFailures(ctx context.Context, before time.Time) (int, error)
}
