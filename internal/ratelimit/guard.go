package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/audian/audian/internal/identity"
)

// FailureStore keeps failed-authentication counters where every process
// sees them (identity.LimitStore).
type FailureStore interface {
	AuthFailures(ctx context.Context, keys []string) (map[string]identity.AuthFailures, error)
	AddAuthFailure(ctx context.Context, keys []string, idle time.Duration) (map[string]identity.AuthFailures, error)
	ClearAuthFailures(ctx context.Context, keys []string) error
	PruneAuthFailures(ctx context.Context, before time.Time) (int, error)
}

// Backoff is one counter's policy: Free failures pass, then each failure
// makes the next attempt wait Base, doubling per failure, up to Max after
// the latest failure.
type Backoff struct {
	Free      int
	Base, Max time.Duration
}

// delay is how long after the latest of count failures the next attempt
// must wait.
func (b Backoff) delay(count int) time.Duration {
	if count < b.Free {
		return 0
	}
	shift := min(count-b.Free, 30)
	return min(b.Base<<shift, b.Max)
}

// Guard slows down credential guessing (spec §8): failed api_auth and
// user_auth attempts are counted per client address, per (identity,
// address) pair and per identity, and each count past its free allowance
// makes that address or identity wait, exponentially longer, before its
// next attempt is even checked.
//
// An attacker must not be able to lock the real user out, so:
//   - the strict limit is per (identity, address): guessing from one
//     address blocks that address only, and a success from an address
//     clears its pair counter;
//   - the per-identity ceiling is much higher and capped at a short wait,
//     and applies only to addresses that have already failed against the
//     identity: it slows a distributed guesser (every one of whose
//     addresses fails) and never stops the user at a clean address;
//   - the per-address limit catches one address trying many identities;
//     a success does not clear it, or an attacker could reset it by
//     logging in to an account of their own between guesses.
//
// Counters live in the store, shared by every process; keys are hashed,
// so that what a person typed as a username (sometimes a password) is
// never stored.
type Guard struct {
	store FailureStore
	now   func() time.Time

	IP, Pair, Identity Backoff
	// Idle is how long a counter lasts without a new failure.
	Idle time.Duration
}

// NewGuard returns a guard over store with audian's default policy.
func NewGuard(store FailureStore, now func() time.Time) *Guard {
	if now == nil {
		now = time.Now
	}
	return &Guard{
		store:    store,
		now:      now,
		IP:       Backoff{Free: 20, Base: time.Second, Max: 15 * time.Minute},
		Pair:     Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute},
		Identity: Backoff{Free: 50, Base: time.Second, Max: time.Minute},
		Idle:     time.Hour,
	}
}

// UserIdentity names a user as the guard counts it: an account (id, or
// what the caller typed to name one) and a username.
func UserIdentity(account, username string) string { return "user\x00" + account + "\x00" + username }

// KeyIdentity names an API key by its public prefix.
func KeyIdentity(prefix string) string { return "key\x00" + prefix }

func (g *Guard) keys(ip, ident string) (ipKey, pairKey, idKey string) {
	h := func(parts ...string) string {
		s := sha256.New()
		for _, p := range parts {
			s.Write([]byte(p))
			s.Write([]byte{0})
		}
		return hex.EncodeToString(s.Sum(nil)[:16])
	}
	return "ip:" + h(ip), "pair:" + h(ident, ip), "id:" + h(ident)
}

// Check returns how long the client at ip must wait before trying ident
// again; 0 means go ahead. A store failure lets the attempt through: the
// rate limit still bounds it, and refusing every login while the database
// hiccups would be worse.
func (g *Guard) Check(ctx context.Context, ip, ident string) (time.Duration, error) {
	ipKey, pairKey, idKey := g.keys(ip, ident)
	c, err := g.store.AuthFailures(identity.WithoutAudit(ctx), []string{ipKey, pairKey, idKey})
	if err != nil {
		return 0, err
	}
	now := g.now()
	var wait time.Duration
	consider := func(f identity.AuthFailures, b Backoff) {
		if f.Count == 0 || now.Sub(f.Last) > g.Idle {
			return
		}
		if d := f.Last.Add(b.delay(f.Count)).Sub(now); d > wait {
			wait = d
		}
	}
	consider(c[ipKey], g.IP)
	consider(c[pairKey], g.Pair)
	if c[pairKey].Count > 0 && now.Sub(c[pairKey].Last) <= g.Idle {
		consider(c[idKey], g.Identity)
	}
	return wait, nil
}

// Fail counts a failed attempt of the client at ip against ident.
func (g *Guard) Fail(ctx context.Context, ip, ident string) error {
	ipKey, pairKey, idKey := g.keys(ip, ident)
	_, err := g.store.AddAuthFailure(identity.WithoutAudit(ctx), []string{ipKey, pairKey, idKey}, g.Idle)
	return err
}

// Succeed forgets the failures of the client at ip against ident.
func (g *Guard) Succeed(ctx context.Context, ip, ident string) error {
	_, pairKey, _ := g.keys(ip, ident)
	return g.store.ClearAuthFailures(identity.WithoutAudit(ctx), []string{pairKey})
}

// Prune deletes counters idle for longer than Idle.
func (g *Guard) Prune(ctx context.Context) (int, error) {
	return g.store.PruneAuthFailures(ctx, g.now().Add(-g.Idle))
}
