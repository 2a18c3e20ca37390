package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// refresh exchanges tok for a refreshed token (PUT /v2/auth) and returns
// the reply.
func (n *node) refresh(tok string) *response {
	n.t.Helper()
	return n.do("PUT", "/v2/auth", tok, map[string]any{"action": "refresh_token"})
}

func (n *node) mustRefresh(t *testing.T, tok string) string {
	t.Helper()
	r := n.refresh(tok)
	if r.status != http.StatusCreated {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	return r.body["auth_token"].(string)
}

func (n *node) mustAccessToken(t *testing.T, tok, account string, expiresIn int) (string, map[string]any) {
	t.Helper()
	r := n.mintAccessToken(tok, account, map[string]any{"scopes": []string{"accounts:read"}, "expires_in": expiresIn})
	if r.status != http.StatusCreated {
		t.Fatalf("access token: %d %s", r.status, r.raw)
	}
	return r.data()["access_token"].(string), r.data()
}

// TestRevocationCascades: DELETE /v2/token_auth with any token of a login
// ends the login: the token it logged in with, every token refreshed from
// it and every access token minted from any of them. Other logins of the
// same key or user are untouched.
func TestRevocationCascades(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		key := boot.APIKey.Reveal()
		for _, tc := range []struct {
			name   string
			revoke func(login, refreshed, access, accessOfRefreshed string) string
		}{
			{"revoked with the login token", func(login, _, _, _ string) string { return login }},
			{"revoked with a refreshed token", func(_, refreshed, _, _ string) string { return refreshed }},
			{"revoked with an access token", func(_, _, _, accessOfRefreshed string) string { return accessOfRefreshed }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				login := n.login(key)
				other := n.login(key)
				refreshed := n.mustRefresh(t, login)
				twice := n.mustRefresh(t, refreshed)
				access, _ := n.mustAccessToken(t, login, boot.AccountID, 3600)
				accessOfRefreshed, _ := n.mustAccessToken(t, twice, boot.AccountID, 3600)
				all := map[string]string{"login": login, "refreshed": refreshed, "refreshed twice": twice,
					"access token": access, "access token of a refreshed token": accessOfRefreshed}
				for name, tok := range all {
					if !n.tokenWorks(t, tok) {
						t.Fatalf("%s refused before the revocation", name)
					}
				}
				if r := n.do("DELETE", "/v2/token_auth", tc.revoke(login, refreshed, access, accessOfRefreshed), nil); r.status != http.StatusOK {
					t.Fatalf("DELETE /v2/token_auth: %d %s", r.status, r.raw)
				}
				for name, tok := range all {
					if n.tokenWorks(t, tok) {
						t.Errorf("%s still works after its login was revoked", name)
					}
				}
				if r := n.refresh(refreshed); r.status != http.StatusUnauthorized {
					t.Errorf("refreshing a revoked session: %d, want 401", r.status)
				}
				if !n.tokenWorks(t, other) {
					t.Error("another login of the same key was revoked too")
				}
			})
		}
	})
}

// TestDerivedTokensBounded: an access token never outlives the token it
// was minted from, and refreshing stops at the session lifetime from the
// login however often it is done.
func TestDerivedTokensBounded(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{}, func(c *config.Config) {
				c.SessionLifetime = 3 * time.Hour
				c.RateCost = 0
			})
			boot := n.m.Bootstrapped
			login := n.login(boot.APIKey.Reveal())
			parentExp := tokenInfo(t, n, login)["exp"].(float64)

			t.Run("access token clamped to its parent", func(t *testing.T) {
				access, d := n.mustAccessToken(t, login, boot.AccountID, 86400)
				if got := d["expires_in"].(float64); got > 3600 {
					t.Errorf("access token from a 1h token: expires_in %v, want at most 3600", got)
				}
				if got := tokenInfo(t, n, access)["exp"].(float64); got > parentExp {
					t.Errorf("access token exp %v after its parent's %v", got, parentExp)
				}
				n.clock.Advance(time.Hour + time.Minute)
				defer n.clock.Advance(0)
				if n.tokenWorks(t, access) {
					t.Error("the access token outlived its parent")
				}
			})

			t.Run("refresh bounded by the session lifetime", func(t *testing.T) {
				defer n.clock.Advance(0)
				tok := n.login(boot.APIKey.Reveal())
				start := time.Now()
				end := start.Add(3*time.Hour + time.Minute)
				refused := false
				for at := 50 * time.Minute; at <= 6*time.Hour; at += 50 * time.Minute {
					n.clock.Advance(at)
					r := n.refresh(tok)
					if r.status == http.StatusUnauthorized {
						refused = true
						if start.Add(at).Before(start.Add(3*time.Hour - time.Hour)) {
							t.Fatalf("refresh refused after %s, well within the 3h session", at)
						}
						break
					}
					if r.status != http.StatusCreated {
						t.Fatalf("refresh at %s: %d %s", at, r.status, r.raw)
					}
					tok = r.body["auth_token"].(string)
					if exp := time.Unix(int64(tokenInfo(t, n, tok)["exp"].(float64)), 0); exp.After(end) {
						t.Fatalf("a token refreshed at %s expires at %s, past the session end %s", at, exp, end)
					}
				}
				if !refused {
					t.Fatal("refreshing every 50 minutes kept a login alive for 6 hours")
				}
			})
		})
	}
}

// tokenInfo returns GET /v2/token_auth's data for tok.
func tokenInfo(t *testing.T, n *node, tok string) map[string]any {
	t.Helper()
	r := n.do("GET", "/v2/token_auth", tok, nil)
	if r.status != http.StatusOK {
		t.Fatalf("token_auth: %d %s", r.status, r.raw)
	}
	return r.data()
}

// TestDisableSuspendsSubtree: disabling an account suspends everything
// below it (tokens issued before, user logins, API key logins, password
// recovery) until it is enabled again; its siblings are unaffected.
func TestDisableSuspendsSubtree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		admin := n.login(n.m.Bootstrapped.APIKey.Reveal())
		create := func(parent, name string) string {
			r := n.do("PUT", "/v2/accounts/"+parent, admin, map[string]any{"data": map[string]any{"name": name}})
			if r.status != http.StatusCreated {
				t.Fatalf("create %s: %d %s", name, r.status, r.raw)
			}
			return r.data()["id"].(string)
		}
		reseller := create(n.m.Bootstrapped.AccountID, "Reseller Co")
		customer := create(reseller, "Customer Co")
		deep := create(customer, "Deep Co")
		sibling := create(n.m.Bootstrapped.AccountID, "Sibling Co")
		const password = "suspended pass 7"
		n.secrets.add(password)
		if r := n.do("PUT", "/v2/accounts/"+deep+"/users", admin, map[string]any{"data": map[string]any{
			"first_name": "D", "last_name": "Eep", "username": "deep", "password": password, "priv_level": "admin"}}); r.status != http.StatusCreated {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		deepKey := n.do("GET", "/v2/accounts/"+deep+"/api_key", admin, nil).data()["api_key"].(string)
		siblingKey := n.do("GET", "/v2/accounts/"+sibling+"/api_key", admin, nil).data()["api_key"].(string)
		userLogin := func() *response {
			return n.userAuth(map[string]any{"username": "deep", "password": password, "account_name": "Deep Co"})
		}
		userTok := userLogin().body["auth_token"].(string)
		keyTok := n.login(deepKey)
		siblingTok := n.login(siblingKey)
		portal := newBrowser(t, n)
		if p := portal.signIn("Deep Co", "deep", password); p.url.Path == "/sign-in" {
			t.Fatalf("portal sign-in: landed on %s", p.url)
		}
		portalWorks := func() bool { return portal.get("/settings/api-keys").url.Path == "/settings/api-keys" }
		setEnabled := func(on bool) {
			if r := n.do("PATCH", "/v2/accounts/"+reseller, admin, map[string]any{"data": map[string]any{"enabled": on}}); r.status != http.StatusOK {
				t.Fatalf("PATCH enabled=%t: %d %s", on, r.status, r.raw)
			}
		}

		setEnabled(false)
		for name, tok := range map[string]string{"user token": userTok, "API key token": keyTok} {
			if n.tokenWorks(t, tok) {
				t.Errorf("%s of an account two levels below a disabled one still works", name)
			}
		}
		if r := userLogin(); r.status != http.StatusUnauthorized {
			t.Errorf("user_auth below a disabled account: %d, want 401", r.status)
		}
		if portalWorks() {
			t.Error("a portal session below a disabled account still works")
		}
		if p := newBrowser(t, n).signIn("Deep Co", "deep", password); p.url.Path != "/sign-in" {
			t.Errorf("portal sign-in below a disabled account landed on %s", p.url)
		}
		if r := n.apiAuth(deepKey); r.status != http.StatusUnauthorized {
			t.Errorf("api_auth below a disabled account: %d, want 401", r.status)
		}
		if !n.tokenWorks(t, siblingTok) || n.apiAuth(siblingKey).status != http.StatusCreated {
			t.Error("a sibling of the disabled account is suspended too")
		}
		if r := n.do("GET", "/v2/accounts/"+deep, admin, nil); r.status != http.StatusOK {
			t.Errorf("the root admin cannot read a suspended account: %d", r.status)
		}

		setEnabled(true)
		for name, tok := range map[string]string{"user token": userTok, "API key token": keyTok} {
			if !n.tokenWorks(t, tok) {
				t.Errorf("%s issued before the suspension is refused after the account is enabled again", name)
			}
		}
		if r := userLogin(); r.status != http.StatusCreated {
			t.Errorf("user_auth after re-enabling: %d %s", r.status, r.raw)
		}
		if !portalWorks() {
			t.Error("the portal session is not resumed after re-enabling")
		}
		if r := n.apiAuth(deepKey); r.status != http.StatusCreated {
			t.Errorf("api_auth after re-enabling: %d %s", r.status, r.raw)
		}
	})
}

// TestTokenAlgorithmRotation: a server signing with RS256 follows an
// operator's `audian signing-key rotate --token-alg EdDSA`: new tokens
// are EdDSA, the RS256 token keeps working, and the JWKS publishes both
// keys, each with its alg.
func TestTokenAlgorithmRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		before := n.login(boot.APIKey.Reveal())
		if alg := tokenAlg(t, before); alg != "RS256" {
			t.Fatalf("default algorithm %s, want RS256 (the contract's)", alg)
		}
		env := map[string]string{"AUDIAN_KEK": testKEK, "AUDIAN_TOKEN_ALG": "EdDSA"}
		code, _, errOut := runCLI(t, env, "signing-key", "rotate", "--data-dir", n.m.Config.DataDir, "--database", n.m.Config.Database)
		if code != 0 {
			t.Fatalf("signing-key rotate exited %d: %s", code, errOut)
		}
		var after string
		for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
			after = n.login(boot.APIKey.Reveal())
			if tokenAlg(t, after) == "EdDSA" {
				break
			}
			if time.Since(start) > 2*time.Second {
				t.Fatal("the server does not sign with the EdDSA key the rotation made")
			}
		}
		for name, tok := range map[string]string{"RS256 token from before": before, "EdDSA token": after} {
			if !n.tokenWorks(t, tok) {
				t.Errorf("%s refused", name)
			}
		}
		r := n.do("GET", "/.well-known/jwks.json", "", nil)
		var doc struct {
			Keys []struct{ Kty, Kid, Alg, Crv, Use string }
		}
		if err := json.Unmarshal(r.raw, &doc); err != nil {
			t.Fatal(err)
		}
		algs := map[string]string{}
		for _, k := range doc.Keys {
			algs[k.Kid] = k.Alg + "/" + k.Kty + "/" + k.Crv + "/" + k.Use
		}
		want := map[string]string{tokenKID(t, before): "RS256/RSA//sig", tokenKID(t, after): "EdDSA/OKP/Ed25519/sig"}
		for kid, w := range want {
			if algs[kid] != w {
				t.Errorf("JWKS key %s: %q, want %q (all: %v)", kid, algs[kid], w, algs)
			}
		}
	})
}

func tokenAlg(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Alg string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Alg
}

// TestOneSpellingOverHTTP: a token with a non-canonical last character
// (same bytes to a lax base64 decoder) is refused by the server.
func TestOneSpellingOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		tok := n.login(n.m.Bootstrapped.APIKey.Reveal())
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		parts := strings.Split(tok, ".")
		tried := 0
		for i, seg := range parts {
			unused := map[int]int{2: 4, 3: 2}[len(seg)%4]
			last := strings.IndexByte(alphabet, seg[len(seg)-1])
			for x := 1; x < 1<<unused; x++ {
				alt := append([]string(nil), parts...)
				alt[i] = seg[:len(seg)-1] + string(alphabet[last^x])
				tried++
				if n.tokenWorks(t, strings.Join(alt, ".")) {
					t.Errorf("a second spelling of the token (segment %d) is accepted", i)
				}
			}
		}
		if tried == 0 {
			t.Skip("no segment of this token has unused bits")
		}
		if !n.tokenWorks(t, tok) {
			t.Fatal("the token itself is refused")
		}
	})
}

// forgeToken signs claims with the server's current signing key, opened
// from the database with the key-encryption key as a node would, so that
// a test can present tokens the server's own issuer never makes.
func forgeToken(t *testing.T, n *node, claims map[string]any) string {
	t.Helper()
	ctx := context.Background()
	keys, err := n.m.Store.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sk *identity.SigningKey
	for _, k := range keys {
		if k.RetiredAt.IsZero() && (sk == nil || k.Created.After(sk.Created)) {
			sk = k
		}
	}
	kek, err := credential.ParseKEK(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := credential.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	der, err := sealer.Open(sk.Sealed, []byte(sk.ID))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": sk.Algorithm, "kid": sk.ID, "typ": "JWT"})
	body, _ := json.Marshal(claims)
	input := enc.EncodeToString(head) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(input))
	sig, err := priv.(*rsa.PrivateKey).Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tok := input + "." + enc.EncodeToString(sig)
	n.secrets.add(tok)
	return tok
}

// TestClaimRulesOverHTTP: tokens correctly signed by the server's own key
// but with claims its issuer never writes are refused: an nbf or iat in
// the future, a foreign aud, a lifetime over 24 h.
func TestClaimRulesOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		now := time.Now()
		claims := func(kv ...any) map[string]any {
			var jti [16]byte
			_, _ = rand.Read(jti[:])
			ms := now.UnixMilli()
			for i := range 6 {
				jti[i] = byte(ms >> (40 - 8*i))
			}
			jti[6] = 0x70 | jti[6]&0x0f
			jti[8] = 0x80 | jti[8]&0x3f
			m := map[string]any{"iss": "audian", "account_id": n.m.Bootstrapped.AccountID, "method": "cb_api_auth",
				"priv_level": "admin", "jti": hex.EncodeToString(jti[:]), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		for _, tc := range []struct {
			name   string
			claims map[string]any
			ok     bool
		}{
			{"as issued", claims(), true},
			{"aud audian", claims("aud", "audian"), true},
			{"nbf in the future", claims("nbf", now.Add(10*time.Minute).Unix()), false},
			{"iat in the future", claims("iat", now.Add(10*time.Minute).Unix()), false},
			{"foreign aud", claims("aud", []string{"https://other.example"}), false},
			{"lifetime over 24h", claims("exp", now.Add(25*time.Hour).Unix()), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := n.tokenWorks(t, forgeToken(t, n, tc.claims)); got != tc.ok {
					t.Errorf("token works = %v, want %v", got, tc.ok)
				}
			})
		}
	})
}
