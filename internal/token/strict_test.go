package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/audian/audian/internal/identity"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// spellings returns every string a lax base64url decoder reads as the
// same bytes as seg: the last character with its unused low bits set any
// way.
func spellings(seg string) []string {
	unused := map[int]int{2: 4, 3: 2}[len(seg)%4]
	last := strings.IndexByte(b64Alphabet, seg[len(seg)-1])
	var out []string
	for x := range 1 << unused {
		out = append(out, seg[:len(seg)-1]+string(b64Alphabet[last&^(1<<unused-1)|x]))
	}
	return out
}

// TestOneSpelling: of the spellings of a token that decode to its bytes
// (256 for a typical token), only the one issued verifies, on a node that
// has never seen it (no cache to hide behind).
func TestOneSpelling(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := newAlgFixture(t, alg)
			var tok string
			// Find a token whose three segments all have unused bits, the
			// case the issue counted 256 spellings of.
			for i := 0; ; i++ {
				c := userClaims()
				c.Scopes = []string{strings.Repeat("x", i)}
				tok, _ = f.issue(t, c)
				parts := strings.Split(tok, ".")
				if len(parts[0])%4 > 1 && len(parts[1])%4 > 1 && len(parts[2])%4 > 1 {
					break
				}
			}
			other, err := New(context.Background(), f.st, testSealer, Config{Now: f.clock.Now, Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok, ".")
			accepted, total := 0, 0
			for _, h := range spellings(parts[0]) {
				for _, p := range spellings(parts[1]) {
					for _, s := range spellings(parts[2]) {
						raw := h + "." + p + "." + s
						total++
						for _, seg := range []string{h, p, s} {
							if _, err := b64.DecodeString(seg); err != nil {
								t.Fatalf("lax decoder refuses %q: the test builds wrong spellings", seg)
							}
						}
						_, err := other.Verify(raw)
						if err == nil {
							accepted++
							if raw != tok {
								t.Errorf("a second spelling verifies: %s", raw)
							}
						} else if !errors.Is(err, identity.ErrInvalidToken) {
							t.Errorf("spelling refused with %v, want ErrInvalidToken", err)
						}
					}
				}
			}
			if accepted != 1 || total < 16 {
				t.Errorf("%d of %d spellings verify, want exactly 1", accepted, total)
			}
		})
	}
}

// TestES256HighSRefused: (r, n-s) is a valid ECDSA signature whenever (r,
// s) is, so it is a second spelling unless one of them is refused.
func TestES256HighSRefused(t *testing.T) {
	f := newAlgFixture(t, ES256)
	tok := f.mustIssue(t)
	parts := strings.Split(tok, ".")
	sig, err := b64url.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	n := elliptic.P256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(p256HalfOrder) > 0 {
		t.Fatal("Issue produced a high-s signature")
	}
	flipped := make([]byte, 64)
	copy(flipped, sig[:32])
	new(big.Int).Sub(n, s).FillBytes(flipped[32:])
	// The flipped signature is mathematically valid...
	pub := f.s.ring.Load().current.pub.(*ecdsa.PublicKey)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(flipped[:32]), new(big.Int).SetBytes(flipped[32:])) {
		t.Fatal("the flipped signature does not verify with crypto/ecdsa: the test is wrong")
	}
	// ...and refused.
	if _, err := f.s.Verify(parts[0] + "." + parts[1] + "." + b64url.EncodeToString(flipped)); !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("high-s spelling: %v, want ErrInvalidToken", err)
	}
}

// TestVerifyClaimRules covers the claims checked once: nbf, iat in the
// future, aud, and a lifetime longer than the maximum.
func TestVerifyClaimRules(t *testing.T) {
	f := newFixture(t)
	kid := f.kid()
	priv := f.privateKey(t, kid)
	now := f.clock.Now()
	base := func() map[string]any {
		return map[string]any{"iss": "audian", "account_id": "a0000000000000000000000000000001", "method": identity.MethodAPIAuth,
			"jti": newJTI(now), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(kv ...any) map[string]any {
		m := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name   string
		claims map[string]any
		want   error
	}{
		{"plain", base(), nil},
		{"nbf past", with("nbf", now.Add(-time.Minute).Unix()), nil},
		{"nbf within leeway", with("nbf", now.Add(20*time.Second).Unix()), nil},
		{"nbf future", with("nbf", now.Add(time.Minute).Unix()), identity.ErrInvalidToken},
		{"iat within leeway", with("iat", now.Add(20*time.Second).Unix()), nil},
		{"iat future", with("iat", now.Add(time.Minute).Unix(), "exp", now.Add(time.Hour+time.Minute).Unix()), identity.ErrInvalidToken},
		{"no iat", with("iat", nil), identity.ErrInvalidToken},
		{"aud absent", base(), nil},
		{"aud issuer", with("aud", "audian"), nil},
		{"aud list with issuer", with("aud", []string{"x", "audian"}), nil},
		{"aud other", with("aud", "kazoo"), identity.ErrInvalidToken},
		{"aud empty list", with("aud", []string{}), identity.ErrInvalidToken},
		{"aud not a string", with("aud", 7), identity.ErrInvalidToken},
		{"lifetime max", with("iat", now.Add(-time.Hour).Unix(), "exp", now.Add(23*time.Hour).Unix()), nil},
		{"lifetime over max", with("iat", now.Add(-time.Hour).Unix(), "exp", now.Add(23*time.Hour+time.Second).Unix()), identity.ErrInvalidToken},
		{"auth_time after iat", with("auth_time", now.Add(time.Second).Unix()), identity.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := signWith(t, jose.RS256, priv, kid, tt.claims)
			_, err := f.s.Verify(raw)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("nbf passes later", func(t *testing.T) {
		raw := signWith(t, jose.RS256, priv, kid, with("nbf", now.Add(2*time.Minute).Unix()))
		if _, err := f.s.Verify(raw); err == nil {
			t.Fatal("accepted before nbf")
		}
		f.clock.Add(2 * time.Minute)
		defer f.clock.Add(-2 * time.Minute)
		if _, err := f.s.Verify(raw); err != nil {
			t.Fatalf("refused after nbf: %v", err)
		}
	})
}

// TestHeaderRules: the header must name the kid's own algorithm and carry
// nothing but alg, kid and typ.
func TestHeaderRules(t *testing.T) {
	f := newFixture(t)
	kid := f.kid()
	priv := f.privateKey(t, kid)
	claims := f.claimsMap()
	for _, tt := range []struct {
		name   string
		header map[string]any
		ok     bool
	}{
		{"issued shape", map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}, true},
		{"no typ", map[string]any{"alg": "RS256", "kid": kid}, true},
		{"crit", map[string]any{"alg": "RS256", "kid": kid, "crit": []string{"exp"}, "exp": 1}, false},
		{"jku", map[string]any{"alg": "RS256", "kid": kid, "jku": "https://evil.example/jwks"}, false},
		{"b64 false", map[string]any{"alg": "RS256", "kid": kid, "b64": false}, false},
		{"EdDSA on an RSA kid", map[string]any{"alg": "EdDSA", "kid": kid}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := forge(t, tt.header, claims, func(in []byte) []byte {
				sig, err := signature(RS256, priv, in)
				if err != nil {
					t.Fatal(err)
				}
				return sig
			})
			if _, err := f.s.Verify(raw); (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func (f *fixture) claimsMap() map[string]any {
	now := f.clock.Now()
	return map[string]any{"iss": "audian", "account_id": "a0000000000000000000000000000001", "method": identity.MethodAPIAuth,
		"jti": newJTI(now), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}
