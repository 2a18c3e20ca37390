package ratelimit

import (
	"context"
	"testing"
	"time"
)

func TestMemoryBucket(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(3, 1, 100, func() time.Time { return now })
	ctx := context.Background()
	for i, want := range []int{2, 1, 0} {
		rem, _, ok := m.Take(ctx, "k", 1)
		if !ok || rem != want {
			t.Fatalf("take %d: remaining %d ok %t, want %d true", i, rem, ok, want)
		}
	}
	rem, retry, ok := m.Take(ctx, "k", 1)
	if ok || rem != 0 || retry != time.Second {
		t.Fatalf("empty bucket: remaining %d retry %s ok %t, want 0 1s false", rem, retry, ok)
	}
	if rem, _, ok := m.Take(ctx, "other", 1); !ok || rem != 2 {
		t.Fatalf("other key: remaining %d ok %t; buckets must be independent", rem, ok)
	}
	now = now.Add(1500 * time.Millisecond)
	if rem, _, ok := m.Take(ctx, "k", 1); !ok || rem != 0 {
		t.Fatalf("after 1.5s refill: remaining %d ok %t, want 0 true", rem, ok)
	}
	if rem, _, ok := m.Take(ctx, "k", 0); !ok || rem != 0 {
		t.Fatalf("cost 0 must only report: remaining %d ok %t", rem, ok)
	}
}

func TestMemoryBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(10, 1, 4, func() time.Time { return now })
	for i := range 100 {
		m.Take(context.Background(), string(rune('a'+i%26))+string(rune('A'+i/26)), 1)
		if len(m.buckets) > 4 {
			t.Fatalf("%d buckets kept, limit is 4", len(m.buckets))
		}
	}
}
