package identitytest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// limitTests cover what rate limiting and brute-force protection keep in
// the store: per-account overrides, shared token buckets that never grant
// more than they hold however many takers race, and failure counters.
var limitTests = []subtest{
	{"RateLimitOverrides", testRateLimitOverrides},
	{"TakeTokens", testTakeTokens},
	{"ConcurrentTakersNeverOverGranted", testTakeTokensConcurrent},
	{"AuthFailures", testAuthFailures},
}

func testRateLimitOverrides(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "limited")
	_, err := s.RateLimit(ctx, a.ID)
	wantErr(t, "RateLimit without an override", err, identity.ErrNotFound)
	wantErr(t, "SetRateLimit of a missing account", s.SetRateLimit(ctx, identity.NewID(), &identity.RateLimit{Burst: 1, Rate: 1, Cost: 1}), identity.ErrNotFound)

	seq := lastSeq(t, s)
	want := identity.RateLimit{Burst: 500, Rate: 2.5, Cost: 0}
	must(t, "SetRateLimit", s.SetRateLimit(ctx, a.ID, &want))
	if findEvent(eventsAfter(t, s, seq), identity.EventAccount, a.ID) == nil {
		t.Error("SetRateLimit appended no account event: other processes would keep the old limits")
	}
	got, err := s.RateLimit(ctx, a.ID)
	must(t, "RateLimit", err)
	if d := diff(want, got); d != "" {
		t.Errorf("RateLimit (-want +got):\n%s", d)
	}
	want.Cost = 3
	must(t, "SetRateLimit", s.SetRateLimit(ctx, a.ID, &want))
	all, err := s.RateLimits(ctx)
	must(t, "RateLimits", err)
	if d := diff(map[string]identity.RateLimit{a.ID: want}, all); d != "" {
		t.Errorf("RateLimits after an update (-want +got):\n%s", d)
	}
	must(t, "SetRateLimit nil", s.SetRateLimit(ctx, a.ID, nil))
	_, err = s.RateLimit(ctx, a.ID)
	wantErr(t, "RateLimit after removal", err, identity.ErrNotFound)

	must(t, "SetRateLimit", s.SetRateLimit(ctx, a.ID, &want))
	must(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID))
	all, err = s.RateLimits(ctx)
	must(t, "RateLimits", err)
	if len(all) != 0 {
		t.Errorf("a deleted account's override remains: %v", all)
	}
}

func testTakeTokens(t *testing.T, s identity.Store) {
	ctx := t.Context()
	// A rate small enough that the test's own duration refills nothing.
	const rate = 1e-6
	for i, tt := range []struct {
		want, granted int
		level         float64
	}{
		{3, 3, 2}, // a new bucket starts full
		{5, 2, 0}, // never more than it holds
		{1, 0, 0},
		{0, 0, 0},
	} {
		granted, level, err := s.TakeTokens(ctx, "k", 5, rate, tt.want)
		must(t, "TakeTokens", err)
		if granted != tt.granted || level < tt.level || level > tt.level+0.01 {
			t.Errorf("take %d of %d: granted %d level %g, want %d %g", i, tt.want, granted, level, tt.granted, tt.level)
		}
	}
	if granted, _, err := s.TakeTokens(ctx, "other", 5, rate, 5); err != nil || granted != 5 {
		t.Errorf("another key: granted %d err %v, want 5: buckets are independent", granted, err)
	}
	// A fast rate refills: 1000/s for at least a few milliseconds.
	_, _, err := s.TakeTokens(ctx, "fast", 10, 1000, 10)
	must(t, "TakeTokens", err)
	time.Sleep(20 * time.Millisecond)
	granted, level, err := s.TakeTokens(ctx, "fast", 10, 1000, 10)
	must(t, "TakeTokens", err)
	if granted < 5 || level < 0 {
		t.Errorf("after 20ms at 1000/s: granted %d level %g, want a refilled bucket", granted, level)
	}
	n, err := s.PruneBuckets(ctx, time.Now().Add(time.Hour))
	must(t, "PruneBuckets", err)
	if n != 3 {
		t.Errorf("PruneBuckets removed %d, want 3", n)
	}
	if granted, _, _ := s.TakeTokens(ctx, "k", 5, rate, 5); granted != 5 {
		t.Errorf("a pruned bucket must start full again: granted %d", granted)
	}
}

func testTakeTokensConcurrent(t *testing.T, s identity.Store) {
	const (
		burst   = 60
		takers  = 8
		refusal = 3 // each taker stops after this many empty grants
	)
	var total atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for empty := 0; empty < refusal; {
				g, _, err := s.TakeTokens(t.Context(), "shared", burst, 1e-6, 2)
				if err != nil {
					t.Errorf("TakeTokens: %v", err)
					return
				}
				if g == 0 {
					empty++
				}
				total.Add(int64(g))
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := total.Load(); got != burst {
		t.Errorf("%d concurrent takers were granted %d tokens in all, want exactly the burst %d", takers, got, burst)
	}
}

func testAuthFailures(t *testing.T, s identity.Store) {
	ctx := t.Context()
	keys := []string{"ip:a", "pair:a", "id:x"}
	got, err := s.AuthFailures(ctx, keys)
	must(t, "AuthFailures", err)
	if len(got) != 0 {
		t.Fatalf("fresh store has counters: %v", got)
	}
	for i := 1; i <= 3; i++ {
		got, err = s.AddAuthFailure(ctx, keys[:2], time.Hour)
		must(t, "AddAuthFailure", err)
		if got["ip:a"].Count != i || got["pair:a"].Count != i || got["ip:a"].Last.IsZero() {
			t.Fatalf("after %d failures: %v", i, got)
		}
	}
	checkUTC(t, "Last", got["ip:a"].Last)
	got, err = s.AddAuthFailure(ctx, []string{"id:x", "id:x"}, time.Hour)
	must(t, "AddAuthFailure with a repeated key", err)
	if got["id:x"].Count != 1 {
		t.Errorf("a key repeated in one call counted %d, want 1", got["id:x"].Count)
	}
	read, err := s.AuthFailures(ctx, keys)
	must(t, "AuthFailures", err)
	if read["ip:a"].Count != 3 || read["id:x"].Count != 1 || len(read) != 3 {
		t.Errorf("AuthFailures = %v", read)
	}
	// A counter idle for longer than idle starts again.
	got, err = s.AddAuthFailure(ctx, []string{"ip:a"}, -time.Hour)
	must(t, "AddAuthFailure", err)
	if got["ip:a"].Count != 1 {
		t.Errorf("an idle counter continued at %d, want 1", got["ip:a"].Count)
	}
	must(t, "ClearAuthFailures", s.ClearAuthFailures(ctx, []string{"pair:a"}))
	read, err = s.AuthFailures(ctx, keys)
	must(t, "AuthFailures", err)
	if _, ok := read["pair:a"]; ok || len(read) != 2 {
		t.Errorf("after clearing pair:a: %v", read)
	}
	n, err := s.PruneAuthFailures(ctx, time.Now().Add(time.Hour))
	must(t, "PruneAuthFailures", err)
	if n != 2 {
		t.Errorf("PruneAuthFailures removed %d, want 2", n)
	}
}
