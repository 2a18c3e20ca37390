package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/audian/audian/internal/identity"
)

// TokenStore is the shared bucket (identity.LimitStore.TakeTokens).
type TokenStore interface {
	TakeTokens(ctx context.Context, key string, burst int, rate float64, want int) (granted int, level float64, err error)
}

// Shared limits clients across every process of one database without a
// database round trip per request: each process leases tokens from the
// shared bucket in small batches and serves requests from its lease.
//
// Exactness trade-off. Leased tokens have left the shared bucket, so all
// processes together never grant more than the bucket allowed: sustained
// throughput is exact. Two things are approximate, both bounded by the
// batch (at most maxBatch requests' worth, 10 by default, per process and
// key):
//   - A process may hold unspent tokens while a client's requests land on
//     another process, which then refuses a little early.
//   - Tokens leased a while ago may be spent together with a bucket that
//     has refilled meanwhile, so a client spreading requests over N
//     processes can exceed the burst by up to N batches. Leases expire
//     after leaseTTL (unspent tokens are then dropped, which only favours
//     the bucket), which keeps this window short.
//
// Batches start at one request and double while a key keeps using its
// lease, so an idle client wastes at most a token or two, while a busy one
// (the only kind that can hit the limit) reaches one round trip per
// maxBatch requests. After a refusal the process refuses locally until the
// bucket can have refilled, so a flood of refused requests costs the
// database nothing. When the database fails, the process falls back to its
// own in-memory buckets rather than refusing or admitting everyone.
type Shared struct {
	store    TokenStore
	now      func() time.Time
	max      int
	fallback *Memory

	mu     sync.Mutex
	leases map[string]*lease
}

// Lease tuning; see Shared.
const (
	maxBatch     = 10
	leaseTTL     = 2 * time.Second
	storeTimeout = 2 * time.Second
)

type lease struct {
	mu          sync.Mutex // held across a refill, so that one request per key leases at a time
	tokens      int        // leased and unspent
	level       float64    // the shared bucket's level after the last lease
	at          time.Time  // when the tokens were leased
	batch       int        // requests' worth of tokens to lease next
	deniedUntil time.Time
}

// NewShared returns a limiter over store that tracks at most maxKeys keys.
func NewShared(store TokenStore, maxKeys int, now func() time.Time) *Shared {
	if now == nil {
		now = time.Now
	}
	return &Shared{store: store, now: now, max: maxKeys, fallback: NewMemory(maxKeys, now), leases: map[string]*lease{}}
}

// Take takes l.Cost tokens for key, from this process's lease when it
// holds enough and from the shared bucket otherwise. remaining is the
// lease plus the shared level last seen.
func (s *Shared) Take(ctx context.Context, key string, l identity.RateLimit) (remaining int, retryAfter time.Duration, ok bool) {
	now := s.now()
	le := s.lease(key, now, l.Cost == 0)
	if le == nil {
		return l.Burst, 0, true
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	if now.Sub(le.at) > leaseTTL {
		le.tokens, le.batch = 0, 1
	}
	report := func() int { return le.tokens + int(math.Max(0, le.level)) }
	if le.tokens >= l.Cost {
		le.tokens -= l.Cost
		return report(), 0, true
	}
	if now.Before(le.deniedUntil) {
		return report(), le.deniedUntil.Sub(now), false
	}
	want := min(max(l.Cost-le.tokens, le.batch*l.Cost), l.Burst)
	// The lease outlives the request that triggers it, and must not be
	// recorded in the audit log with it.
	sctx, cancel := context.WithTimeout(identity.WithoutAudit(context.WithoutCancel(ctx)), storeTimeout)
	granted, level, err := s.store.TakeTokens(sctx, key, l.Burst, l.Rate, want)
	cancel()
	if err != nil {
		return s.fallback.Take(ctx, key, l)
	}
	le.tokens += granted
	le.level = level
	le.at = now
	if le.tokens >= l.Cost {
		le.tokens -= l.Cost
		le.batch = min(le.batch*2, maxBatch)
		return report(), 0, true
	}
	le.batch = 1
	le.deniedUntil = now.Add(wait(float64(l.Cost-le.tokens)-level, l.Rate))
	return report(), le.deniedUntil.Sub(now), false
}

// lease returns key's lease, creating it unless peek.
func (s *Shared) lease(key string, now time.Time, peek bool) *lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	le := s.leases[key]
	if le != nil || peek {
		return le
	}
	if len(s.leases) >= s.max {
		s.evict(now)
	}
	le = &lease{batch: 1}
	s.leases[key] = le
	return le
}

// evict drops expired leases, or every lease when none has expired: a
// dropped lease only loses its unspent tokens, which favours the bucket.
func (s *Shared) evict(now time.Time) {
	for k, le := range s.leases {
		if le.mu.TryLock() {
			stale := now.Sub(le.at) > leaseTTL && !now.Before(le.deniedUntil)
			le.mu.Unlock()
			if stale {
				delete(s.leases, k)
			}
		}
	}
	if len(s.leases) >= s.max {
		clear(s.leases)
	}
}
