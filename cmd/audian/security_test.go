package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
)

// forEachBackendWith is forEachBackend with configuration edits.
func forEachBackendWith(t *testing.T, edit func(*config.Config), f func(t *testing.T, n *node)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			f(t, startNode(t, t.TempDir(), b.dsn(t), &secrets{}, edit))
		})
	}
}

// behindProxy trusts the loopback address the tests connect from, so
// that X-Forwarded-For chooses the client address.
func behindProxy(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1/32", "::1/128"} }

// from returns the headers of a request from the client at ip.
func from(ip string) []string { return []string{"X-Forwarded-For", ip} }

// tokensOf returns the envelope's tokens.remaining and consumed.
func tokensOf(t *testing.T, r *response) (remaining, consumed int) {
	t.Helper()
	tk, ok := r.body["tokens"].(map[string]any)
	if !ok {
		t.Fatalf("envelope without tokens: %s", r.raw)
	}
	return int(tk["remaining"].(float64)), int(tk["consumed"].(float64))
}

// TestRateLimitCountsDown: 150 rapid requests from one client empty the
// bucket; tokens.remaining counts down, then 429 with Retry-After.
func TestRateLimitCountsDown(t *testing.T) {
	slow := func(c *config.Config) {
		behindProxy(c)
		c.RatePerSecond = 0.01 // no refill during the test: an exact count
	}
	forEachBackendWith(t, slow, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		token := n.login(boot.APIKey.Reveal())
		path := "/v2/accounts/" + boot.AccountID
		var refused int
		for i := range 150 {
			r := n.do("GET", path, token, nil, from("198.51.100.10")...)
			remaining, consumed := tokensOf(t, r)
			if i < 100 {
				if r.status != http.StatusOK || remaining != 99-i || consumed != 1 {
					t.Fatalf("request %d: status %d tokens %d/%d, want 200 remaining %d consumed 1", i, r.status, remaining, consumed, 99-i)
				}
				continue
			}
			expectError(t, r, http.StatusTooManyRequests, "too many requests")
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("request %d: Retry-After %q, want whole seconds >= 1", i, r.header.Get("Retry-After"))
			}
			if remaining != 0 {
				t.Errorf("request %d: refused with remaining %d", i, remaining)
			}
			refused++
		}
		if refused != 50 {
			t.Errorf("%d of 150 refused, want 50", refused)
		}
		// Another client address has its own bucket.
		if r := n.do("GET", path, token, nil, from("198.51.100.11")...); r.status != http.StatusOK {
			t.Errorf("another address: status %d, want 200", r.status)
		}
	})
}

// TestRateLimitOverrides: a system admin gives one account its own
// limits; the account's own admin may read but not change them.
func TestRateLimitOverrides(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		root := n.login(boot.APIKey.Reveal())
		child := n.do("PUT", "/v2/accounts/"+boot.AccountID, root, map[string]any{"data": map[string]any{"name": "Limited"}})
		if child.status != http.StatusCreated {
			t.Fatalf("create child: %d %s", child.status, child.raw)
		}
		id := child.data()["id"].(string)
		limits := "/v2/accounts/" + id + "/rate_limits"

		r := n.do("GET", limits, root, nil)
		if r.status != http.StatusOK || r.data()["burst"] != float64(100) || r.data()["override"] != false {
			t.Fatalf("GET defaults: %d %s", r.status, r.raw)
		}
		bad := n.do("POST", limits, root, map[string]any{"data": map[string]any{"burst": 0, "cost": "x"}})
		expectError(t, bad, http.StatusBadRequest, "validation error")
		r = n.do("POST", limits, root, map[string]any{"data": map[string]any{"burst": 3, "rate": 0.01}})
		if r.status != http.StatusOK || r.data()["burst"] != float64(3) || r.data()["cost"] != float64(1) || r.data()["override"] != true {
			t.Fatalf("POST override: %d %s", r.status, r.raw)
		}
		for i := range 3 {
			if r := n.do("GET", "/v2/accounts/"+id, root, nil, from("198.51.100.20")...); r.status != http.StatusOK {
				t.Fatalf("request %d within the override's burst: %d", i, r.status)
			}
		}
		r = n.do("GET", "/v2/accounts/"+id, root, nil, from("198.51.100.20")...)
		expectError(t, r, http.StatusTooManyRequests, "too many requests")
		// The global limits still apply elsewhere.
		if r := n.do("GET", "/v2/accounts/"+boot.AccountID, root, nil, from("198.51.100.20")...); r.status != http.StatusOK {
			t.Errorf("the override leaked to another account: %d", r.status)
		}

		key := n.do("GET", "/v2/accounts/"+id+"/api_key", root, nil)
		childToken := n.login(key.data()["api_key"].(string))
		if r := n.do("GET", limits, childToken, nil); r.status != http.StatusOK {
			t.Errorf("the account's admin cannot read its limits: %d", r.status)
		}
		r = n.do("POST", limits, childToken, map[string]any{"data": map[string]any{"burst": 1000000}})
		expectError(t, r, http.StatusForbidden, "forbidden")

		// A cost of 0 turns limiting off for the account. (Requests about
		// the account from this test's own address have used its 3 tokens.)
		r = n.do("POST", limits, root, map[string]any{"data": map[string]any{"cost": 0}}, from("198.51.100.21")...)
		if r.status != http.StatusOK {
			t.Fatalf("POST cost 0: %d %s", r.status, r.raw)
		}
		for range 5 {
			r := n.do("GET", "/v2/accounts/"+id, root, nil, from("198.51.100.20")...)
			if remaining, consumed := tokensOf(t, r); r.status != http.StatusOK || consumed != 0 || remaining != 3 {
				t.Fatalf("with cost 0: status %d tokens %d/%d, want 200, 3 remaining, 0 consumed", r.status, remaining, consumed)
			}
		}
		if r := n.do("DELETE", limits, root, nil); r.status != http.StatusOK || r.data()["override"] != false {
			t.Errorf("DELETE override: %d %s", r.status, r.raw)
		}
	})
}

// TestLoginGuessing: a guessing loop from one address against one user
// (and one key) gets 429s, while the real owner still logs in from
// another address.
func TestLoginGuessing(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		root := n.login(boot.APIKey.Reveal())
		const password = "correct horse battery staple"
		n.secrets.add(password)
		r := n.do("PUT", "/v2/accounts/"+boot.AccountID+"/users", root, map[string]any{"data": map[string]any{
			"username": "victim", "password": password, "first_name": "Vic", "last_name": "Tim",
		}})
		if r.status != http.StatusCreated {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		login := func(pw, ip string) *response {
			return n.do("PUT", "/v2/user_auth", "", map[string]any{"data": map[string]any{
				"username": "victim", "password": pw, "account_name": "Root",
			}}, from(ip)...)
		}
		guessLoop(t, func(i int, ip string) *response { return login("guess-"+strconv.Itoa(i), ip) })
		if r := login(password, "198.51.100.66"); r.status != http.StatusTooManyRequests {
			t.Errorf("the right password from the guessing address: %d, want 429 (the address is blocked)", r.status)
		}
		if r := login(password, "203.0.113.5"); r.status != http.StatusCreated {
			t.Fatalf("the owner from another address: %d %s, want 201", r.status, r.raw)
		}

		// The same for an API key: guesses that share the key's public
		// prefix count against the key.
		key := boot.APIKey.Reveal()
		guessLoop(t, func(i int, ip string) *response {
			guess := key[:len(key)-4] + strconv.Itoa(1000+i)
			return n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": guess}}, from(ip)...)
		})
		r = n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": key}}, from("203.0.113.5")...)
		if r.status != http.StatusCreated {
			t.Errorf("the key's owner from another address: %d, want 201", r.status)
		}
	})
}

// guessLoop makes failing attempts from one address until the guard
// refuses, and checks the refusal.
func guessLoop(t *testing.T, attempt func(i int, ip string) *response) {
	t.Helper()
	for i := range 20 {
		r := attempt(i, "198.51.100.66")
		switch r.status {
		case http.StatusUnauthorized:
			continue
		case http.StatusTooManyRequests:
			expectError(t, r, http.StatusTooManyRequests, "too many requests")
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q, want whole seconds >= 1", r.header.Get("Retry-After"))
			}
			if i < 5 {
				t.Errorf("refused after only %d failures", i)
			}
			return
		default:
			t.Fatalf("guess %d: status %d %s", i, r.status, r.raw)
		}
	}
	t.Fatal("20 wrong guesses from one address were never refused")
}

// TestAuditLog: logins (success and failure), key replacement, user
// create/update/delete and token revocation are in the audit log, which
// holds no secret.
func TestAuditLog(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		acct := boot.AccountID
		oldKey := boot.APIKey.Reveal()
		root := n.login(oldKey)
		const password, password2 = "first password 1", "second password 2"
		n.secrets.add(password)
		n.secrets.add(password2)
		n.secrets.add(boot.Password.Reveal())

		bad := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": "not-a-key-at-all-0123456789"}}, from("198.51.100.1")...)
		expectError(t, bad, http.StatusUnauthorized, "unauthorized")
		u := n.do("PUT", "/v2/accounts/"+acct+"/users", root, map[string]any{"data": map[string]any{
			"username": "carol", "password": password, "first_name": "Carol", "last_name": "C",
		}}, "User-Agent", "audit-test/1.0")
		if u.status != http.StatusCreated {
			t.Fatalf("create user: %d %s", u.status, u.raw)
		}
		userID := u.data()["id"].(string)
		userPath := "/v2/accounts/" + acct + "/users/" + userID
		if r := n.do("PATCH", userPath, root, map[string]any{"data": map[string]any{"password": password2}}); r.status != http.StatusOK {
			t.Fatalf("update user: %d %s", r.status, r.raw)
		}
		userAuth := func(pw string) *response {
			return n.do("PUT", "/v2/user_auth", "", map[string]any{"data": map[string]any{"username": "carol", "password": pw, "account_name": "Root"}})
		}
		expectError(t, userAuth(password), http.StatusUnauthorized, "unauthorized")
		ok := userAuth(password2)
		if ok.status != http.StatusCreated {
			t.Fatalf("user_auth: %d %s", ok.status, ok.raw)
		}
		userToken := ok.body["auth_token"].(string)
		if r := n.do("DELETE", "/v2/token_auth", userToken, nil); r.status != http.StatusOK {
			t.Fatalf("revoke token: %d %s", r.status, r.raw)
		}
		if r := n.do("DELETE", userPath, root, nil); r.status != http.StatusOK {
			t.Fatalf("delete user: %d %s", r.status, r.raw)
		}
		replaced := n.do("PUT", "/v2/accounts/"+acct+"/api_key", root, nil)
		if replaced.status != http.StatusCreated {
			t.Fatalf("replace key: %d %s", replaced.status, replaced.raw)
		}
		// The replacement ended the old key's tokens.
		root = n.login(replaced.data()["api_key"].(string))
		expectError(t, n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": oldKey}}), http.StatusUnauthorized, "unauthorized")

		list := n.do("GET", "/v2/accounts/"+acct+"/audit?paginate=false", root, nil)
		if list.status != http.StatusOK {
			t.Fatalf("audit: %d %s", list.status, list.raw)
		}
		entries, _ := list.body["data"].([]any)
		type key struct{ action, outcome string }
		seen := map[key]map[string]any{}
		for _, it := range entries {
			e := it.(map[string]any)
			seen[key{e["action"].(string), e["outcome"].(string)}] = e
		}
		for _, want := range []key{
			{"api_auth", "success"}, {"api_auth", "failure"},
			{"user_auth", "success"}, {"user_auth", "failure"},
			{"users.create", "success"}, {"users.update", "success"}, {"users.delete", "success"},
			{"token.revoke", "success"}, {"api_key.replace", "success"},
		} {
			if seen[want] == nil {
				t.Errorf("the audit log lacks %s/%s:\n%s", want.action, want.outcome, list.raw)
			}
		}
		if e := seen[key{"users.create", "success"}]; e != nil {
			if e["target_id"] != userID || e["actor_type"] != "api_key" || e["user_agent"] != "audit-test/1.0" || e["client_ip"] == "" || e["request_id"] == "" {
				t.Errorf("users.create entry %v: want the user as target, the API key as actor, agent, address and request id", e)
			}
		}
		if e := seen[key{"user_auth", "success"}]; e != nil && (e["actor_id"] != userID || e["actor_type"] != "user") {
			t.Errorf("user_auth entry %v: want the user as actor", e)
		}
		// The failed attempt with an unknown key concerns no account: a
		// system account's log shows it.
		unknownSeen := false
		for _, it := range entries {
			e := it.(map[string]any)
			if e["action"] == "api_auth" && e["outcome"] == "failure" && e["account_id"] == "" && e["client_ip"] == "198.51.100.1" {
				unknownSeen = true
			}
		}
		if !unknownSeen {
			t.Error("the failed api_auth with an unknown key is not in the system account's log")
		}

		// Filters and pagination.
		for _, tt := range []struct {
			query string
			want  int
		}{
			{"action=users.create", 1},
			{"action=users.create&actor=nobody", 0},
			{"created_from=" + strconv.FormatInt(time.Now().Add(time.Hour).Unix()+62167219200, 10), 0},
			{"created_to=" + strconv.FormatInt(time.Now().Add(-time.Hour).Unix()+62167219200, 10), 0},
			{"created_from=" + strconv.FormatInt(time.Now().Add(-time.Hour).Unix()+62167219200, 10) + "&action=users.delete", 1},
			{"filter_outcome=failure&action=user_auth", 1},
		} {
			r := n.do("GET", "/v2/accounts/"+acct+"/audit?"+tt.query, root, nil)
			if got, _ := r.body["data"].([]any); r.status != http.StatusOK || len(got) != tt.want {
				t.Errorf("audit?%s: status %d, %d entries, want %d\n%s", tt.query, r.status, len(got), tt.want, r.raw)
			}
		}
		page := n.do("GET", "/v2/accounts/"+acct+"/audit?page_size=2", root, nil)
		if got, _ := page.body["data"].([]any); len(got) != 2 || page.body["next_start_key"] == nil {
			t.Errorf("page_size=2: %d entries, next_start_key %v", len(got), page.body["next_start_key"])
		}

		// No secret anywhere in the log (the envelope's auth_token is the
		// listing's own credential, not part of the log).
		rawData, err := json.Marshal(list.body["data"])
		if err != nil {
			t.Fatal(err)
		}
		raw := string(rawData)
		n.secrets.mu.Lock()
		defer n.secrets.mu.Unlock()
		for _, s := range append(n.secrets.list, password, password2, oldKey) {
			if strings.Contains(raw, s) {
				t.Errorf("the audit log holds a secret (%.6s...)", s)
			}
		}
	})
}
