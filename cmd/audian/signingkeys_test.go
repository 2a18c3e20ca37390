package main

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/audian/audian/internal/identity"
)

// jwks fetches and decodes the node's /.well-known/jwks.json into RSA
// public keys by kid, with the standard library only, so that what the
// test checks is the published document and not audian's own parsing.
func jwks(t *testing.T, n *node) map[string]*rsa.PublicKey {
	t.Helper()
	r := n.do("GET", "/.well-known/jwks.json", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("jwks: %d %s", r.status, r.raw)
	}
	var doc struct {
		Keys []struct{ Kty, Kid, Alg, Use, N, E string }
	}
	if err := json.Unmarshal(r.raw, &doc); err != nil {
		t.Fatalf("jwks is not JSON: %v\n%s", err, r.raw)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			t.Errorf("jwks key %s: kty %q alg %q use %q", k.Kid, k.Kty, k.Alg, k.Use)
		}
		nb, err1 := base64.RawURLEncoding.DecodeString(k.N)
		eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			t.Fatalf("jwks key %s: bad n or e", k.Kid)
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	}
	return out
}

func jwksHas(t *testing.T, n *node, kid string) bool {
	_, ok := jwks(t, n)[kid]
	return ok
}

// tokenKID returns the kid of a JWT's header.
func tokenKID(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// verifyOutside verifies tok with golang-jwt, a JOSE library audian does
// not use, against the keys of the JWKS document, as a relying party
// would.
func verifyOutside(keys map[string]*rsa.PublicKey, tok string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("kid %q is not in the JWKS", kid)
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer("audian"), jwt.WithExpirationRequired())
	return claims, err
}

// TestSigningKeyRotation: rotating through the API makes a new key sign;
// tokens from before keep verifying, the JWKS lists both keys, and an
// outside JOSE library verifies tokens of either key from that document.
// Only a system administrator may rotate.
func TestSigningKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		before := n.login(boot.APIKey.Reveal())
		oldKID := tokenKID(t, before)
		if keys := jwks(t, n); len(keys) != 1 {
			t.Fatalf("a fresh server publishes %d keys, want 1", len(keys))
		}
		r := n.do("PUT", "/v2/auth/signing_keys/rotate", before, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", r.status, r.raw)
		}
		newKID, _ := r.data()["kid"].(string)
		if newKID == "" || newKID == oldKID {
			t.Fatalf("rotate reply: %s", r.raw)
		}
		after := n.login(boot.APIKey.Reveal())
		if got := tokenKID(t, after); got != newKID {
			t.Errorf("the token after rotation is signed by %s, want %s", got, newKID)
		}
		for name, tok := range map[string]string{"before": before, "after": after} {
			if !n.tokenWorks(t, tok) {
				t.Errorf("the token from %s the rotation is refused", name)
			}
		}
		keys := jwks(t, n)
		if _, ok := keys[oldKID]; !ok || len(keys) != 2 {
			t.Fatalf("JWKS after rotation has %d keys (old present: %t), want both", len(keys), ok)
		}
		for name, tok := range map[string]string{"before": before, "after": after} {
			claims, err := verifyOutside(keys, tok)
			if err != nil {
				t.Errorf("golang-jwt rejects the token from %s the rotation: %v", name, err)
			} else if claims["account_id"] != boot.AccountID {
				t.Errorf("golang-jwt reads account_id %v", claims["account_id"])
			}
		}
		// A tampered token fails outside too: the check is not vacuous.
		if _, err := verifyOutside(keys, after[:len(after)-4]+"AAAA"); err == nil {
			t.Error("golang-jwt accepts a tampered token")
		}

		f := newLoginFixture(t, n)
		childKey := n.do("GET", "/v2/accounts/"+f.account+"/api_key", f.admin, nil).data()["api_key"].(string)
		alice := n.userAuth(map[string]any{"credentials": digest("md5", "alice@example.com", f.password), "account_name": f.accountName}).body["auth_token"].(string)
		for name, tok := range map[string]string{"admin of a child account": n.login(childKey), "its admin user": alice} {
			expectError(t, n.do("PUT", "/v2/auth/signing_keys/rotate", tok, nil), http.StatusForbidden, "forbidden")
			_ = name
		}
		expectError(t, n.do("PUT", "/v2/auth/signing_keys/rotate", "", nil), http.StatusUnauthorized, "unauthorized")
	})
}

// TestSigningKeyCommand: "audian signing-key rotate" on the database of a
// running server makes a new key sign there, within a second.
func TestSigningKeyCommand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		before := n.login(boot.APIKey.Reveal())
		env := map[string]string{"AUDIAN_KEK": testKEK}
		code, out, errOut := runCLI(t, env, "signing-key", "rotate", "--data-dir", n.m.Config.DataDir, "--database", n.m.Config.Database)
		if code != 0 {
			t.Fatalf("signing-key rotate exited %d: %s", code, errOut)
		}
		var kid string
		if _, err := fmt.Sscanf(out, "new signing key %s", &kid); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		kid = strings.TrimSuffix(kid, ";")
		start := time.Now()
		for tokenKID(t, n.login(boot.APIKey.Reveal())) != kid {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("the server does not sign with the key the command made")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !n.tokenWorks(t, before) || !jwksHas(t, n, tokenKID(t, before)) {
			t.Error("the token from before the command is refused or its key unpublished")
		}
		if code, _, errOut := runCLI(t, env, "signing-key", "spin"); code == 0 || !strings.Contains(errOut, "signing-key rotate") {
			t.Errorf("signing-key spin: %d %q", code, errOut)
		}
	})
}

// TestAutomaticSigningKeyRotation: the check the rotation goroutine runs
// rotates once the newest key is older than the interval, and then counts
// from the new key. Times are on the store's clock, which stamps keys.
func TestAutomaticSigningKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		const every = 30 * 24 * time.Hour
		if _, rotated, err := rotateIfDue(ctx, n.m.Store, n.m.Tokens, time.Now(), every); err != nil || rotated {
			t.Fatalf("a fresh key was rotated: %t %v", rotated, err)
		}
		kid, rotated, err := rotateIfDue(ctx, n.m.Store, n.m.Tokens, time.Now().Add(every+time.Hour), every)
		if err != nil || !rotated {
			t.Fatalf("a key older than the interval was not rotated: %v", err)
		}
		if ids := n.m.Tokens.KeyIDs(); len(ids) != 2 || ids[0] != kid {
			t.Errorf("key ids after rotation: %v, want the new %s first and the old one", ids, kid)
		}
		keys, err := n.m.Store.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(keys, func(k *identity.SigningKey) bool { return k.ID == kid })
		if i < 0 {
			t.Fatalf("the new key %s is not stored", kid)
		}
		created := keys[i].Created
		for _, tc := range []struct {
			at   time.Time
			want bool
		}{{created.Add(every - time.Second), false}, {created.Add(every), true}} {
			if due, err := signingKeyDue(ctx, n.m.Store, tc.at, every); err != nil || due != tc.want {
				t.Errorf("due at new key + %s = %t (%v), want %t", tc.at.Sub(created), due, err, tc.want)
			}
		}
	})
}
