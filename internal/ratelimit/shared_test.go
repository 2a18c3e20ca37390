package ratelimit

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// fakeBuckets is a TokenStore with the store's semantics, counting calls.
type fakeBuckets struct {
	mu    sync.Mutex
	now   func() time.Time
	level map[string]float64
	at    map[string]time.Time
	calls int
	err   error
}

func newFakeBuckets(now func() time.Time) *fakeBuckets {
	return &fakeBuckets{now: now, level: map[string]float64{}, at: map[string]time.Time{}}
}

func (f *fakeBuckets) TakeTokens(_ context.Context, key string, burst int, rate float64, want int) (int, float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return 0, 0, f.err
	}
	now := f.now()
	lvl, ok := f.level[key]
	if !ok {
		lvl = float64(burst)
	} else {
		lvl = math.Min(float64(burst), lvl+now.Sub(f.at[key]).Seconds()*rate)
	}
	g := min(want, int(lvl))
	lvl -= float64(g)
	f.level[key], f.at[key] = lvl, now
	return g, lvl, nil
}

func TestSharedCountsDownAndRefuses(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	store := newFakeBuckets(clock)
	s := NewShared(store, 100, clock)
	l := identity.RateLimit{Burst: 100, Rate: 10, Cost: 1}
	ctx := context.Background()
	for i := range 150 {
		rem, retry, ok := s.Take(ctx, "ip/acct", l)
		if i < 100 {
			if !ok || rem != 99-i {
				t.Fatalf("request %d: ok %t remaining %d, want true %d", i, ok, rem, 99-i)
			}
			continue
		}
		if ok || retry <= 0 || retry > time.Second {
			t.Fatalf("request %d: ok %t retry %s, want a refusal within 1s", i, ok, retry)
		}
	}
	if store.calls > 20 {
		t.Errorf("150 requests made %d store round trips, want leases (at most 20)", store.calls)
	}
	calls := store.calls
	for range 50 {
		s.Take(ctx, "ip/acct", l)
	}
	if store.calls != calls {
		t.Errorf("refused requests made %d store round trips, want none until the bucket refills", store.calls-calls)
	}
	now = now.Add(time.Second)
	if _, _, ok := s.Take(ctx, "ip/acct", l); !ok {
		t.Error("after 1s at 10/s the bucket must admit again")
	}
}

func TestSharedAcrossProcesses(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	store := newFakeBuckets(clock)
	a, b := NewShared(store, 100, clock), NewShared(store, 100, clock)
	l := identity.RateLimit{Burst: 50, Rate: 1, Cost: 1}
	admitted := 0
	for i := range 200 {
		p := a
		if i%3 == 0 {
			p = b
		}
		if _, _, ok := p.Take(context.Background(), "k", l); ok {
			admitted++
		}
	}
	if admitted > 50 {
		t.Errorf("two processes admitted %d requests from one bucket of 50", admitted)
	}
	if admitted < 50-2*maxBatch {
		t.Errorf("two processes admitted only %d of 50: leases strand too many tokens", admitted)
	}
}

func TestSharedFallsBackToMemory(t *testing.T) {
	store := newFakeBuckets(time.Now)
	store.err = errors.New("database down")
	s := NewShared(store, 100, nil)
	l := identity.RateLimit{Burst: 2, Rate: 0.001, Cost: 1}
	var oks int
	for range 5 {
		if _, _, ok := s.Take(context.Background(), "k", l); ok {
			oks++
		}
	}
	if oks != 2 {
		t.Errorf("with the store down %d of 5 admitted, want the in-memory burst of 2", oks)
	}
}
