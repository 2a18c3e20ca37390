// Package token issues and verifies audian's auth tokens: RS256 JWTs whose
// claims are identity.Claims, signed by a key ring shared through the
// Store, with revocation fed from the Store's change feed and a cache that
// makes verifying a token seen before cost a map lookup instead of an RSA
// operation.
//
// A token is accepted when its signature verifies under a key of the ring
// that still verifies, it has not expired, and no revocation applies:
// its jti was not revoked, and it was not issued at or before a cutoff of
// its account, user or API key. Revocation is looked up on every Verify,
// cached or not, so an event applied is in force for the next request.
package token

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/audian/audian/internal/identity"
)

// KeyStore is the part of identity.Store the key ring lives in.
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]*identity.SigningKey, error)
	AddSigningKey(ctx context.Context, k *identity.SigningKey) error
	UpdateSigningKey(ctx context.Context, id string, fn func(*identity.SigningKey) error) (*identity.SigningKey, error)
}

var _ KeyStore = identity.Store(nil)

// Sealer encrypts signing keys under the key-encryption key
// (*credential.Sealer).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(ciphertext, ad []byte) ([]byte, error)
}

// Lifetime bounds for a token, from the spec.
const (
	MinLifetime = 15 * time.Minute
	MaxLifetime = 24 * time.Hour
)

// maxTokenLen bounds what Verify parses: audian's tokens are under 1 KiB,
// and refusing more keeps a flood of huge headers from costing parse time.
const maxTokenLen = 8 << 10

// Config configures a Service. Zero fields take the defaults noted.
type Config struct {
	Issuer string // default "audian"
	// Lifetime is the default token lifetime, default 1h. Issue may ask
	// for another within [MinLifetime, MaxLifetime].
	Lifetime time.Duration
	// MaxLifetime, default 24h, is the longest lifetime Issue grants, and
	// so how long a retired key keeps verifying and a cutoff is kept.
	MaxLifetime time.Duration
	// Leeway, default 30s, is how long after exp a token is still
	// accepted, for clocks that differ between nodes.
	Leeway time.Duration
	// CacheSize is the number of verified tokens kept, default 100_000
	// (a few hundred bytes each); negative disables the cache.
	CacheSize int
	Now       func() time.Time
}

// Service issues and verifies tokens. It is safe for concurrent use.
type Service struct {
	cfg    Config
	ks     KeyStore
	sealer Sealer

	ring     atomic.Pointer[ring]
	reloadMu sync.Mutex
	// missReload is the Unix ns of the last reload an unknown kid caused;
	// see Verify.
	missReload atomic.Int64

	cache *cache
	revs  *revocations
}

// New returns a Service on the key ring in ks, generating the first key
// when the ring has none (see Reload).
func New(ctx context.Context, ks KeyStore, sealer Sealer, cfg Config) (*Service, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = "audian"
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = time.Hour
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = MaxLifetime
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.MaxLifetime < MinLifetime || cfg.MaxLifetime > MaxLifetime:
		return nil, fmt.Errorf("token: max lifetime %s is outside %s..%s", cfg.MaxLifetime, MinLifetime, MaxLifetime)
	case cfg.Lifetime < MinLifetime || cfg.Lifetime > cfg.MaxLifetime:
		return nil, fmt.Errorf("token: lifetime %s is outside %s..%s", cfg.Lifetime, MinLifetime, cfg.MaxLifetime)
	case cfg.Leeway < 0:
		return nil, fmt.Errorf("token: negative leeway %s", cfg.Leeway)
	}
	s := &Service{
		cfg:    cfg,
		ks:     ks,
		sealer: sealer,
		cache:  newCache(cfg.CacheSize),
		revs:   newRevocations(cfg.MaxLifetime, cfg.Leeway),
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Issue signs a token for c. It sets c's Issuer, IssuedAt, ExpiresAt and
// ID and returns the token with the claims as signed. lifetime 0 means
// Config.Lifetime; any other must lie within [MinLifetime, MaxLifetime].
func (s *Service) Issue(c identity.Claims, lifetime time.Duration) (string, identity.Claims, error) {
	if lifetime == 0 {
		lifetime = s.cfg.Lifetime
	}
	if lifetime < MinLifetime || lifetime > s.cfg.MaxLifetime {
		return "", identity.Claims{}, fmt.Errorf("token: lifetime %s is outside %s..%s", lifetime, MinLifetime, s.cfg.MaxLifetime)
	}
	if c.AccountID == "" {
		return "", identity.Claims{}, errors.New("token: claims without account_id")
	}
	r := s.ring.Load()
	now := s.cfg.Now()
	c.Issuer = s.cfg.Issuer
	c.IssuedAt = now.Unix()
	c.ExpiresAt = now.Add(lifetime).Unix()
	c.ID = newJTI(now)
	c.Scopes = slices.Clone(c.Scopes) // the cached copy must not share the caller's array
	payload, err := json.Marshal(&c)
	if err != nil {
		return "", identity.Claims{}, fmt.Errorf("token: encoding claims: %w", err)
	}
	sig, err := r.signer.Sign(payload)
	if err != nil {
		return "", identity.Claims{}, fmt.Errorf("token: signing: %w", err)
	}
	raw, err := sig.CompactSerialize()
	if err != nil {
		return "", identity.Claims{}, fmt.Errorf("token: signing: %w", err)
	}
	// A client uses its token right after receiving it; caching it now
	// saves that first verification.
	stored := c
	stored.Scopes = slices.Clone(c.Scopes)
	s.cache.put(raw, s.entryFor(&stored, r.current), now.UnixNano())
	return raw, c, nil
}

// Verify checks raw and returns its claims. Failures are, or wrap,
// identity.ErrInvalidToken, identity.ErrTokenExpired or
// identity.ErrTokenRevoked.
//
// The returned Claims are shared with the cache and with every other
// caller presenting the same token, which is what keeps a cache hit free
// of allocation: callers must treat them as read-only.
func (s *Service) Verify(raw string) (*identity.Claims, error) {
	if len(raw) > maxTokenLen {
		return nil, identity.ErrInvalidToken
	}
	nowNs := s.cfg.Now().UnixNano()
	if e, ok := s.cache.get(raw); ok {
		if err := s.check(&e, nowNs); err != nil {
			if err != identity.ErrTokenRevoked {
				// Expired entries will never be valid again; revoked ones
				// stay so that repeated use stays cheap.
				s.cache.remove(raw)
			}
			return nil, err
		}
		return e.claims, nil
	}
	if !compactJWS(raw) {
		return nil, identity.ErrInvalidToken
	}
	c, k, err := s.verifySignature(raw)
	if err != nil {
		return nil, err
	}
	e := s.entryFor(c, k)
	if e.issuedMs < 0 {
		return nil, fmt.Errorf("%w: bad jti", identity.ErrInvalidToken)
	}
	err = s.check(&e, nowNs)
	if err == nil || err == identity.ErrTokenRevoked {
		// A revoked token is cached too: clients retry with it, and each
		// retry should cost a lookup, not an RSA verification.
		s.cache.put(raw, e, nowNs)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// check applies the rules that depend on time and on revocation, on every
// Verify whether the entry came from the cache or not.
func (s *Service) check(e *entry, nowNs int64) error {
	switch {
	case nowNs >= e.expNs:
		return identity.ErrTokenExpired
	case nowNs >= e.keyNs:
		// Only reachable when a key was retired with a RetiredAt in the
		// past: a key otherwise outlives every token it signed.
		return identity.ErrInvalidToken
	case s.revs.revoked(e.claims, e.issuedMs):
		return identity.ErrTokenRevoked
	}
	return nil
}

func (s *Service) entryFor(c *identity.Claims, k *key) entry {
	ms, ok := IssuedAtMillis(c.ID)
	if !ok {
		ms = -1
	}
	var exp int64 // exp plus leeway in Unix ns, kept clear of overflow
	switch {
	case c.ExpiresAt <= 0:
		exp = 0
	case c.ExpiresAt >= (math.MaxInt64-int64(s.cfg.Leeway))/int64(time.Second):
		exp = math.MaxInt64
	default:
		exp = c.ExpiresAt*int64(time.Second) + int64(s.cfg.Leeway)
	}
	return entry{claims: c, issuedMs: ms, expNs: exp, keyNs: k.until}
}

// algorithms is the allow-list handed to the JOSE parser.
var algorithms = []jose.SignatureAlgorithm{jose.RS256}

// verifySignature parses raw, checks its signature under the ring key its
// kid names, and checks the claims that do not depend on time. It is the
// slow path: one RSA public-key operation.
func (s *Service) verifySignature(raw string) (*identity.Claims, *key, error) {
	jws, err := jose.ParseSignedCompact(raw, algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil, fmt.Errorf("%w: malformed", identity.ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != algorithm {
		return nil, nil, fmt.Errorf("%w: algorithm", identity.ErrInvalidToken)
	}
	k := s.lookupKey(h.KeyID)
	if k == nil {
		return nil, nil, fmt.Errorf("%w: unknown kid", identity.ErrInvalidToken)
	}
	payload, err := jws.Verify(k.pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signature", identity.ErrInvalidToken)
	}
	var c identity.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: claims", identity.ErrInvalidToken)
	}
	switch {
	case c.Issuer != s.cfg.Issuer:
		return nil, nil, fmt.Errorf("%w: issuer", identity.ErrInvalidToken)
	case c.AccountID == "":
		return nil, nil, fmt.Errorf("%w: no account_id", identity.ErrInvalidToken)
	case c.ID == "":
		return nil, nil, fmt.Errorf("%w: no jti", identity.ErrInvalidToken)
	}
	return &c, k, nil
}

// missReloadEvery limits reloads caused by unknown kids.
const missReloadEvery = time.Second

// lookupKey returns the ring key kid names, or nil. An unknown kid may be
// a key another node has just added and whose event this node has not yet
// followed (two nodes starting on an empty database, or a rotation), so
// it re-reads the ring, but at most once per missReloadEvery: unknown kids
// are also what an attacker sends, and must not become database load.
func (s *Service) lookupKey(kid string) *key {
	if k := s.ring.Load().keys[kid]; k != nil || kid == "" {
		return k
	}
	now := s.cfg.Now().UnixNano()
	last := s.missReload.Load()
	if now-last < int64(missReloadEvery) && now >= last || !s.missReload.CompareAndSwap(last, now) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.Reload(ctx) != nil {
		return nil
	}
	return s.ring.Load().keys[kid]
}

// Apply feeds one change-feed event to the revocation state: an account,
// user or API key event with a Cutoff refuses that id's tokens issued at
// or before it, and a token event refuses one jti until it expires.
// Signing-key events are the caller's to turn into a Reload, which does
// I/O that Apply must not.
func (s *Service) Apply(e identity.Event) {
	s.revs.apply(e, s.cfg.Now())
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("token: crypto/rand failed: " + err.Error())
	}
}

// compactJWS reports whether raw uses only the characters of a compact
// JWS (base64url and dots). Base64 decoders skip line breaks, so without
// this a token with one inside would verify; callers then rely on every
// verified token being safe to copy into a reply unescaped.
func compactJWS(raw string) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
