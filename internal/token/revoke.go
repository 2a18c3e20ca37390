package token

import (
	"sync"
	"time"

	"github.com/audian/audian/internal/identity"
)

// revocations is what the change feed has said about tokens: single
// revoked jtis and issue-time cutoffs per account, user and API key. It is
// consulted on every Verify, cache hit or not, so the read side is a read
// lock and map lookups that do not allocate.
type revocations struct {
	mu       sync.RWMutex
	jtis     map[string]int64 // jti -> Unix ms after which the entry can go
	accounts map[string]int64 // account id -> cutoff, Unix ms
	users    map[string]int64 // user id -> cutoff
	keys     map[string]int64 // API key id -> cutoff
	applied  int              // events since the last prune
	pruned   time.Time

	// leeway is how long after exp a token is still accepted; keep is the
	// longest token lifetime plus leeway: a token issued before now-keep
	// has expired, so a cutoff older than that refuses nothing.
	leeway, keep time.Duration
}

func newRevocations(maxLifetime, leeway time.Duration) *revocations {
	return &revocations{
		leeway:   leeway,
		keep:     maxLifetime + leeway,
		jtis:     map[string]int64{},
		accounts: map[string]int64{},
		users:    map[string]int64{},
		keys:     map[string]int64{},
	}
}

// revoked reports whether a token with claims c, issued at issuedMs, is
// refused: its jti or its session was revoked (a session is revoked as the
// jti of the login that began it, so both are one map), or it was issued at or before a cutoff of
// its account, its user or the API key that minted it.
func (r *revocations) revoked(c *identity.Claims, issuedMs int64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.jtis[c.ID]; ok {
		return true
	}
	if c.SessionID != c.ID {
		if _, ok := r.jtis[c.SessionID]; ok {
			return true
		}
	}
	if cut, ok := r.accounts[c.AccountID]; ok && issuedMs <= cut {
		return true
	}
	if c.OwnerID != "" {
		if cut, ok := r.users[c.OwnerID]; ok && issuedMs <= cut {
			return true
		}
	}
	if c.KeyID != "" {
		if cut, ok := r.keys[c.KeyID]; ok && issuedMs <= cut {
			return true
		}
	}
	return false
}

// apply records e. Kinds other than account, user, API key and token are
// ignored.
func (r *revocations) apply(e identity.Event, now time.Time) {
	var m map[string]int64
	switch e.Kind {
	case identity.EventAccount:
		m = r.accounts
	case identity.EventUser:
		m = r.users
	case identity.EventAPIKey:
		m = r.keys
	case identity.EventToken:
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Kind == identity.EventToken {
		if e.ID == "" {
			return
		}
		// The entry must outlive the token. Expires says when; without it
		// the jti's own time bounds the token's life.
		until := e.Expires
		if until.IsZero() {
			if ms, ok := IssuedAtMillis(e.ID); ok {
				until = time.UnixMilli(ms).Add(r.keep)
			} else {
				until = now.Add(r.keep)
			}
		}
		if old, ok := r.jtis[e.ID]; !ok || until.UnixMilli() > old {
			r.jtis[e.ID] = until.UnixMilli()
		}
	} else if !e.Cutoff.IsZero() && e.ID != "" {
		// Events may arrive out of order across a replay; a cutoff only
		// ever moves forward.
		if cut := e.Cutoff.UnixMilli(); cut > m[e.ID] {
			m[e.ID] = cut
		}
	}
	// Pruning walks every map, so it runs now and then rather than on each
	// event; entries that outlived their use only cost memory meanwhile.
	if r.applied++; r.applied >= 1024 || now.Sub(r.pruned) >= time.Minute {
		r.pruneLocked(now)
	}
}

// pruneLocked drops revoked jtis whose tokens have expired and cutoffs
// older than any token that can still be valid.
func (r *revocations) pruneLocked(now time.Time) {
	r.applied, r.pruned = 0, now
	expired := now.Add(-r.leeway).UnixMilli()
	for jti, until := range r.jtis {
		if until < expired {
			delete(r.jtis, jti)
		}
	}
	oldest := now.Add(-r.keep).UnixMilli()
	for _, m := range []map[string]int64{r.accounts, r.users, r.keys} {
		for id, cut := range m {
			if cut < oldest {
				delete(m, id)
			}
		}
	}
}
