// Package token issues and verifies audian's auth tokens: JWTs (RS256,
// ES256 or EdDSA) whose claims are identity.Claims, signed by a key ring
// shared through the Store, with revocation fed from the Store's change
// feed and a cache that makes verifying a token seen before cost a hash
// and a map lookup instead of a signature check.
//
// A token is accepted when it is a compact JWS in its one canonical
// spelling, its signature verifies under the ring key its kid names (with
// that key's algorithm), its claims are audian's (issuer, audience when
// present, a lifetime no longer than the maximum, not issued in the
// future, nbf reached), it has not expired, and no revocation applies: its
// jti or its session was not revoked, and it was not issued at or before a
// cutoff of its account, user or API key. Revocation is looked up on every
// Verify, cached or not, so an event applied is in force for the next
// request.
//
// Sessions: a login starts one (sid = the login token's jti, auth_time =
// now); a token issued from another (a refresh, an access token) carries
// its sid and auth_time on and never lives past auth_time plus
// SessionLifetime. Revoking any token of a session revokes the session,
// so logging out with a refreshed token ends the login, and the tokens
// minted from it, too.
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

// Lifetime bounds for a token, from the spec. MaxLifetime also bounds a
// session: the change feed keeps a session's revocation only that long.
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
	// Audience lists the "aud" values a token may carry; a token with an
	// aud naming none of them is refused. Default: the Issuer. A token
	// without aud is accepted.
	Audience []string
	// Algorithm is the algorithm of the keys this Service generates (on
	// an empty ring and at each Rotate): RS256 (default), ES256 or EdDSA.
	// Every process signs with the ring's newest key whatever its own
	// setting, so a change of algorithm takes effect at the next rotation.
	Algorithm string
	// Lifetime is the default token lifetime, default 1h. Issue may ask
	// for another within [MinLifetime, MaxLifetime].
	Lifetime time.Duration
	// MaxLifetime, default 24h, is the longest lifetime Issue grants and
	// Verify accepts (exp - iat), and so how long a retired key keeps
	// verifying and a cutoff is kept.
	MaxLifetime time.Duration
	// SessionLifetime, default 24h and at most MaxLifetime, bounds a
	// session: no token descending from a login lives past the login's
	// time plus SessionLifetime, however often it is refreshed.
	SessionLifetime time.Duration
	// Leeway, default 30s, is how long after exp a token is still
	// accepted, and how far in the future an iat or nbf may lie, for
	// clocks that differ between nodes.
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
	if cfg.Audience == nil {
		cfg.Audience = []string{cfg.Issuer}
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = RS256
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = time.Hour
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = MaxLifetime
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = cfg.MaxLifetime
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
	case !slices.Contains(Algorithms, cfg.Algorithm):
		return nil, fmt.Errorf("token: algorithm %q is not one of %v", cfg.Algorithm, Algorithms)
	case cfg.MaxLifetime < MinLifetime || cfg.MaxLifetime > MaxLifetime:
		return nil, fmt.Errorf("token: max lifetime %s is outside %s..%s", cfg.MaxLifetime, MinLifetime, MaxLifetime)
	case cfg.Lifetime < MinLifetime || cfg.Lifetime > cfg.MaxLifetime:
		return nil, fmt.Errorf("token: lifetime %s is outside %s..%s", cfg.Lifetime, MinLifetime, cfg.MaxLifetime)
	case cfg.SessionLifetime < MinLifetime || cfg.SessionLifetime > cfg.MaxLifetime:
		return nil, fmt.Errorf("token: session lifetime %s is outside %s..%s", cfg.SessionLifetime, MinLifetime, cfg.MaxLifetime)
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

// ErrSessionOver is what Issue returns for a token of a session that has
// reached its end: the holder must log in again.
var ErrSessionOver = &identity.Error{Code: identity.EUnauthorized, Message: "session expired"}

// Issue signs a token for c. It sets c's Issuer, IssuedAt, ExpiresAt and
// ID and returns the token with the claims as signed. lifetime 0 means
// Config.Lifetime; any other must lie within [MinLifetime, MaxLifetime].
//
// c without a SessionID is a login: the token starts a session of its own.
// c with one is derived from a token of that session (whose AuthTime it
// must carry): its exp is clamped to the session's end, and to
// c.ExpiresAt when that is set (a parent the token must not outlive); a
// session already over is ErrSessionOver.
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
	exp := now.Add(lifetime).Unix()
	c.Issuer = s.cfg.Issuer
	c.IssuedAt = now.Unix()
	c.ID = newJTI(now)
	c.NotBefore, c.Audience = 0, nil
	if c.SessionID == "" {
		c.SessionID, c.AuthTime = c.ID, now.Unix()
	} else {
		if c.AuthTime <= 0 {
			return "", identity.Claims{}, errors.New("token: a derived token without auth_time")
		}
		exp = min(exp, c.AuthTime+int64(s.cfg.SessionLifetime/time.Second))
		if c.ExpiresAt > 0 {
			exp = min(exp, c.ExpiresAt)
		}
		if exp <= c.IssuedAt {
			return "", identity.Claims{}, ErrSessionOver
		}
	}
	c.ExpiresAt = exp
	c.Scopes = slices.Clone(c.Scopes) // the cached copy must not share the caller's array
	payload, err := json.Marshal(&c)
	if err != nil {
		return "", identity.Claims{}, fmt.Errorf("token: encoding claims: %w", err)
	}
	raw, err := sign(r.current, r.signer, payload)
	if err != nil {
		return "", identity.Claims{}, fmt.Errorf("token: signing: %w", err)
	}
	// A client uses its token right after receiving it; caching it now
	// saves that first verification.
	stored := c
	s.slim(&stored)
	d := digestOf(raw)
	s.cache.put(&d, s.entryFor(&stored, r.current), now.UnixNano())
	return raw, c, nil
}

// Verify checks raw and returns its claims. Failures are, or wrap,
// identity.ErrInvalidToken, identity.ErrTokenExpired or
// identity.ErrTokenRevoked.
//
// The returned Claims are shared with the cache and with every other
// caller presenting the same token, which is what keeps a cache hit free
// of allocation: callers must treat them as read-only. A token issued
// before sessions existed comes back as a session of its own (SessionID
// its jti, AuthTime its iat).
func (s *Service) Verify(raw string) (*identity.Claims, error) {
	if len(raw) > maxTokenLen {
		return nil, identity.ErrInvalidToken
	}
	nowNs := s.cfg.Now().UnixNano()
	d := digestOf(raw)
	if e, ok := s.cache.get(&d); ok {
		if err := s.check(&e, nowNs); err != nil {
			if err != identity.ErrTokenRevoked {
				// Expired entries will never be valid again; revoked ones
				// stay so that repeated use stays cheap.
				s.cache.remove(&d)
			}
			return nil, err
		}
		return e.claims, nil
	}
	if !compactJWS(raw) {
		return nil, identity.ErrInvalidToken
	}
	c, k, err := s.verifySignature(raw, nowNs)
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
		// retry should cost a lookup, not a signature check.
		s.cache.put(&d, e, nowNs)
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

// slim makes c share what it can with every other cached token, since the
// cache holds up to CacheSize of them: the issuer and the handful of
// method and role names become the process' own strings instead of a
// copy per token, and slices lose their spare capacity.
func (s *Service) slim(c *identity.Claims) {
	c.Issuer = s.cfg.Issuer
	c.Method = intern(c.Method)
	c.PrivLevel = intern(c.PrivLevel)
	if c.SessionID == c.ID {
		c.SessionID = c.ID // equal, but decoded into two allocations
	}
	c.Scopes = slices.Clip(slices.Clone(c.Scopes))
	c.CIDRs = slices.Clip(slices.Clone(c.CIDRs))
	c.Audience = nil // checked once; nothing after verification reads it
}

var interned = map[string]string{}

func init() {
	for _, v := range []string{identity.MethodAPIAuth, identity.MethodUserAuth, identity.MethodAuth, identity.MethodOAuth,
		identity.RoleAdmin, identity.RoleUser} {
		interned[v] = v
	}
}

func intern(v string) string {
	if w, ok := interned[v]; ok {
		return w
	}
	return v
}

// verifySignature parses raw, checks its signature under the ring key its
// kid names, and checks the claims that need checking only once. It is the
// slow path: one public-key operation.
func (s *Service) verifySignature(raw string, nowNs int64) (*identity.Claims, *key, error) {
	hdr, payload, sig, input, ok := splitJWS(raw)
	if !ok {
		return nil, nil, fmt.Errorf("%w: malformed", identity.ErrInvalidToken)
	}
	h, ok := parseHeader(hdr)
	if !ok {
		return nil, nil, fmt.Errorf("%w: header", identity.ErrInvalidToken)
	}
	k := s.lookupKey(h.Kid)
	if k == nil {
		return nil, nil, fmt.Errorf("%w: unknown kid", identity.ErrInvalidToken)
	}
	if h.Alg != k.alg {
		return nil, nil, fmt.Errorf("%w: algorithm", identity.ErrInvalidToken)
	}
	if !verifySig(k, []byte(input), sig) {
		return nil, nil, fmt.Errorf("%w: signature", identity.ErrInvalidToken)
	}
	var c identity.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: claims", identity.ErrInvalidToken)
	}
	if err := s.checkClaims(&c, nowNs); err != nil {
		return nil, nil, err
	}
	if c.SessionID == "" {
		c.SessionID, c.AuthTime = c.ID, c.IssuedAt
	}
	s.slim(&c)
	return &c, k, nil
}

// checkClaims applies the claim rules that hold for good once they hold:
// an nbf or iat in the future is refused now and may pass later, so such
// a token is not cached (Verify caches only what passed).
func (s *Service) checkClaims(c *identity.Claims, nowNs int64) error {
	now := nowNs / int64(time.Second)
	leeway := int64(s.cfg.Leeway / time.Second)
	switch {
	case c.Issuer != s.cfg.Issuer:
		return fmt.Errorf("%w: issuer", identity.ErrInvalidToken)
	case c.AccountID == "":
		return fmt.Errorf("%w: no account_id", identity.ErrInvalidToken)
	case c.ID == "":
		return fmt.Errorf("%w: no jti", identity.ErrInvalidToken)
	case c.Audience != nil && !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(s.cfg.Audience, a) }):
		return fmt.Errorf("%w: audience", identity.ErrInvalidToken)
	case c.ExpiresAt <= 0:
		return identity.ErrTokenExpired
	case c.IssuedAt <= 0 || c.IssuedAt > now+leeway:
		// A token issued in the future was minted on a clock far ahead, or
		// forged to outlive the rules on lifetime.
		return fmt.Errorf("%w: iat", identity.ErrInvalidToken)
	case c.ExpiresAt-c.IssuedAt > int64(s.cfg.MaxLifetime/time.Second):
		return fmt.Errorf("%w: lifetime", identity.ErrInvalidToken)
	case c.NotBefore > now+leeway:
		return fmt.Errorf("%w: not yet valid", identity.ErrInvalidToken)
	case c.AuthTime > c.IssuedAt:
		return fmt.Errorf("%w: auth_time", identity.ErrInvalidToken)
	}
	return nil
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
// or before it, and a token event refuses the token whose jti, or the
// session whose sid, is its ID. Signing-key events are the caller's to
// turn into a Reload, which does I/O that Apply must not.
func (s *Service) Apply(e identity.Event) {
	s.revs.apply(e, s.cfg.Now())
}

// SessionEnd is the latest instant any token of a session that began at
// authTime may live: the time a revocation of the session must be kept.
func (s *Service) SessionEnd(authTime time.Time) time.Time {
	return authTime.Add(s.cfg.SessionLifetime + s.cfg.Leeway)
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
