package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

func TestMemoryBucket(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(100, func() time.Time { return now })
	l := identity.RateLimit{Burst: 3, Rate: 1, Cost: 1}
	ctx := context.Background()
	for i, want := range []int{2, 1, 0} {
		rem, _, ok := m.Take(ctx, "k", l)
		if !ok || rem != want {
			t.Fatalf("take %d: remaining %d ok %t, want %d true", i, rem, ok, want)
		}
	}
	rem, retry, ok := m.Take(ctx, "k", l)
	if ok || rem != 0 || retry != time.Second {
		t.Fatalf("empty bucket: remaining %d retry %s ok %t, want 0 1s false", rem, retry, ok)
	}
	if rem, _, ok := m.Take(ctx, "other", l); !ok || rem != 2 {
		t.Fatalf("other key: remaining %d ok %t; buckets must be independent", rem, ok)
	}
	now = now.Add(1500 * time.Millisecond)
	if rem, _, ok := m.Take(ctx, "k", l); !ok || rem != 0 {
		t.Fatalf("after 1.5s refill: remaining %d ok %t, want 0 true", rem, ok)
	}
	if rem, _, ok := m.Take(ctx, "k", identity.RateLimit{Burst: 3, Rate: 1}); !ok || rem != 0 {
		t.Fatalf("cost 0 must only report: remaining %d ok %t", rem, ok)
	}
}

func TestMemoryBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(4, func() time.Time { return now })
	for i := range 100 {
		m.Take(context.Background(), string(rune('a'+i%26))+string(rune('A'+i/26)), identity.RateLimit{Burst: 10, Rate: 1, Cost: 1})
		if len(m.buckets) > 4 {
			t.Fatalf("%d buckets kept, limit is 4", len(m.buckets))
		}
	}
}
