package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// fakeStore is an in-memory KeyStore shared by the Services of a test, the
// way nodes share a database.
type fakeStore struct {
	mu   sync.Mutex
	keys map[string]*identity.SigningKey
	// stale, while positive, makes SigningKeys answer as if no key existed
	// yet, to stage a node that read the ring before another's insert.
	stale atomic.Int32
}

func newFakeStore() *fakeStore { return &fakeStore{keys: map[string]*identity.SigningKey{}} }

func cloneKey(k *identity.SigningKey) *identity.SigningKey {
	c := *k
	c.Public, c.Sealed = bytes.Clone(k.Public), bytes.Clone(k.Sealed)
	return &c
}

func (f *fakeStore) SigningKeys(context.Context) ([]*identity.SigningKey, error) {
	if f.stale.Add(-1) >= 0 {
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*identity.SigningKey
	for _, k := range f.keys {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b *identity.SigningKey) int { return b.Created.Compare(a.Created) })
	return out, nil
}

func (f *fakeStore) AddSigningKey(_ context.Context, k *identity.SigningKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[k.ID]; ok {
		return identity.ErrConflict
	}
	f.keys[k.ID] = cloneKey(k)
	return nil
}

func (f *fakeStore) UpdateSigningKey(_ context.Context, id string, fn func(*identity.SigningKey) error) (*identity.SigningKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return nil, identity.ErrNotFound
	}
	c := cloneKey(k)
	if err := fn(c); err != nil {
		return nil, err
	}
	f.keys[id] = cloneKey(c)
	return c, nil
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time                  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration)             { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)                 { c.ns.Store(t.UnixNano()) }
func (c *clock) config() Config                  { return Config{Now: c.Now} }
func (c *clock) withCache(n int) Config          { return Config{Now: c.Now, CacheSize: n} }
func (c *clock) ms() int64                       { return c.Now().UnixMilli() }
func (c *clock) after(d time.Duration) time.Time { return c.Now().Add(d) }

var testSealer = func() *credential.Sealer {
	s, err := credential.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	return s
}()

// seeded returns a store holding one signing key, generated once per test
// binary: RSA key generation costs up to a few hundred milliseconds.
var seedKey = sync.OnceValue(func() *identity.SigningKey {
	st := newFakeStore()
	if _, err := New(context.Background(), st, testSealer, Config{}); err != nil {
		panic(err)
	}
	ks, _ := st.SigningKeys(context.Background())
	return ks[0]
})

func seededStore() *fakeStore {
	st := newFakeStore()
	k := cloneKey(seedKey())
	k.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st.keys[k.ID] = k
	return st
}

type fixture struct {
	s     *Service
	st    *fakeStore
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{st: seededStore(), clock: newClock()}
	var err error
	if f.s, err = New(context.Background(), f.st, testSealer, f.clock.config()); err != nil {
		t.Fatal(err)
	}
	return f
}

func userClaims() identity.Claims {
	return identity.Claims{
		AccountID: "a0000000000000000000000000000001",
		OwnerID:   "u0000000000000000000000000000001",
		Method:    identity.MethodUserAuth,
		PrivLevel: identity.RoleAdmin,
	}
}

func keyClaims() identity.Claims {
	return identity.Claims{
		AccountID: "a0000000000000000000000000000001",
		KeyID:     "k0000000000000000000000000000001",
		Method:    identity.MethodAPIAuth,
		Scopes:    []string{"users:read"},
	}
}

func (f *fixture) issue(t testing.TB, c identity.Claims) (string, identity.Claims) {
	t.Helper()
	raw, got, err := f.s.Issue(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	return raw, got
}

// privateKey opens the private half of a ring key, as a node holding the
// key-encryption key could.
func (f *fixture) privateKey(t testing.TB, kid string) *rsa.PrivateKey {
	t.Helper()
	f.st.mu.Lock()
	sk := cloneKey(f.st.keys[kid])
	f.st.mu.Unlock()
	der, err := testSealer.Open(sk.Sealed, []byte(kid))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func (f *fixture) kid() string { return f.s.ring.Load().current.id }

var b64 = base64.RawURLEncoding

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forge builds a compact JWS by hand, so that a test controls every byte
// of the header whatever a library would allow.
func forge(t testing.TB, header map[string]any, payload any, sign func(input []byte) []byte) string {
	t.Helper()
	input := b64.EncodeToString(mustJSON(t, header)) + "." + b64.EncodeToString(mustJSON(t, payload))
	return input + "." + b64.EncodeToString(sign([]byte(input)))
}

// signWith signs payload with go-jose under alg and key, with kid.
func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, payload any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(mustJSON(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestIssue(t *testing.T) {
	f := newFixture(t)
	in := keyClaims()
	raw, got, err := f.s.Issue(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "eyJhbGciOiJSUzI1") {
		t.Errorf("token %q does not start with eyJhbGciOiJSUzI1", raw[:20])
	}
	hdr, _ := b64.DecodeString(strings.Split(raw, ".")[0])
	var h map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"alg": "RS256", "kid": f.kid(), "typ": "JWT"}, h); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	now := f.clock.Now()
	want := in
	want.Issuer, want.IssuedAt, want.ExpiresAt, want.ID = "audian", now.Unix(), now.Add(time.Hour).Unix(), got.ID
	want.SessionID, want.AuthTime = got.ID, now.Unix() // a login starts its own session
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if ms, ok := IssuedAtMillis(got.ID); !ok || ms != now.UnixMilli() {
		t.Errorf("IssuedAtMillis(%q) = %d, %v; want %d", got.ID, ms, ok, now.UnixMilli())
	}
	verified, err := f.s.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&got, verified); diff != "" {
		t.Errorf("Verify (-issued +verified):\n%s", diff)
	}
	if _, again, _ := f.s.Issue(in, 0); again.ID == got.ID {
		t.Error("two tokens share a jti")
	}
}

func TestIssueLifetime(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		lifetime, want time.Duration
		ok             bool
	}{
		{0, time.Hour, true},
		{15 * time.Minute, 15 * time.Minute, true},
		{24 * time.Hour, 24 * time.Hour, true},
		{15*time.Minute - time.Second, 0, false},
		{24*time.Hour + time.Second, 0, false},
		{-time.Hour, 0, false},
	}
	for _, tt := range tests {
		_, c, err := f.s.Issue(userClaims(), tt.lifetime)
		if (err == nil) != tt.ok {
			t.Errorf("Issue(lifetime %s) error = %v, want ok=%v", tt.lifetime, err, tt.ok)
			continue
		}
		if tt.ok && time.Duration(c.ExpiresAt-c.IssuedAt)*time.Second != tt.want {
			t.Errorf("Issue(lifetime %s) lasts %ds, want %s", tt.lifetime, c.ExpiresAt-c.IssuedAt, tt.want)
		}
	}
	if _, _, err := f.s.Issue(identity.Claims{Method: identity.MethodAPIAuth}, 0); err == nil {
		t.Error("Issue without account_id succeeded")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Lifetime: time.Minute},
		{Lifetime: 25 * time.Hour},
		{MaxLifetime: 48 * time.Hour},
		{Lifetime: 2 * time.Hour, MaxLifetime: time.Hour},
		{Leeway: -time.Second},
	} {
		if _, err := New(context.Background(), seededStore(), testSealer, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestNewRefusesKeyItCannotOpen(t *testing.T) {
	other, _ := credential.NewSealer(bytes.Repeat([]byte{8}, 32))
	st := seededStore()
	if _, err := New(context.Background(), st, other, Config{}); err == nil {
		t.Fatal("New succeeded with a key-encryption key that does not open the signing key")
	}
	if len(st.keys) != 1 {
		t.Errorf("New added a key of its own (%d keys); nodes with different KEKs would split", len(st.keys))
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	kid := f.kid()
	priv := f.privateKey(t, kid)
	good, claims := f.issue(t, userClaims())
	parts := strings.Split(good, ".")
	pem, _ := f.s.PublicKeyPEM(kid)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	with := func(mod func(c *identity.Claims)) identity.Claims {
		c := claims
		mod(&c)
		return c
	}
	tampered := with(func(c *identity.Claims) { c.AccountID = "a0000000000000000000000000000002" })
	header := map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
	rs256 := func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, _ := rsa.SignPKCS1v15(rand.Reader, priv, 5 /* crypto.SHA256 */, sum[:])
		return sig
	}

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"empty", "", identity.ErrInvalidToken},
		{"garbage", "not a token", identity.ErrInvalidToken},
		{"three dots", "a.b.c", identity.ErrInvalidToken},
		{"two parts", parts[0] + "." + parts[1], identity.ErrInvalidToken},
		{"too long", good + strings.Repeat("A", maxTokenLen), identity.ErrInvalidToken},
		{"alg none", forge(t, map[string]any{"alg": "none", "kid": kid}, claims, func([]byte) []byte { return nil }), identity.ErrInvalidToken},
		{"alg None", forge(t, map[string]any{"alg": "None", "kid": kid}, claims, func([]byte) []byte { return nil }), identity.ErrInvalidToken},
		{"HS256 keyed with the public PEM", forge(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, claims, func(in []byte) []byte {
			m := hmac.New(sha256.New, []byte(pem))
			m.Write(in)
			return m.Sum(nil)
		}), identity.ErrInvalidToken},
		{"ES256", signWith(t, jose.ES256, ec, kid, claims), identity.ErrInvalidToken},
		{"PS256 with the right key", signWith(t, jose.PS256, priv, kid, claims), identity.ErrInvalidToken},
		{"RS512 with the right key", signWith(t, jose.RS512, priv, kid, claims), identity.ErrInvalidToken},
		{"other key, same kid", signWith(t, jose.RS256, otherRSA, kid, claims), identity.ErrInvalidToken},
		{"unknown kid", signWith(t, jose.RS256, otherRSA, "ffffffffffffffffffffffffffffffff", claims), identity.ErrInvalidToken},
		{"no kid", signWith(t, jose.RS256, priv, "", claims), identity.ErrInvalidToken},
		{"tampered payload", parts[0] + "." + b64.EncodeToString(mustJSON(t, tampered)) + "." + parts[2], identity.ErrInvalidToken},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64.EncodeToString(bytes.Repeat([]byte{1}, 256)), identity.ErrInvalidToken},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(f.mustIssue(t), ".")[2], identity.ErrInvalidToken},
		{"wrong iss", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.Issuer = "kazoo" })), identity.ErrInvalidToken},
		{"no account_id", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.AccountID = "" })), identity.ErrInvalidToken},
		{"no jti", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.ID = "" })), identity.ErrInvalidToken},
		{"jti not UUIDv7", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.ID = strings.Repeat("0", 32) })), identity.ErrInvalidToken},
		{"no exp", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.ExpiresAt = 0 })), identity.ErrTokenExpired},
		{"exp past", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.ExpiresAt = f.clock.Now().Add(-31 * time.Second).Unix() })), identity.ErrTokenExpired},
		{"exp past within leeway", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.ExpiresAt = f.clock.Now().Add(-29 * time.Second).Unix() })), nil},
		{"exp far future", signWith(t, jose.RS256, priv, kid, with(func(c *identity.Claims) { c.ExpiresAt = 1 << 62 })), identity.ErrInvalidToken},
		{"payload not an object", forge(t, header, []int{1}, rs256), identity.ErrInvalidToken},
		{"exp a string", forge(t, header, map[string]any{"iss": "audian", "account_id": "x", "jti": claims.ID, "exp": "soon"}, rs256), identity.ErrInvalidToken},
		{"hand-made RS256", forge(t, header, claims, rs256), nil},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, identity.ErrInvalidToken},
		{"good", good, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.s.Verify(tt.raw)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, %v; want %v", got, err, tt.want)
			}
			if got != nil {
				t.Errorf("Verify returned claims with error %v", err)
			}
		})
	}
}

func (f *fixture) mustIssue(t testing.TB) string {
	raw, _ := f.issue(t, userClaims())
	return raw
}

func TestVerifyExpiry(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			f := newFixture(t)
			raw, c := f.issue(t, userClaims())
			exp := time.Unix(c.ExpiresAt, 0)
			for _, tt := range []struct {
				at   time.Time
				want error
			}{
				{exp.Add(-time.Second), nil},
				{exp.Add(29 * time.Second), nil},
				{exp.Add(30 * time.Second), identity.ErrTokenExpired},
				{exp.Add(time.Hour), identity.ErrTokenExpired},
			} {
				if !cached {
					f.s.cache.clear()
				}
				f.clock.Set(tt.at)
				if _, err := f.s.Verify(raw); !errors.Is(err, tt.want) {
					t.Errorf("Verify at exp%+v = %v, want %v", tt.at.Sub(exp), err, tt.want)
				}
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	type tc struct {
		name   string
		claims identity.Claims
		event  func(c identity.Claims, issuedMs int64) identity.Event
		want   error
	}
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	tests := []tc{
		{"account cutoff 1ms before", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAccount, ID: c.AccountID, Cutoff: at(ms - 1)}
		}, nil},
		{"account cutoff at the same ms", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAccount, ID: c.AccountID, Cutoff: at(ms)}
		}, identity.ErrTokenRevoked},
		{"account cutoff sub-ms after", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAccount, ID: c.AccountID, Cutoff: at(ms).Add(999 * time.Microsecond)}
		}, identity.ErrTokenRevoked},
		{"account cutoff 1ms after", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAccount, ID: c.AccountID, Cutoff: at(ms + 1)}
		}, identity.ErrTokenRevoked},
		{"account event without cutoff", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAccount, ID: c.AccountID}
		}, nil},
		{"other account's cutoff", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAccount, ID: "a0000000000000000000000000000009", Cutoff: at(ms + 1)}
		}, nil},
		{"user cutoff before", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventUser, ID: c.OwnerID, Cutoff: at(ms - 1)}
		}, nil},
		{"user cutoff at", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventUser, ID: c.OwnerID, Cutoff: at(ms)}
		}, identity.ErrTokenRevoked},
		{"user cutoff names the account id", userClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventUser, ID: c.AccountID, Cutoff: at(ms)}
		}, nil},
		{"API key cutoff before", keyClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAPIKey, ID: c.KeyID, Cutoff: at(ms - 1)}
		}, nil},
		{"API key cutoff at", keyClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventAPIKey, ID: c.KeyID, Cutoff: at(ms)}
		}, identity.ErrTokenRevoked},
		{"revoked jti", keyClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventToken, ID: c.ID, Expires: time.Unix(c.ExpiresAt, 0)}
		}, identity.ErrTokenRevoked},
		{"revoked jti without expiry", keyClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventToken, ID: c.ID}
		}, identity.ErrTokenRevoked},
		{"other jti revoked", keyClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventToken, ID: newJTI(time.UnixMilli(ms)), Expires: time.Unix(c.ExpiresAt, 0)}
		}, nil},
		{"signing key event", keyClaims(), func(c identity.Claims, ms int64) identity.Event {
			return identity.Event{Kind: identity.EventSigningKey, ID: c.AccountID, Cutoff: at(ms + 1)}
		}, nil},
	}
	for _, tt := range tests {
		for _, cached := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/cached=%v", tt.name, cached), func(t *testing.T) {
				f := newFixture(t)
				f.clock.Add(123456 * time.Microsecond) // not on a millisecond boundary
				raw, c := f.issue(t, tt.claims)
				if !cached {
					f.s.cache.clear()
				}
				ms, _ := IssuedAtMillis(c.ID)
				f.s.Apply(tt.event(c, ms))
				if _, err := f.s.Verify(raw); !errors.Is(err, tt.want) {
					t.Fatalf("Verify = %v, want %v", err, tt.want)
				}
				if !cached && tt.want == nil {
					// A token issued after a cutoff is cached like any other.
					if f.s.cache.len() != 1 {
						t.Errorf("cache holds %d entries, want 1", f.s.cache.len())
					}
				}
			})
		}
	}
}

// TestCutoffMovesForwardOnly replays events out of order, as a feed
// catching up may: an older cutoff must not undo a newer one.
func TestCutoffMovesForwardOnly(t *testing.T) {
	f := newFixture(t)
	raw, c := f.issue(t, userClaims())
	ms, _ := IssuedAtMillis(c.ID)
	f.s.Apply(identity.Event{Kind: identity.EventUser, ID: c.OwnerID, Cutoff: time.UnixMilli(ms + 5)})
	f.s.Apply(identity.Event{Kind: identity.EventUser, ID: c.OwnerID, Cutoff: time.UnixMilli(ms - 5)})
	if _, err := f.s.Verify(raw); !errors.Is(err, identity.ErrTokenRevoked) {
		t.Fatalf("Verify = %v, want revoked", err)
	}
}

// TestRevocationAppliesToCachedEntries is the cache's central property: a
// token verified (and cached) before its revocation is refused right
// after, with no RSA work and no cache flush.
func TestRevocationAppliesToCachedEntries(t *testing.T) {
	f := newFixture(t)
	raw, c := f.issue(t, userClaims())
	f.s.cache.clear()
	first, err := f.s.Verify(raw) // cold
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.s.Verify(raw) // hit
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Error("second Verify did not come from the cache")
	}
	f.clock.Add(time.Minute)
	f.s.Apply(identity.Event{Kind: identity.EventUser, ID: c.OwnerID, Cutoff: f.clock.Now()})
	if f.s.cache.len() != 1 {
		t.Fatalf("cache holds %d entries, want the token still cached", f.s.cache.len())
	}
	for range 2 {
		if _, err := f.s.Verify(raw); !errors.Is(err, identity.ErrTokenRevoked) {
			t.Fatalf("Verify after cutoff = %v, want revoked", err)
		}
	}
	// Issued in the cutoff's millisecond, a token is refused; one
	// millisecond later it is not.
	same, _ := f.issue(t, userClaims())
	if _, err := f.s.Verify(same); !errors.Is(err, identity.ErrTokenRevoked) {
		t.Errorf("token issued in the cutoff's millisecond: %v, want revoked", err)
	}
	f.clock.Add(time.Millisecond)
	fresh, _ := f.issue(t, userClaims())
	if _, err := f.s.Verify(fresh); err != nil {
		t.Errorf("token issued after the cutoff: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	clk := newClock()
	s, err := New(context.Background(), seededStore(), testSealer, clk.withCache(cacheShards*2))
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for range cacheShards * 6 {
		raw, _, err := s.Issue(userClaims(), 0)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	if n := s.cache.len(); n > cacheShards*2 {
		t.Errorf("cache holds %d entries, bound is %d", n, cacheShards*2)
	}
	for _, raw := range raws {
		if _, err := s.Verify(raw); err != nil {
			t.Fatalf("evicted token does not verify: %v", err)
		}
	}
	disabled, err := New(context.Background(), seededStore(), testSealer, clk.withCache(-1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := disabled.Verify(raws[0]); err != nil {
		t.Errorf("Verify without a cache: %v", err)
	}
}

// TestRetiredKey: a retired key verifies until RetiredAt + MaxLifetime
// (+ leeway) and then not, cached or not, and leaves JWKS at that moment.
func TestRetiredKey(t *testing.T) {
	f := newFixture(t)
	oldKid := f.kid()
	raw, _ := f.issue(t, userClaims())
	f.s.cache.clear()
	if _, err := f.s.Verify(raw); err != nil { // cached while the key is not retired
		t.Fatal(err)
	}
	// Retire the key so that its window ends 10 minutes from now, before
	// the token's exp, which only a RetiredAt in the past can do.
	end := f.clock.after(10 * time.Minute)
	retiredAt := end.Add(-f.s.cfg.MaxLifetime - f.s.cfg.Leeway)
	if _, err := f.st.UpdateSigningKey(context.Background(), oldKid, func(k *identity.SigningKey) error {
		k.RetiredAt = retiredAt
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.kid() == oldKid {
		t.Fatal("a retired key still signs")
	}
	if len(f.st.keys) != 2 {
		t.Fatalf("Reload with every key retired left %d keys, want a new one generated", len(f.st.keys))
	}
	for _, tt := range []struct {
		at   time.Time
		want error
		jwks bool
	}{
		{end.Add(-time.Nanosecond), nil, true},
		{end, identity.ErrInvalidToken, false},
	} {
		f.clock.Set(tt.at)
		for _, cached := range []bool{true, false} {
			if !cached {
				f.s.cache.clear()
			}
			if _, err := f.s.Verify(raw); !errors.Is(err, tt.want) {
				t.Errorf("at window end%+v (cached=%v): Verify = %v, want %v", tt.at.Sub(end), cached, err, tt.want)
			}
		}
		if got := slices.Contains(f.s.KeyIDs(), oldKid); got != tt.jwks {
			t.Errorf("at window end%+v: KeyIDs lists retired key = %v, want %v", tt.at.Sub(end), got, tt.jwks)
		}
		if got := bytes.Contains(f.s.JWKS(), []byte(oldKid)); got != tt.jwks {
			t.Errorf("at window end%+v: JWKS lists retired key = %v, want %v", tt.at.Sub(end), got, tt.jwks)
		}
		if _, got := f.s.PublicKeyPEM(oldKid); got != tt.jwks {
			t.Errorf("at window end%+v: PublicKeyPEM found = %v, want %v", tt.at.Sub(end), got, tt.jwks)
		}
	}
}

func TestRotate(t *testing.T) {
	f := newFixture(t)
	oldKid := f.kid()
	before, _ := f.issue(t, userClaims())
	f.clock.Add(time.Minute)
	newKid, err := f.s.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid || f.kid() != newKid {
		t.Fatalf("after Rotate the signing key is %s, want new %s (old %s)", f.kid(), newKid, oldKid)
	}
	if f.st.keys[oldKid].RetiredAt.IsZero() {
		t.Error("Rotate did not retire the old key")
	}
	after, _ := f.issue(t, userClaims())
	if !strings.Contains(string(mustDecodeHeader(t, after)), newKid) {
		t.Error("token issued after Rotate is not signed by the new key")
	}
	f.s.cache.clear()
	for _, raw := range []string{before, after} {
		if _, err := f.s.Verify(raw); err != nil {
			t.Errorf("Verify after Rotate: %v", err)
		}
	}
	if diff := cmp.Diff([]string{newKid, oldKid}, f.s.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs (-want +got):\n%s", diff)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
		if k.Algorithm != "RS256" || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("JWKS key %s: alg %q use %q public %v", k.KeyID, k.Algorithm, k.Use, k.IsPublic())
		}
	}
	if diff := cmp.Diff([]string{newKid, oldKid}, kids); diff != "" {
		t.Errorf("JWKS kids (-want +got):\n%s", diff)
	}
	// Another node following the feed reloads and agrees.
	other, err := New(context.Background(), f.st, testSealer, f.clock.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(before); err != nil {
		t.Errorf("other node, token from before Rotate: %v", err)
	}
	if other.ring.Load().current.id != newKid {
		t.Error("other node does not sign with the rotated key")
	}
}

func mustDecodeHeader(t testing.TB, raw string) []byte {
	t.Helper()
	b, err := b64.DecodeString(strings.SplitN(raw, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJWKSVerifiesIndependently checks what a relying party does: take the
// published key set, pick the key by kid, verify with go-jose's jwt.
func TestJWKSVerifiesIndependently(t *testing.T) {
	f := newFixture(t)
	raw, want := f.issue(t, keyClaims())
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys for kid %s", len(keys), tok.Headers[0].KeyID)
	}
	var got identity.Claims
	var std jwt.Claims
	if err := tok.Claims(keys[0].Key, &got, &std); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-issued +independently verified):\n%s", diff)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: "audian", Time: f.clock.Now()}, 0); err != nil {
		t.Errorf("standard claims: %v", err)
	}
	pemText, ok := f.s.PublicKeyPEM(tok.Headers[0].KeyID)
	if !ok || !strings.HasPrefix(pemText, "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("PublicKeyPEM = %q, %v", pemText, ok)
	}
	if _, ok := f.s.PublicKeyPEM("nope"); ok {
		t.Error("PublicKeyPEM found an unknown kid")
	}
}

// TestTwoNodesConverge stages the race of two nodes starting on one empty
// database: B read the ring before A's key was stored, so each adds a
// key. They must end up signing with the same key and accept each other's
// tokens, including a token B signs before A has heard of B's key.
func TestTwoNodesConverge(t *testing.T) {
	st := newFakeStore()
	clk := newClock() // frozen: both keys get the same Created, so the ID decides
	a, err := New(context.Background(), st, testSealer, clk.config())
	if err != nil {
		t.Fatal(err)
	}
	st.stale.Store(1)
	b, err := New(context.Background(), st, testSealer, clk.config())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.keys) != 2 {
		t.Fatalf("store has %d keys, want 2 (the staged race)", len(st.keys))
	}
	tokB, _, err := b.Issue(userClaims(), 0)
	if err != nil {
		t.Fatal(err)
	}
	tokA, _, err := a.Issue(userClaims(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// A has not followed the feed yet; the unknown kid makes it re-read.
	if _, err := a.Verify(tokB); err != nil {
		t.Errorf("A verifying B's token: %v", err)
	}
	if _, err := b.Verify(tokA); err != nil {
		t.Errorf("B verifying A's token: %v", err)
	}
	if ka, kb := a.ring.Load().current.id, b.ring.Load().current.id; ka != kb {
		t.Errorf("A signs with %s, B with %s", ka, kb)
	}
	newest := slices.Max(slices.Collect(func(yield func(string) bool) {
		for id := range st.keys {
			yield(id)
		}
	}))
	if a.ring.Load().current.id != newest {
		t.Errorf("nodes sign with %s, want the newest (greatest id on equal Created) %s", a.ring.Load().current.id, newest)
	}
}

// TestConcurrentStart runs the same race for real.
func TestConcurrentStart(t *testing.T) {
	st := newFakeStore()
	clk := newClock()
	const n = 3
	svcs := make([]*Service, n)
	var wg sync.WaitGroup
	for i := range svcs {
		wg.Go(func() {
			s, err := New(context.Background(), st, testSealer, clk.config())
			if err != nil {
				t.Error(err)
			}
			svcs[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	toks := make([]string, n)
	for i, s := range svcs {
		if err := s.Reload(context.Background()); err != nil { // the feed's EventSigningKey
			t.Fatal(err)
		}
		toks[i], _, _ = s.Issue(userClaims(), 0)
	}
	for i, s := range svcs {
		if s.ring.Load().current.id != svcs[0].ring.Load().current.id {
			t.Errorf("node %d signs with another key", i)
		}
		for j, raw := range toks {
			if _, err := s.Verify(raw); err != nil {
				t.Errorf("node %d verifying node %d's token: %v", i, j, err)
			}
		}
	}
}

// TestUnknownKidReloadIsRateLimited keeps bogus kids from becoming
// database reads.
func TestUnknownKidReloadIsRateLimited(t *testing.T) {
	f := newFixture(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	var reads atomic.Int32
	counting := &countingStore{fakeStore: f.st, reads: &reads}
	f.s.ks = counting
	for i := range 20 {
		raw := signWith(t, jose.RS256, other, fmt.Sprintf("%032x", i), userClaims())
		if _, err := f.s.Verify(raw); !errors.Is(err, identity.ErrInvalidToken) {
			t.Fatal(err)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("20 unknown kids within a second caused %d reloads, want 1", n)
	}
	f.clock.Add(missReloadEvery)
	f.s.Verify(signWith(t, jose.RS256, other, "x", userClaims()))
	if n := reads.Load(); n != 2 {
		t.Errorf("after the interval: %d reloads, want 2", n)
	}
}

type countingStore struct {
	*fakeStore
	reads *atomic.Int32
}

func (c *countingStore) SigningKeys(ctx context.Context) ([]*identity.SigningKey, error) {
	c.reads.Add(1)
	return c.fakeStore.SigningKeys(ctx)
}

func TestPrune(t *testing.T) {
	f := newFixture(t)
	r := f.s.revs
	f.s.Apply(identity.Event{Kind: identity.EventAccount, ID: "a", Cutoff: f.clock.Now()})
	f.s.Apply(identity.Event{Kind: identity.EventUser, ID: "u", Cutoff: f.clock.Now()})
	f.s.Apply(identity.Event{Kind: identity.EventAPIKey, ID: "k", Cutoff: f.clock.Now()})
	f.s.Apply(identity.Event{Kind: identity.EventToken, ID: newJTI(f.clock.Now()), Expires: f.clock.after(time.Hour)})
	f.clock.Add(2 * time.Hour)
	f.s.Apply(identity.Event{Kind: identity.EventToken, ID: newJTI(f.clock.Now()), Expires: f.clock.after(time.Hour)})
	if len(r.jtis) != 1 || len(r.accounts) != 1 {
		t.Errorf("after 2h: %d jtis, %d account cutoffs; want the expired jti gone, the cutoff kept", len(r.jtis), len(r.accounts))
	}
	f.clock.Add(f.s.cfg.MaxLifetime)
	f.s.Apply(identity.Event{Kind: identity.EventAccount, ID: "b"})
	if len(r.jtis)+len(r.accounts)+len(r.users)+len(r.keys) != 0 {
		t.Errorf("after MaxLifetime: %d jtis, %d/%d/%d cutoffs left, want none", len(r.jtis), len(r.accounts), len(r.users), len(r.keys))
	}
}

func TestIssuedAtMillis(t *testing.T) {
	now := time.UnixMilli(1_772_000_000_123)
	tests := []struct {
		jti    string
		want   int64
		wantOK bool
	}{
		{newJTI(now), now.UnixMilli(), true},
		{newJTI(time.UnixMilli(0)), 0, true},
		{"019c8a1b2c3d7abc8def0123456789ab", 0x019c8a1b2c3d, true},
		{"019c8a1b2c3d4abc8def0123456789ab", 0, false}, // version 4
		{"019c8a1b2c3d7abccdef0123456789ab", 0, false}, // variant 110
		{"019C8A1B2C3D7ABC8DEF0123456789AB", 0, false}, // upper case
		{"019c8a1b-2c3d-7abc-8def-0123456789ab", 0, false},
		{"019c8a1b2c3d7abc8def0123456789a", 0, false},
		{"019c8a1b2c3d7abc8def0123456789ag", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := IssuedAtMillis(tt.jti)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("IssuedAtMillis(%q) = %d, %v; want %d, %v", tt.jti, got, ok, tt.want, tt.wantOK)
		}
	}
	j := newJTI(now)
	if j[12] != '7' || !strings.ContainsRune("89ab", rune(j[16])) {
		t.Errorf("newJTI = %s, not a UUIDv7", j)
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.mustIssue(f)
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add("")
	f.Add("..")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(parts[0] + "." + b64.EncodeToString([]byte(`{"iss":"audian","account_id":"a","jti":"x","exp":1e99}`)) + "." + parts[2])
	f.Add(b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	f.Add(b64.EncodeToString([]byte(`{"alg":"RS256","kid":"`+fx.kid()+`","crit":["b64"],"b64":false}`)) + "." + parts[1] + "." + parts[2])
	f.Add(`{"payload":"` + parts[1] + `","signatures":[]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := fx.s.Verify(raw)
		if err == nil && raw != good {
			t.Fatalf("Verify accepted a token this service did not issue: %q (%+v)", raw, c)
		}
		if err != nil && !errors.Is(err, identity.ErrInvalidToken) && !errors.Is(err, identity.ErrTokenExpired) && !errors.Is(err, identity.ErrTokenRevoked) {
			t.Fatalf("Verify error %v is none of the token sentinels", err)
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	c := userClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.s.Issue(c, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCold is a cache miss: parse, one RSA verification, JSON.
func BenchmarkVerifyCold(b *testing.B) {
	f := newFixture(b)
	raw := f.mustIssue(b)
	d := digestOf(raw)
	b.ReportAllocs()
	for b.Loop() {
		f.s.cache.remove(&d)
		if _, err := f.s.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is the hot path: a token seen before, with
// revocation state to consult.
func BenchmarkVerifyCached(b *testing.B) {
	f := newFixture(b)
	raw := f.mustIssue(b)
	populateRevocations(f)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.s.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel is the hot path under concurrency, with
// many distinct tokens spread over the shards.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	f := newFixture(b)
	populateRevocations(f)
	toks := make([]string, 256)
	for i := range toks {
		toks[i] = f.mustIssue(b)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := f.s.Verify(toks[i&255]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// populateRevocations gives the maps a realistic size so that lookups are
// not trivially against empty maps.
func populateRevocations(f *fixture) {
	past := f.clock.after(-time.Minute)
	for i := range 10_000 {
		id := fmt.Sprintf("%032x", i)
		f.s.Apply(identity.Event{Kind: identity.EventAccount, ID: id, Cutoff: past})
		f.s.Apply(identity.Event{Kind: identity.EventUser, ID: id, Cutoff: past})
		f.s.Apply(identity.Event{Kind: identity.EventToken, ID: newJTI(past), Expires: f.clock.after(time.Hour)})
	}
	c := userClaims()
	f.s.Apply(identity.Event{Kind: identity.EventAccount, ID: c.AccountID, Cutoff: past})
	f.s.Apply(identity.Event{Kind: identity.EventUser, ID: c.OwnerID, Cutoff: past})
}

// TestVerifyRefusesStrayCharacters: a valid token with a line break or a
// quote inside is refused, although base64 decoders would skip the break.
func TestVerifyRefusesStrayCharacters(t *testing.T) {
	f := newFixture(t)
	tok := f.mustIssue(t)
	// Verify the bad forms before the clean one is cached.
	for _, bad := range []string{tok[:20] + "\n" + tok[20:], tok[:20] + "\r\n" + tok[20:], tok + "\"", " " + tok} {
		if _, err := f.s.Verify(bad); !errors.Is(err, identity.ErrInvalidToken) {
			t.Errorf("Verify(%q...) = %v, want ErrInvalidToken", bad[:25], err)
		}
	}
	if _, err := f.s.Verify(tok); err != nil {
		t.Fatalf("the clean token: %v", err)
	}
}
