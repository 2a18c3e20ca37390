// Package ratelimit holds the token buckets that bound how fast one client
// may call the API (spec §8) and the guard that slows down password and
// key guessing. A bucket per key starts full with Burst tokens and refills
// at Rate tokens per second; each key may have its own parameters (per
// account overrides).
//
// Memory keeps buckets in the process, which is exact for a single server
// (SQLite). Shared keeps them in the database, so that all the processes
// of a PostgreSQL deployment limit a client together, without a database
// round trip per request.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Memory keeps buckets in this process. It is exact for a single server;
// processes sharing a PostgreSQL database use Shared.
type Memory struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	level float64
	at    time.Time
	// burst and rate are those of the bucket's latest take, which eviction
	// needs to tell a full bucket.
	burst, rate float64
}

// NewMemory returns a limiter that tracks at most maxKeys buckets (full,
// idle buckets are dropped first).
func NewMemory(maxKeys int, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, max: maxKeys, buckets: make(map[string]*bucket)}
}

// Take removes l.Cost tokens from key's bucket of l.Burst tokens refilled
// at l.Rate per second. With cost 0 it only reports the level. When the
// bucket holds too few tokens nothing is taken and retryAfter says when
// enough will be there.
func (m *Memory) Take(_ context.Context, key string, l identity.RateLimit) (remaining int, retryAfter time.Duration, ok bool) {
	now := m.now()
	burst := float64(l.Burst)
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[key]
	if b == nil {
		if l.Cost == 0 {
			return l.Burst, 0, true
		}
		if len(m.buckets) >= m.max {
			m.evict(now)
		}
		b = &bucket{level: burst, at: now}
		m.buckets[key] = b
	}
	b.burst, b.rate = burst, l.Rate
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.level += elapsed * l.Rate
		b.at = now
	}
	b.level = math.Min(burst, b.level)
	c := float64(l.Cost)
	if b.level < c {
		return int(b.level), wait(c-b.level, l.Rate), false
	}
	b.level -= c
	return int(b.level), 0, true
}

// wait is how long refilling missing tokens at rate per second takes.
func wait(missing, rate float64) time.Duration {
	if rate <= 0 {
		return time.Hour
	}
	return time.Duration(missing / rate * float64(time.Second))
}

// evict drops buckets that have refilled completely (they hold no state
// worth keeping); if none has, it drops all, which only ever favours
// clients and bounds memory under a flood of new keys.
func (m *Memory) evict(now time.Time) {
	for k, b := range m.buckets {
		if b.level+now.Sub(b.at).Seconds()*b.rate >= b.burst {
			delete(m.buckets, k)
		}
	}
	if len(m.buckets) >= m.max {
		clear(m.buckets)
	}
}
