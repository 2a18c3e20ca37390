package token

import (
	"crypto/sha256"
	"sync"
	"unsafe"

	"github.com/audian/audian/internal/identity"
)

// cacheShards spreads the verified-token cache over this many independently
// locked maps so that concurrent requests rarely share a lock.
const cacheShards = 64

// digest is the cache key of a token: its SHA-256. A fixed-size key keeps
// an entry's size independent of the token's (an RS256 token is about
// 700 bytes, its digest 32), and a cache hit stands in for a signature
// check only because finding another string with the same digest is
// infeasible.
type digest [sha256.Size]byte

// digestOf hashes raw in place: converting a token to []byte would copy
// it onto the heap on every request, and sha256 only reads its input.
func digestOf(raw string) digest {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// entry is what a verified token leaves in the cache: the claims and the
// instants derived from them. Revocation is deliberately not part of it;
// it is looked up on every hit, so a revocation takes effect at once.
type entry struct {
	claims   *identity.Claims
	issuedMs int64 // from the jti
	expNs    int64 // exp plus leeway, Unix ns: refused from then on
	keyNs    int64 // when the signing key stops verifying, Unix ns
}

// cache maps a token's digest to its verified claims, so that a client
// presenting the same token on every request pays one signature
// verification, not one per request. It is bounded: a full shard drops an
// entry, preferring an expired one, before taking a new one.
type cache struct {
	perShard int
	shards   [cacheShards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[digest]entry
	_  [32]byte // keep neighbouring shards' locks off one cache line
}

func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	c := &cache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[digest]entry)
	}
	return c
}

// shardOf picks a shard from the digest, whose bytes are uniform.
func (c *cache) shardOf(d *digest) *shard { return &c.shards[d[0]%cacheShards] }

func (c *cache) get(d *digest) (entry, bool) {
	if c == nil {
		return entry{}, false
	}
	s := c.shardOf(d)
	s.mu.RLock()
	e, ok := s.m[*d]
	s.mu.RUnlock()
	return e, ok
}

func (c *cache) put(d *digest, e entry, nowNs int64) {
	if c == nil {
		return
	}
	s := c.shardOf(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[*d]; !ok && len(s.m) >= c.perShard {
		s.evictLocked(nowNs)
	}
	s.m[*d] = e
}

// evictLocked removes one entry: an expired one if one of the first few
// the map yields is, otherwise the first. Map iteration starts at a random
// place, so this is random eviction, which needs no bookkeeping on hits.
func (s *shard) evictLocked(nowNs int64) {
	var victim digest
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

func (c *cache) remove(d *digest) {
	if c == nil {
		return
	}
	s := c.shardOf(d)
	s.mu.Lock()
	delete(s.m, *d)
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
