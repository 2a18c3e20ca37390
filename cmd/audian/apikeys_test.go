package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/credential"
)

// keysPath is the named-key collection of account.
func keysPath(account string) string { return "/v2/accounts/" + account + "/api_keys" }

// createNamedKey creates a named key with data through the API and returns
// the reply, which carries the secret.
func (n *node) createNamedKey(t *testing.T, tok, account string, data map[string]any) (id, secret string, r *response) {
	t.Helper()
	r = n.do("PUT", keysPath(account), tok, map[string]any{"data": data})
	if r.status != http.StatusCreated {
		t.Fatalf("create key %v: status %d\n%s", data, r.status, r.raw)
	}
	id, _ = r.data()["id"].(string)
	secret, _ = r.data()["api_key"].(string)
	if !credential.CheckNamedKey(secret) {
		t.Fatalf("the new key's secret %.9q... is not a well-formed named key", secret)
	}
	return id, secret, r
}

// apiAuth tries an API key and returns the reply.
func (n *node) apiAuth(secret string, headers ...string) *response {
	n.t.Helper()
	return n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": secret}}, headers...)
}

// tokenWorks reports whether tok authenticates GET /v2/token_auth: a 403
// (a token scoped without tokens:read) has authenticated too.
func (n *node) tokenWorks(t *testing.T, tok string) bool {
	t.Helper()
	r := n.do("GET", "/v2/token_auth", tok, nil)
	switch r.status {
	case http.StatusOK, http.StatusForbidden:
		return true
	case http.StatusUnauthorized:
		return false
	}
	t.Fatalf("token_auth: unexpected status %d\n%s", r.status, r.raw)
	return false
}

// mintAccessToken mints an access token with data and returns the reply.
func (n *node) mintAccessToken(tok, account string, data map[string]any) *response {
	n.t.Helper()
	r := n.do("PUT", "/v2/accounts/"+account+"/access_tokens", tok, map[string]any{"data": data})
	if s, ok := r.data()["access_token"].(string); ok {
		n.secrets.add(s)
	}
	return r
}

// wantField fails t unless the error reply has data.<field>.<rule>.
func wantField(t *testing.T, r *response, field, rule string) {
	t.Helper()
	expectError(t, r, http.StatusBadRequest, "validation error")
	if _, ok := r.data()[field].(map[string]any)[rule]; !ok {
		t.Errorf("want data.%s.%s, got %s", field, rule, r.raw)
	}
}

// TestNamedKeys runs the life of named API keys end to end: create and
// use at once, revoke with every token, rotation with and without grace,
// scopes, addresses, a plain user's own keys, and access tokens.
func TestNamedKeys(t *testing.T) {
	edit := func(c *config.Config) {
		behindProxy(c)
		c.RateCost = 0 // dozens of requests from one address: not what is tested here
	}
	forEachBackendWith(t, edit, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		root := boot.AccountID
		admin := n.login(boot.APIKey.Reveal())

		t.Run("works at once and records its use", func(t *testing.T) {
			id, secret, r := n.createNamedKey(t, admin, root, map[string]any{"name": "CI deploys"})
			if loc := r.header.Get("Location"); loc != keysPath(root)+"/"+id {
				t.Errorf("Location %q", loc)
			}
			if got := r.data()["prefix"]; got != secret[:credential.PrefixLen] {
				t.Errorf("prefix %v, want the secret's first %d characters", got, credential.PrefixLen)
			}
			auth := n.apiAuth(secret, from("192.0.2.44")...)
			if auth.status != http.StatusCreated {
				t.Fatalf("api_auth with the new key: %d %s", auth.status, auth.raw)
			}
			info := n.do("GET", "/v2/token_auth", auth.body["auth_token"].(string), nil)
			if info.data()["key_id"] != id || info.data()["priv_level"] != "admin" || info.data()["owner_id"] != nil {
				t.Errorf("token of an admin-made key: %s", info.raw)
			}
			got := n.do("GET", keysPath(root)+"/"+id, admin, nil)
			if got.status != http.StatusOK || got.data()["last_used_ip"] != "192.0.2.44" || got.data()["last_used_at"] == nil {
				t.Errorf("GET key after use: %d %s", got.status, got.raw)
			}
			for _, rr := range []*response{got, n.do("GET", keysPath(root), admin, nil)} {
				if strings.Contains(string(rr.raw), secret) || strings.Contains(string(rr.raw), `"api_key"`) {
					t.Errorf("the secret is shown again: %s", rr.raw)
				}
			}
			// The use reaches the database in a batch, without an event.
			if err := n.m.API.FlushKeyUses(context.Background()); err != nil {
				t.Fatal(err)
			}
			stored, err := n.m.Store.APIKey(context.Background(), root, id)
			if err != nil || stored.LastUsedIP != "192.0.2.44" || stored.LastUsedAt.IsZero() {
				t.Errorf("stored use: %+v %v", stored, err)
			}
		})

		t.Run("revoke ends the key and every token it minted", func(t *testing.T) {
			id, secret, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "doomed"})
			tok1, tok2 := n.login(secret), n.login(secret)
			minted := n.mintAccessToken(tok1, root, map[string]any{"scopes": []string{"users:read"}})
			if minted.status != http.StatusCreated {
				t.Fatalf("access token: %d %s", minted.status, minted.raw)
			}
			tok3 := minted.data()["access_token"].(string)
			for _, tok := range []string{tok1, tok2, tok3} {
				if !n.tokenWorks(t, tok) {
					t.Fatal("a token of the key is refused before the revocation")
				}
			}
			if r := n.do("DELETE", keysPath(root)+"/"+id, admin, nil); r.status != http.StatusOK {
				t.Fatalf("DELETE: %d %s", r.status, r.raw)
			}
			expectError(t, n.apiAuth(secret), http.StatusUnauthorized, "unauthorized")
			for i, tok := range []string{tok1, tok2, tok3} {
				if n.tokenWorks(t, tok) {
					t.Errorf("token %d of the revoked key still works", i+1)
				}
			}
			expectError(t, n.do("DELETE", keysPath(root)+"/"+id, admin, nil), http.StatusNotFound, "not found")
			expectError(t, n.do("GET", keysPath(root)+"/"+id, admin, nil), http.StatusNotFound, "not found")
		})

		t.Run("rotate with grace 0", func(t *testing.T) {
			id, secret, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "rotate now", "scopes": []string{"users:read"}})
			old := n.login(secret)
			r := n.do("PUT", keysPath(root)+"/"+id+"/rotate", admin, map[string]any{"data": map[string]any{"grace_seconds": 0}})
			if r.status != http.StatusCreated {
				t.Fatalf("rotate: %d %s", r.status, r.raw)
			}
			fresh, _ := r.data()["api_key"].(string)
			if r.data()["rotated_from"] != id || r.data()["id"] == id || r.data()["name"] != "rotate now" || !credential.CheckNamedKey(fresh) {
				t.Errorf("rotate reply: %s", r.raw)
			}
			expectError(t, n.apiAuth(secret), http.StatusUnauthorized, "unauthorized")
			if n.tokenWorks(t, old) {
				t.Error("a token of the key rotated with grace 0 still works")
			}
			n.login(fresh)
			info := n.do("GET", keysPath(root)+"/"+r.data()["id"].(string), admin, nil)
			if scopes, _ := info.data()["scopes"].([]any); len(scopes) != 1 || scopes[0] != "users:read" {
				t.Errorf("the new key lost the old one's scopes: %s", info.raw)
			}
		})

		t.Run("scopes limit the key", func(t *testing.T) {
			_, secret, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "reader", "scopes": []string{"users:read"}})
			tok := n.login(secret)
			if r := n.do("GET", "/v2/accounts/"+root+"/users", tok, nil); r.status != http.StatusOK {
				t.Errorf("users:read key lists users: %d %s", r.status, r.raw)
			}
			expectError(t, n.do("PUT", "/v2/accounts/"+root+"/users", tok, map[string]any{"data": map[string]any{"first_name": "A", "last_name": "B"}}),
				http.StatusForbidden, "forbidden")
			expectError(t, n.do("GET", "/v2/accounts/"+root, tok, nil), http.StatusForbidden, "forbidden")
			wantField(t, n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{"name": "x", "scopes": []string{"users:frobnicate"}}}), "scopes", "enum")
			wantField(t, n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{"name": "x", "scopes": []string{}}}), "scopes", "minItems")

			// A scoped key manager hands out no more than it holds.
			_, mgrSecret, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "manager", "scopes": []string{"keys:write", "users:read"}})
			mgr := n.login(mgrSecret)
			for _, tc := range []struct {
				scopes any
				want   int
			}{{nil, http.StatusForbidden}, {[]string{"users:write"}, http.StatusForbidden}, {[]string{"users:read"}, http.StatusCreated}} {
				r := n.do("PUT", keysPath(root), mgr, map[string]any{"data": map[string]any{"name": "sub", "scopes": tc.scopes}})
				if k, ok := r.data()["api_key"].(string); ok {
					n.secrets.add(k)
				}
				if r.status != tc.want {
					t.Errorf("scoped manager creates a key with scopes %v: %d, want %d\n%s", tc.scopes, r.status, tc.want, r.raw)
				}
			}
			id, _, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "wide"})
			expectError(t, n.do("PATCH", keysPath(root)+"/"+id, mgr, map[string]any{"data": map[string]any{"name": "mine now"}}), http.StatusForbidden, "forbidden")
			r := n.do("PATCH", keysPath(root)+"/"+id, admin, map[string]any{"data": map[string]any{"name": "narrow", "scopes": []string{"accounts:read"}, "allowed_cidrs": []string{"10.1.2.3"}}})
			if r.status != http.StatusOK || r.data()["name"] != "narrow" || r.data()["allowed_cidrs"].([]any)[0] != "10.1.2.3/32" {
				t.Errorf("PATCH: %d %s", r.status, r.raw)
			}
		})

		t.Run("allowed_cidrs", func(t *testing.T) {
			_, secret, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "office", "allowed_cidrs": []string{"203.0.113.0/24", "2001:db8::/32"}})
			r := n.apiAuth(secret, from("198.51.100.7")...)
			expectError(t, r, http.StatusUnauthorized, "unauthorized")
			if r.data()["message"] != "api key not allowed from this address" {
				t.Errorf("refusal: %s", r.raw)
			}
			for _, ip := range []string{"203.0.113.9", "2001:db8::5"} {
				if r := n.apiAuth(secret, from(ip)...); r.status != http.StatusCreated {
					t.Errorf("from %s: %d %s", ip, r.status, r.raw)
				}
			}
			// The key's addresses bind its tokens, and the tokens derived
			// from them, wherever they are presented.
			tok := n.apiAuth(secret, from("203.0.113.9")...).body["auth_token"].(string)
			acct := "/v2/accounts/" + root
			if r := n.do("GET", acct, tok, nil, from("203.0.113.10")...); r.status != http.StatusOK {
				t.Errorf("token from an allowed address: %d %s", r.status, r.raw)
			}
			r = n.do("GET", acct, tok, nil, from("198.51.100.7")...)
			expectError(t, r, http.StatusUnauthorized, "unauthorized")
			if r.data()["message"] != "token not allowed from this address" {
				t.Errorf("token refusal: %s", r.raw)
			}
			refreshed := n.do("PUT", "/v2/auth", tok, map[string]any{"action": "refresh_token"}, from("203.0.113.10")...).body["auth_token"].(string)
			expectError(t, n.do("GET", acct, refreshed, nil, from("198.51.100.7")...), http.StatusUnauthorized, "unauthorized")
			wantField(t, n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{"name": "x", "allowed_cidrs": []string{"not an address"}}}), "allowed_cidrs", "format")
		})

		t.Run("validation", func(t *testing.T) {
			wantField(t, n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{}}), "name", "required")
			wantField(t, n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}}), "expires_at", "minimum")
			wantField(t, n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{"name": "x", "expires_at": "soon"}}), "expires_at", "format")
			at := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()
			_, _, r := n.createNamedKey(t, admin, root, map[string]any{"name": "unix", "expires_at": at.Unix()})
			if r.data()["expires_at"] != at.Format(time.RFC3339) {
				t.Errorf("expires_at from Unix seconds: %v, want %s", r.data()["expires_at"], at.Format(time.RFC3339))
			}
			wantField(t, n.do("PUT", keysPath(root)+"/"+r.data()["id"].(string)+"/rotate", admin, map[string]any{"data": map[string]any{"grace_seconds": -1}}), "grace_seconds", "range")
			expectError(t, n.do("GET", keysPath(root)+"/"+boot.AccountID, admin, nil), http.StatusNotFound, "not found")
		})

		t.Run("a plain user manages its own keys", func(t *testing.T) {
			f := newLoginFixture(t, n)
			bob := n.userAuth(map[string]any{"credentials": digest("md5", "bob", f.password), "account_name": f.accountName}).body["auth_token"].(string)
			alice := n.userAuth(map[string]any{"credentials": digest("md5", "alice@example.com", f.password), "account_name": f.accountName}).body["auth_token"].(string)
			bobKey, bobSecret, _ := n.createNamedKey(t, bob, f.account, map[string]any{"name": "bob's script"})
			aliceKey, _, _ := n.createNamedKey(t, alice, f.account, map[string]any{"name": "alice's"})
			list := n.do("GET", keysPath(f.account), bob, nil)
			if items, _ := list.body["data"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != bobKey {
				t.Errorf("bob's list: %s", list.raw)
			}
			if all, _ := n.do("GET", keysPath(f.account), alice, nil).body["data"].([]any); len(all) != 2 {
				t.Errorf("the admin sees %d keys, want 2", len(all))
			}
			expectError(t, n.do("GET", keysPath(f.account)+"/"+aliceKey, bob, nil), http.StatusForbidden, "forbidden")
			expectError(t, n.do("DELETE", keysPath(f.account)+"/"+aliceKey, bob, nil), http.StatusForbidden, "forbidden")
			expectError(t, n.do("GET", keysPath(root), bob, nil), http.StatusForbidden, "forbidden")
			if r := n.do("PATCH", keysPath(f.account)+"/"+bobKey, bob, map[string]any{"data": map[string]any{"name": "renamed"}}); r.status != http.StatusOK {
				t.Errorf("bob renames his key: %d %s", r.status, r.raw)
			}
			// The key acts as bob: a plain user, revoked with him.
			tok := n.login(bobSecret)
			info := n.do("GET", "/v2/token_auth", tok, nil)
			if info.data()["owner_id"] != f.bob || info.data()["priv_level"] != "user" {
				t.Errorf("token of bob's key: %s", info.raw)
			}
			expectError(t, n.do("GET", "/v2/accounts/"+f.account+"/users", tok, nil), http.StatusForbidden, "forbidden")
			if r := n.do("GET", "/v2/accounts/"+f.account+"/users/"+f.bob, tok, nil); r.status != http.StatusOK {
				t.Errorf("bob's key reads bob: %d %s", r.status, r.raw)
			}
			if r := n.do("PATCH", "/v2/accounts/"+f.account+"/users/"+f.bob, f.admin, map[string]any{"data": map[string]any{"enabled": false}}); r.status != http.StatusOK {
				t.Fatalf("disable bob: %d %s", r.status, r.raw)
			}
			expectError(t, n.apiAuth(bobSecret), http.StatusUnauthorized, "unauthorized")
			if n.tokenWorks(t, tok) {
				t.Error("a token of a disabled user's key still works")
			}
		})

		t.Run("access tokens", func(t *testing.T) {
			r := n.mintAccessToken(admin, root, map[string]any{"scopes": []string{"users:read", "tokens:read"}, "expires_in": 900})
			if r.status != http.StatusCreated || r.data()["expires_in"] != float64(900) {
				t.Fatalf("mint: %d %s", r.status, r.raw)
			}
			tok := r.data()["access_token"].(string)
			info := n.do("GET", "/v2/token_auth", tok, nil)
			if exp, iat := info.data()["exp"].(float64), info.data()["iat"].(float64); exp-iat != 900 {
				t.Errorf("lifetime %v, want 900", exp-iat)
			}
			if r := n.do("GET", "/v2/accounts/"+root+"/users", tok, nil); r.status != http.StatusOK {
				t.Errorf("users:read token lists users: %d", r.status)
			}
			expectError(t, n.do("PUT", "/v2/accounts/"+root+"/users", tok, map[string]any{"data": map[string]any{"first_name": "A", "last_name": "B"}}), http.StatusForbidden, "forbidden")
			expectError(t, n.mintAccessToken(tok, root, map[string]any{"scopes": []string{"users:write"}}), http.StatusForbidden, "forbidden")
			wantField(t, n.mintAccessToken(admin, root, map[string]any{"scopes": []string{"users:read"}, "expires_in": 60}), "expires_in", "range")
			wantField(t, n.mintAccessToken(admin, root, map[string]any{}), "scopes", "required")
			child := n.do("PUT", "/v2/accounts/"+root, admin, map[string]any{"data": map[string]any{"name": "Token Child"}}).data()["id"].(string)
			expectError(t, n.mintAccessToken(admin, child, map[string]any{"scopes": []string{"users:read"}}), http.StatusForbidden, "forbidden")
		})

		t.Run("rotate with grace", func(t *testing.T) {
			id, secret, _ := n.createNamedKey(t, admin, root, map[string]any{"name": "rotate later"})
			old := n.login(secret)
			r := n.do("PUT", keysPath(root)+"/"+id+"/rotate", admin, map[string]any{"data": map[string]any{"grace_seconds": 600}})
			if r.status != http.StatusCreated {
				t.Fatalf("rotate: %d %s", r.status, r.raw)
			}
			fresh := r.data()["api_key"].(string)
			if n.apiAuth(secret).status != http.StatusCreated || !n.tokenWorks(t, old) {
				t.Fatal("the old key stopped working within its grace period")
			}
			n.clock.Advance(601 * time.Second)
			expectError(t, n.apiAuth(secret), http.StatusUnauthorized, "unauthorized")
			if r := n.apiAuth(fresh); r.status != http.StatusCreated {
				t.Errorf("the new key after the grace: %d %s", r.status, r.raw)
			}
			admin := n.login(boot.APIKey.Reveal())
			got := n.do("GET", keysPath(root)+"/"+id, admin, nil)
			if got.data()["status"] != "expired" {
				t.Errorf("the old key after its grace: %s", got.raw)
			}
			// A rotation with no body gives a day of grace.
			newID := r.data()["id"].(string)
			r = n.do("PUT", keysPath(root)+"/"+newID+"/rotate", admin, nil)
			if k, ok := r.data()["api_key"].(string); ok {
				n.secrets.add(k)
			}
			if want := rfc3339(n.clock.Now().Add(24 * time.Hour)); r.status != http.StatusCreated || r.data()["previous_expires_at"] != want {
				t.Errorf("default grace: %d %s, want previous_expires_at %s", r.status, r.raw, want)
			}
		})
	})
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// reset puts the clock back on the real time after an Advance.
func (c *clock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = time.Time{}
}

// TestKeyRotationPolicy: a key older than --key-rotation-days is
// rotation_due, and refused at api_auth when rotation is mandatory; its
// rotation works.
func TestKeyRotationPolicy(t *testing.T) {
	policy := func(c *config.Config) { c.KeyRotationDays = 1; c.KeyRotationMandatory = true }
	forEachBackendWith(t, policy, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		root := boot.AccountID
		admin := n.login(boot.APIKey.Reveal())
		id, secret, r := n.createNamedKey(t, admin, root, map[string]any{"name": "aging"})
		if r.data()["rotation_due"] != false {
			t.Errorf("a new key is rotation_due: %s", r.raw)
		}
		n.login(secret)
		n.clock.Advance(25 * time.Hour)
		admin = n.login(boot.APIKey.Reveal()) // the account key is not subject to the policy
		if got := n.do("GET", keysPath(root)+"/"+id, admin, nil); got.data()["rotation_due"] != true {
			t.Errorf("a key past the policy: %s", got.raw)
		}
		r = n.apiAuth(secret)
		expectError(t, r, http.StatusUnauthorized, "unauthorized")
		if r.data()["message"] != "api key rotation overdue" {
			t.Errorf("refusal: %s", r.raw)
		}
		rot := n.do("PUT", keysPath(root)+"/"+id+"/rotate", admin, map[string]any{"data": map[string]any{"grace_seconds": 0}})
		if rot.status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", rot.status, rot.raw)
		}
		// Back to the real time, which the store stamped the new key with.
		n.clock.reset()
		admin = n.login(boot.APIKey.Reveal())
		if got := n.do("GET", keysPath(root)+"/"+rot.data()["id"].(string), admin, nil); got.data()["rotation_due"] != false {
			t.Errorf("the rotated key: %s", got.raw)
		}
		n.login(rot.data()["api_key"].(string))
	})
}

// scrubKey replaces a key's secret and prefix, which change from run to
// run, with placeholders before a golden comparison.
func scrubKey(r *response) *response {
	scrub := func(d map[string]any) {
		for k, v := range map[string]string{"api_key": "<secret>", "prefix": "<prefix>"} {
			if _, ok := d[k]; ok {
				d[k] = v
			}
		}
	}
	if d := r.data(); d != nil {
		scrub(d)
	}
	if items, ok := r.body["data"].([]any); ok {
		for _, it := range items {
			if d, ok := it.(map[string]any); ok {
				scrub(d)
			}
		}
	}
	return r
}

// TestNamedKeyGoldens pins the wire shape of the named-key and access
// token replies.
func TestNamedKeyGoldens(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	boot := n.m.Bootstrapped
	root := boot.AccountID
	admin := n.login(boot.APIKey.Reveal())
	id, secret, created := n.createNamedKey(t, admin, root, map[string]any{
		"name": "Billing export", "scopes": []string{"users:read", "accounts:read"}, "allowed_cidrs": []string{"127.0.0.1", "10.0.0.0/8"},
	})
	golden(t, "api_key_created", scrubKey(created))
	n.login(secret)
	golden(t, "api_key", scrubKey(n.do("GET", keysPath(root)+"/"+id, admin, nil)))
	golden(t, "api_keys", scrubKey(n.do("GET", keysPath(root), admin, nil)))
	golden(t, "api_key_rotated", scrubKey(n.do("PUT", keysPath(root)+"/"+id+"/rotate", admin, map[string]any{"data": map[string]any{"grace_seconds": 0}})))
	golden(t, "access_token", n.mintAccessToken(admin, root, map[string]any{"scopes": []string{"users:read"}, "expires_in": 900}))
	golden(t, "error_scope_enum", n.do("PUT", keysPath(root), admin, map[string]any{"data": map[string]any{"name": "x", "scopes": []string{"everything"}}}))
	keyMaker := n.mintAccessToken(admin, root, map[string]any{"scopes": []string{"keys:write"}}).data()["access_token"].(string)
	golden(t, "error_scope_exceeds", n.do("PUT", keysPath(root), keyMaker, map[string]any{"data": map[string]any{"name": "x"}}))
}
