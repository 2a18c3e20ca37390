package crossbar

import (
	"context"
	"sync"

	"github.com/audian/audian/internal/identity"
)

// feedCache keeps values loaded from the store in memory, by account id,
// because the pipeline needs them on every request (the caller's and the
// target's accounts, the target's token restrictions) and a database round
// trip per request would dominate the hot path. API.Apply drops an entry
// on the account's change-feed event, so every process sees a change
// within one feed poll.
type feedCache[V any] struct {
	load func(ctx context.Context, id string) (V, error)
	max  int

	mu      sync.RWMutex
	entries map[string]V
	// gen counts invalidations. A load that raced with an invalidation
	// must not put what it read into the cache: it may predate the change.
	gen uint64
}

func newFeedCache[V any](max int, load func(ctx context.Context, id string) (V, error)) *feedCache[V] {
	return &feedCache[V]{load: load, max: max, entries: make(map[string]V)}
}

// get returns the value for id, loading it on a miss. Values are shared:
// callers must not modify them.
func (c *feedCache[V]) get(ctx context.Context, id string) (V, error) {
	c.mu.RLock()
	v, ok := c.entries[id]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := c.load(ctx, id)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.entries) >= c.max {
			// Dropping everything is crude but bounded and rare: the cache
			// holds every account of all but the largest deployments.
			clear(c.entries)
		}
		c.entries[id] = v
	}
	c.mu.Unlock()
	return v, nil
}

func (c *feedCache[V]) invalidate(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
}

// cachedAccount is an account with its reply document, rendered once.
type cachedAccount struct {
	acct *identity.Account
	once sync.Once
	json []byte
	etag string
}

func newAccountCache(s identity.Store, max int) *feedCache[*cachedAccount] {
	return newFeedCache(max, func(ctx context.Context, id string) (*cachedAccount, error) {
		a, err := s.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		return &cachedAccount{acct: a}, nil
	})
}

var _ identity.AccountGate = (*API)(nil)

// AccountUsable applies identity.AccountUsable with ancestors read from the
// account cache, which the change feed invalidates: an account disabled on
// any node suspends its subtree here within one feed poll, and the check
// costs one map lookup per ancestor.
func (a *API) AccountUsable(ctx context.Context, acct *identity.Account) (bool, error) {
	return identity.AccountUsable(ctx, acct, a.cachedAccount)
}

func (a *API) cachedAccount(ctx context.Context, id string) (*identity.Account, error) {
	c, err := a.accounts.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.acct, nil
}
