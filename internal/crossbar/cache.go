package crossbar

import (
	"context"
	"sync"

	"github.com/audian/audian/internal/identity"
)

// accountCache keeps accounts in memory, because every authenticated
// request needs its caller's account (enabled, system) and the target's
// ancestry (reach), and a database round trip per request would dominate
// the hot path. Entries are dropped by change-feed events (API.Apply), so
// every process sees a change within one feed poll.
type accountCache struct {
	store identity.Store
	max   int

	mu      sync.RWMutex
	entries map[string]*cachedAccount
	// gen counts invalidations. A load that raced with an invalidation
	// must not put what it read into the cache: it may predate the change.
	gen uint64
}

type cachedAccount struct {
	acct *identity.Account
	once sync.Once
	json []byte // the rendered account document, built on first use
}

func newAccountCache(s identity.Store, max int) *accountCache {
	return &accountCache{store: s, max: max, entries: make(map[string]*cachedAccount)}
}

// get returns the account with id. The returned value is shared: callers
// must not modify it.
func (c *accountCache) get(ctx context.Context, id string) (*cachedAccount, error) {
	c.mu.RLock()
	e, ok := c.entries[id]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return e, nil
	}
	a, err := c.store.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	e = &cachedAccount{acct: a}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.entries) >= c.max {
			// Dropping everything is crude but bounded and rare: the cache
			// holds every account of all but the largest deployments.
			clear(c.entries)
		}
		c.entries[id] = e
	}
	c.mu.Unlock()
	return e, nil
}

func (c *accountCache) invalidate(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
}
