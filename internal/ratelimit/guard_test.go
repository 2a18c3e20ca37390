package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// fakeFailures is a FailureStore with the store's semantics.
type fakeFailures struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]identity.AuthFailures
	// known holds the login address markers.
	known map[string]time.Time
}

func (f *fakeFailures) RememberLoginAddress(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known == nil {
		f.known = map[string]time.Time{}
	}
	f.known[key] = f.now()
	return nil
}

func (f *fakeFailures) KnownLoginAddress(_ context.Context, key string, since time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.known[key]
	return ok && !at.Before(since), nil
}

func (f *fakeFailures) PruneLoginAddresses(context.Context, time.Time) (int, error) { return 0, nil }

func (f *fakeFailures) AuthFailures(_ context.Context, keys []string) (map[string]identity.AuthFailures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]identity.AuthFailures{}
	for _, k := range keys {
		if v, ok := f.m[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (f *fakeFailures) AddAuthFailure(ctx context.Context, keys []string, idle time.Duration) (map[string]identity.AuthFailures, error) {
	f.mu.Lock()
	now := f.now()
	for _, k := range keys {
		v := f.m[k]
		if v.Last.Before(now.Add(-idle)) {
			v.Count = 0
		}
		v.Count++
		v.Last = now
		f.m[k] = v
	}
	f.mu.Unlock()
	return f.AuthFailures(ctx, keys)
}

func (f *fakeFailures) ClearAuthFailures(_ context.Context, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		delete(f.m, k)
	}
	return nil
}

func (f *fakeFailures) PruneAuthFailures(context.Context, time.Time) (int, error) { return 0, nil }

func TestGuard(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	g := NewGuard(&fakeFailures{now: clock, m: map[string]identity.AuthFailures{}}, clock)
	ctx := context.Background()
	user := UserIdentity("acct", "alice")
	check := func(ip, ident string) time.Duration {
		t.Helper()
		d, err := g.Check(ctx, ip, ident)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// The attacker's free attempts, then exponential backoff.
	for i := range g.Pair.Free {
		if d := check("198.51.100.1", user); d != 0 {
			t.Fatalf("attempt %d is within the free allowance but must wait %s", i, d)
		}
		g.Fail(ctx, "198.51.100.1", user)
	}
	var last time.Duration
	for i := range 6 {
		d := check("198.51.100.1", user)
		if d <= last {
			t.Fatalf("failure %d past the allowance: wait %s, want more than %s", i, d, last)
		}
		last = d
		now = now.Add(d)
		g.Fail(ctx, "198.51.100.1", user)
	}
	if d := check("203.0.113.9", user); d != 0 {
		t.Errorf("the real user at a clean address must wait %s; an attacker elsewhere locked them out", d)
	}
	// The owner signed in from 203.0.113.50 before the attack.
	if err := g.Succeed(ctx, "203.0.113.50", user); err != nil {
		t.Fatal(err)
	}
	// A distributed attack: past the identity's allowance, every address
	// that has not signed in before waits, at most the tier's maximum;
	// the owner's known address does not.
	for i := range g.Identity.Free + 20 {
		g.Fail(ctx, "192.0.2."+strconv.Itoa(i), user)
	}
	if d := check("192.0.2.250", user); d <= 0 || d > g.Identity.Max {
		t.Errorf("a fresh address during a distributed attack waits %s, want (0, %s]", d, g.Identity.Max)
	}
	if d := check("203.0.113.9", user); d <= 0 || d > g.Identity.Max {
		t.Errorf("the owner at a new address waits %s, want (0, %s]: slowed, never locked out", d, g.Identity.Max)
	}
	if d := check("203.0.113.50", user); d != 0 {
		t.Errorf("the owner at a known address waits %s during a distributed attack", d)
	}
	if d := check("203.0.113.50", UserIdentity("acct", "bob")); d != 0 {
		t.Errorf("another user waits %s: the tier is per identity", d)
	}
	g.Fail(ctx, "203.0.113.9", user)
	if err := g.Succeed(ctx, "203.0.113.9", user); err != nil {
		t.Fatal(err)
	}
	if d := check("203.0.113.9", user); d != 0 {
		t.Errorf("after a success the address still waits %s", d)
	}
	// One address trying many identities is stopped by its own counter.
	for i := range g.IP.Free + 1 {
		g.Fail(ctx, "198.51.100.77", UserIdentity("acct", "u"+string(rune('a'+i%26))+string(rune('a'+i/26))))
	}
	if d := check("198.51.100.77", UserIdentity("acct", "someone-new")); d <= 0 {
		t.Error("an address past its own allowance may try a new identity at once")
	}
	now = now.Add(2 * time.Hour)
	if d := check("198.51.100.1", user); d != 0 {
		t.Errorf("counters idle for longer than Idle still make the address wait %s", d)
	}
}
