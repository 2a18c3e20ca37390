package token

import (
	"strings"
	"sync"

	"github.com/audian/audian/internal/identity"
)

// cacheShards spreads the verified-token cache over this many independently
// locked maps so that concurrent requests rarely share a lock.
const cacheShards = 64

// entry is what a verified token leaves in the cache: the claims and the
// instants derived from them. Revocation is deliberately not part of it;
// it is looked up on every hit, so a revocation takes effect at once.
type entry struct {
	claims   *identity.Claims
	issuedMs int64 // from the jti
	expNs    int64 // exp plus leeway, Unix ns: refused from then on
	keyNs    int64 // when the signing key stops verifying, Unix ns
}

// cache maps a raw token to its verified claims, so that a client
// presenting the same token on every request pays one RSA verification,
// not one per request. It is bounded: a full shard drops an entry,
// preferring an expired one, before taking a new one.
type cache struct {
	perShard int
	shards   [cacheShards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]entry
	_  [32]byte // keep neighbouring shards' locks off one cache line
}

func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	c := &cache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]entry)
	}
	return c
}

// shardOf picks a shard from characters near the end of the token, which
// are signature bytes. Only tokens whose signature verified are stored, and
// their signatures are uniformly distributed, so this spreads entries as
// well as a hash would without hashing the whole token a second time. The
// very last character is skipped because it carries only two bits of a
// 2048-bit signature.
func (c *cache) shardOf(raw string) *shard {
	var h uint64
	if n := len(raw); n >= 9 {
		for i := n - 9; i < n-1; i++ {
			h = h<<8 | uint64(raw[i])
		}
	}
	h *= 0x9e3779b97f4a7c15
	return &c.shards[h>>(64-6)] // 6 bits: cacheShards == 64
}

func (c *cache) get(raw string) (entry, bool) {
	if c == nil {
		return entry{}, false
	}
	s := c.shardOf(raw)
	s.mu.RLock()
	e, ok := s.m[raw]
	s.mu.RUnlock()
	return e, ok
}

func (c *cache) put(raw string, e entry, nowNs int64) {
	if c == nil {
		return
	}
	// The caller's string may be a slice of a larger buffer (a header, a
	// request body); keeping it as a map key would pin that buffer.
	raw = strings.Clone(raw)
	s := c.shardOf(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[raw]; !ok && len(s.m) >= c.perShard {
		s.evictLocked(nowNs)
	}
	s.m[raw] = e
}

// evictLocked removes one entry: an expired one if one of the first few
// the map yields is, otherwise the first. Map iteration starts at a random
// place, so this is random eviction, which needs no bookkeeping on hits.
func (s *shard) evictLocked(nowNs int64) {
	var victim string
	n := 0
	for k, e := range s.m {
		if n == 0 {
			victim = k
		}
		if e.expNs <= nowNs || e.keyNs <= nowNs {
			victim = k
			break
		}
		if n++; n == 8 {
			break
		}
	}
	delete(s.m, victim)
}

func (c *cache) remove(raw string) {
	if c == nil {
		return
	}
	s := c.shardOf(raw)
	s.mu.Lock()
	delete(s.m, raw)
	s.mu.Unlock()
}

// clear empties the cache; Reload calls it when a key stops verifying
// sooner than cached entries assumed.
func (c *cache) clear() {
	if c == nil {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

func (c *cache) len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
