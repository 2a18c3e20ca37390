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

	// identity.LoginAddressStore: where logins succeeded.
	RememberLoginAddress(ctx context.Context, key string) error
	KnownLoginAddress(ctx context.Context, key string, since time.Time) (bool, error)
	PruneLoginAddresses(ctx context.Context, before time.Time) (int, error)
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
// next attempt is even checked. Callers pass the address already grouped
// (an IPv6 client by its /64, login.AddressKey).
//
// An attacker must not be able to lock the real user out, so:
//   - the strict limit is per (identity, address): guessing from one
//     address blocks that address only, and a success from an address
//     clears its pair counter;
//   - the per-identity tier slows guessing spread over many addresses (a
//     botnet, each of whose addresses tries a few passwords): past its
//     allowance every address waits, capped at a short wait, except the
//     addresses the identity signed in from before (a success remembers
//     the address for KnownFor). The owner at a known address is never
//     slowed by it, and an API key is a separate identity, so no attacker
//     can lock the owner out; at worst the owner at a new address waits
//     Identity.Max;
//   - the per-address limit catches one address trying many identities;
//     a success does not clear it, or an attacker could reset it by
//     logging in to an account of their own between guesses.
//
// Counters and markers live in the store, shared by every process; keys
// are hashed, so that what a person typed as a username (sometimes a
// password) is never stored.
type Guard struct {
	store FailureStore
	now   func() time.Time

	IP, Pair, Identity Backoff
	// Idle is how long a counter lasts without a new failure.
	Idle time.Duration
	// KnownFor is how long a successful login's address stays known.
	KnownFor time.Duration
	// Namespace keeps the counters of guards that share a store apart
	// (NewRecoveryGuard's from the login guard's).
	Namespace string
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
		KnownFor: 90 * 24 * time.Hour,
	}
}

// NewRecoveryGuard returns a guard that throttles password recovery
// requests, counted apart from logins: each request counts as a failure
// (a reset sends mail and replaces the user's pending reset), per address,
// per (user, address) and per user, with waits in minutes.
func NewRecoveryGuard(store FailureStore, now func() time.Time) *Guard {
	g := NewGuard(store, now)
	g.Namespace = "recovery:"
	g.IP = Backoff{Free: 20, Base: time.Minute, Max: time.Hour}
	g.Pair = Backoff{Free: 5, Base: time.Minute, Max: time.Hour}
	g.Identity = Backoff{Free: 10, Base: time.Minute, Max: time.Hour}
	return g
}

// UserIdentity names a user as the guard counts it: an account (id, or
// what the caller typed to name one) and a username.
func UserIdentity(account, username string) string { return "user\x00" + account + "\x00" + username }

// KeyIdentity names an API key by its public prefix.
func KeyIdentity(prefix string) string { return "key\x00" + prefix }

func (g *Guard) keys(ip, ident string) (ipKey, pairKey, idKey string) {
	ns := g.Namespace
	return ns + "ip:" + hashKey(ip), ns + "pair:" + hashKey(ident, ip), ns + "id:" + hashKey(ident)
}

// knownKey is the marker of a successful login of ident from ip. Its hash
// is salted apart from the pair counter's, so one never reads as the other.
func knownKey(ip, ident string) string { return "known:" + hashKey("known", ident, ip) }

func hashKey(parts ...string) string {
	s := sha256.New()
	for _, p := range parts {
		s.Write([]byte(p))
		s.Write([]byte{0})
	}
	return hex.EncodeToString(s.Sum(nil)[:16])
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
	delay := func(f identity.AuthFailures, b Backoff) time.Duration {
		if f.Count == 0 || now.Sub(f.Last) > g.Idle {
			return 0
		}
		return f.Last.Add(b.delay(f.Count)).Sub(now)
	}
	wait := max(delay(c[ipKey], g.IP), delay(c[pairKey], g.Pair))
	if d := delay(c[idKey], g.Identity); d > wait {
		// Only now, when the identity tier is what would refuse, is the
		// marker read: the common path costs one query.
		known, err := g.store.KnownLoginAddress(identity.WithoutAudit(ctx), knownKey(ip, ident), now.Add(-g.KnownFor))
		if err != nil {
			return 0, err
		}
		if !known {
			wait = d
		}
	}
	return wait, nil
}

// Fail counts a failed attempt of the client at ip against ident.
func (g *Guard) Fail(ctx context.Context, ip, ident string) error {
	ipKey, pairKey, idKey := g.keys(ip, ident)
	_, err := g.store.AddAuthFailure(identity.WithoutAudit(ctx), []string{ipKey, pairKey, idKey}, g.Idle)
	return err
}

// Succeed forgets the failures of the client at ip against ident, and
// remembers ip as an address ident signs in from.
func (g *Guard) Succeed(ctx context.Context, ip, ident string) error {
	ctx = identity.WithoutAudit(ctx)
	_, pairKey, _ := g.keys(ip, ident)
	if err := g.store.ClearAuthFailures(ctx, []string{pairKey}); err != nil {
		return err
	}
	return g.store.RememberLoginAddress(ctx, knownKey(ip, ident))
}

// Prune deletes counters idle for longer than Idle and markers older than
// KnownFor.
func (g *Guard) Prune(ctx context.Context) (int, error) {
	n, err := g.store.PruneAuthFailures(ctx, g.now().Add(-g.Idle))
	if err != nil {
		return n, err
	}
	m, err := g.store.PruneLoginAddresses(ctx, g.now().Add(-g.KnownFor))
	return n + m, err
}
