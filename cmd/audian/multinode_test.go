package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
)

// revocationDeadline is how soon a revocation made on one node must be in
// force on another.
const revocationDeadline = time.Second

// TestRevocationAcrossNodes runs two server processes on one PostgreSQL
// database and proves that a token issued by one verifies on the other,
// and that every kind of revocation made on node A refuses the affected
// token on node B within a second, although B had verified (and cached)
// the token before.
func TestRevocationAcrossNodes(t *testing.T) {
	// Several processes share only a PostgreSQL database.
	dsn := freshPostgres(t)
	sec := &secrets{}
	noLimit := func(c *config.Config) { c.RateCost = 0 } // B is polled hard
	a := startNode(t, t.TempDir(), dsn, sec, noLimit)
	b := startNode(t, t.TempDir(), dsn, sec, noLimit)
	if b.m.Bootstrapped != nil {
		t.Fatal("the second node bootstrapped a database that already had an account")
	}
	boot := a.m.Bootstrapped
	root := "/v2/accounts/" + boot.AccountID
	admin := a.login(boot.APIKey.Reveal())
	if !b.tokenWorks(t, admin) {
		t.Fatal("a token issued by node A is refused by node B")
	}
	child := a.do("PUT", root, admin, map[string]any{"data": map[string]any{"name": "Revocation Co"}})
	if child.status != http.StatusCreated {
		t.Fatalf("create account: %d %s", child.status, child.raw)
	}
	acct := child.data()["id"].(string)
	const password = "multi node pass 1"
	sec.add(password)
	// userToken creates a user of acct on A and logs it in on A.
	userToken := func(t *testing.T, username string) (id, tok string) {
		t.Helper()
		r := a.do("PUT", "/v2/accounts/"+acct+"/users", admin, map[string]any{"data": map[string]any{
			"first_name": "Multi", "last_name": "Node", "username": username, "password": password, "priv_level": "user"}})
		if r.status != http.StatusCreated {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		login := a.userAuth(map[string]any{"username": username, "password": password, "account_name": "Revocation Co"})
		if login.status != http.StatusCreated {
			t.Fatalf("user_auth: %d %s", login.status, login.raw)
		}
		return r.data()["id"].(string), login.body["auth_token"].(string)
	}
	// keyToken creates a named key on A and logs in with it on A.
	keyToken := func(t *testing.T) (id, tok string) {
		id, secret, _ := a.createNamedKey(t, admin, boot.AccountID, map[string]any{"name": "multi"})
		return id, a.login(secret)
	}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (token string, revoke func() *response)
	}{
		{"token revoked", func(t *testing.T) (string, func() *response) {
			tok := a.login(boot.APIKey.Reveal())
			return tok, func() *response { return a.do("DELETE", "/v2/token_auth", tok, nil) }
		}},
		{"named key revoked", func(t *testing.T) (string, func() *response) {
			id, tok := keyToken(t)
			return tok, func() *response { return a.do("DELETE", keysPath(boot.AccountID)+"/"+id, admin, nil) }
		}},
		{"named key rotated with grace 0", func(t *testing.T) (string, func() *response) {
			id, tok := keyToken(t)
			return tok, func() *response {
				r := a.do("PUT", keysPath(boot.AccountID)+"/"+id+"/rotate", admin, map[string]any{"data": map[string]any{"grace_seconds": 0}})
				if k, ok := r.data()["api_key"].(string); ok {
					sec.add(k)
				}
				return r
			}
		}},
		{"user disabled", func(t *testing.T) (string, func() *response) {
			id, tok := userToken(t, "disabled")
			return tok, func() *response {
				return a.do("PATCH", "/v2/accounts/"+acct+"/users/"+id, admin, map[string]any{"data": map[string]any{"enabled": false}})
			}
		}},
		{"user deleted", func(t *testing.T) (string, func() *response) {
			id, tok := userToken(t, "deleted")
			return tok, func() *response { return a.do("DELETE", "/v2/accounts/"+acct+"/users/"+id, admin, nil) }
		}},
		{"password changed", func(t *testing.T) (string, func() *response) {
			id, tok := userToken(t, "changer")
			const fresh = "a new password 22"
			sec.add(fresh)
			return tok, func() *response {
				return a.do("PATCH", "/v2/accounts/"+acct+"/users/"+id, admin, map[string]any{"data": map[string]any{"password": fresh}})
			}
		}},
		{"account deleted", func(t *testing.T) (string, func() *response) {
			r := a.do("PUT", root, admin, map[string]any{"data": map[string]any{"name": "Doomed Co"}})
			if r.status != http.StatusCreated {
				t.Fatalf("create account: %d %s", r.status, r.raw)
			}
			id := r.data()["id"].(string)
			key := a.do("GET", "/v2/accounts/"+id+"/api_key", admin, nil).data()["api_key"].(string)
			tok := a.login(key)
			return tok, func() *response { return a.do("DELETE", "/v2/accounts/"+id, admin, nil) }
		}},
		{"session revoked with a refreshed token", func(t *testing.T) (string, func() *response) {
			tok := a.login(boot.APIKey.Reveal())
			refreshed := a.mustRefresh(t, tok)
			return tok, func() *response { return a.do("DELETE", "/v2/token_auth", refreshed, nil) }
		}},
		{"ancestor account disabled", func(t *testing.T) (string, func() *response) {
			parent := a.do("PUT", root, admin, map[string]any{"data": map[string]any{"name": "Suspended Parent Co"}}).data()["id"].(string)
			r := a.do("PUT", "/v2/accounts/"+parent, admin, map[string]any{"data": map[string]any{"name": "Suspended Child Co"}})
			if r.status != http.StatusCreated {
				t.Fatalf("create account: %d %s", r.status, r.raw)
			}
			child := r.data()["id"].(string)
			tok := a.login(a.do("GET", "/v2/accounts/"+child+"/api_key", admin, nil).data()["api_key"].(string))
			return tok, func() *response {
				return a.do("PATCH", "/v2/accounts/"+parent, admin, map[string]any{"data": map[string]any{"enabled": false}})
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, revoke := tc.setup(t)
			// B verifies the token first, so that what is refused later
			// is B's cached verification.
			if !b.tokenWorks(t, tok) {
				t.Fatal("node B refuses the token before the revocation")
			}
			if r := revoke(); r.status >= 300 {
				t.Fatalf("revoking on A: %d %s", r.status, r.raw)
			}
			start := time.Now()
			for b.tokenWorks(t, tok) {
				if time.Since(start) > revocationDeadline {
					t.Fatalf("node B still accepts the token %s after the revocation on node A", revocationDeadline)
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("refused on node B after %s", time.Since(start).Round(10*time.Microsecond))
		})
	}

	t.Run("signing key rotated", func(t *testing.T) {
		before := a.login(boot.APIKey.Reveal())
		if !b.tokenWorks(t, before) {
			t.Fatal("node B refuses A's token")
		}
		r := a.do("PUT", "/v2/auth/signing_keys/rotate", admin, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", r.status, r.raw)
		}
		kid := r.data()["kid"].(string)
		after := a.login(boot.APIKey.Reveal())
		if got := tokenKID(t, after); got != kid {
			t.Fatalf("A signs with %s after rotating to %s", got, kid)
		}
		start := time.Now()
		for !jwksHas(t, b, kid) {
			if time.Since(start) > revocationDeadline {
				t.Fatal("node B's JWKS lacks the new key a second after the rotation")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !b.tokenWorks(t, after) || !b.tokenWorks(t, before) {
			t.Error("node B refuses a token signed before or after the rotation")
		}
	})
}
