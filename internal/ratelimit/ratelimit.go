// Package ratelimit holds the token buckets that bound how fast one client
// may call the API (spec §8): a bucket per key starts full with Burst
// tokens and refills at Rate tokens per second.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Memory keeps buckets in this process. It is exact for a single server;
// processes sharing a PostgreSQL database need a shared limiter.
type Memory struct {
	burst float64
	rate  float64 // tokens per second
	now   func() time.Time
	max   int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	level float64
	at    time.Time
}

// NewMemory returns a limiter with the given burst and refill rate that
// tracks at most maxKeys buckets (full, idle buckets are dropped first).
func NewMemory(burst int, perSecond float64, maxKeys int, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{burst: float64(burst), rate: perSecond, now: now, max: maxKeys, buckets: make(map[string]*bucket)}
}

// Take removes cost tokens from key's bucket. With cost 0 it only reports
// the level. When the bucket holds too few tokens nothing is taken and
// retryAfter says when enough will be there.
func (m *Memory) Take(_ context.Context, key string, cost int) (remaining int, retryAfter time.Duration, ok bool) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[key]
	if b == nil {
		if cost == 0 {
			return int(m.burst), 0, true
		}
		if len(m.buckets) >= m.max {
			m.evict(now)
		}
		b = &bucket{level: m.burst, at: now}
		m.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.level = math.Min(m.burst, b.level+elapsed*m.rate)
		b.at = now
	}
	c := float64(cost)
	if b.level < c {
		missing := c - b.level
		return int(b.level), time.Duration(missing / m.rate * float64(time.Second)), false
	}
	b.level -= c
	return int(b.level), 0, true
}

// evict drops buckets that have refilled completely (they hold no state
// worth keeping); if none has, it drops all, which only ever favours
// clients and bounds memory under a flood of new keys.
func (m *Memory) evict(now time.Time) {
	for k, b := range m.buckets {
		if b.level+now.Sub(b.at).Seconds()*m.rate >= m.burst {
			delete(m.buckets, k)
		}
	}
	if len(m.buckets) >= m.max {
		clear(m.buckets)
	}
}
