package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
)

// forEachBackend runs f against a fresh server on every backend.
func forEachBackend(t *testing.T, f func(t *testing.T, n *node)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{})
			if n.m.Bootstrapped == nil {
				t.Fatal("a fresh database was not bootstrapped")
			}
			f(t, n)
		})
	}
}

// TestQuickstart is the README's curl flow: API key -> token -> users.
func TestQuickstart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		// Standard output is not a terminal here: the credentials are in
		// the data directory's file (TestFirstStartCredentials).
		if file, err := os.ReadFile(n.m.BootstrapPath); err != nil || !strings.Contains(string(file), boot.APIKey.Reveal()) || !strings.Contains(string(file), boot.Password.Reveal()) {
			t.Errorf("the bootstrap credentials were not written to %s: %v\n%s", n.m.BootstrapPath, err, file)
		}
		r := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": boot.APIKey.Reveal()}})
		if r.status != http.StatusCreated {
			t.Fatalf("api_auth: status %d, want 201\n%s", r.status, r.raw)
		}
		token, _ := r.body["auth_token"].(string)
		if !strings.HasPrefix(token, "eyJhbGciOiJSUzI1") || strings.Count(token, ".") != 2 {
			t.Errorf("auth_token %.20q... is not an RS256 JWT", token)
		}
		if got := r.data()["account_id"]; got != boot.AccountID {
			t.Errorf("data.account_id = %v, want %s", got, boot.AccountID)
		}
		for _, k := range []string{"status", "request_id", "revision", "timestamp", "version", "node", "tokens", "metadata"} {
			if _, ok := r.body[k]; !ok {
				t.Errorf("api_auth envelope lacks %q: %s", k, r.raw)
			}
		}
		if r.body["revision"] != "automatic" || r.body["status"] != "success" {
			t.Errorf("revision %v status %v, want automatic success", r.body["revision"], r.body["status"])
		}

		users := n.do("GET", "/v2/accounts/"+boot.AccountID+"/users", token, nil)
		if users.status != http.StatusOK {
			t.Fatalf("users: status %d\n%s", users.status, users.raw)
		}
		list, _ := users.body["data"].([]any)
		found := false
		for _, item := range list {
			u := item.(map[string]any)
			if u["id"] == boot.UserID && u["username"] == "admin" && u["priv_level"] == "admin" {
				found = true
			}
			for k := range u {
				if strings.Contains(k, "hash") || strings.HasPrefix(k, "pvt_") || k == "password" {
					t.Errorf("user list item exposes %q", k)
				}
			}
		}
		if !found {
			t.Errorf("users list does not hold the admin user: %s", users.raw)
		}
		if n.do("GET", "/v2/accounts/"+boot.AccountID, token, nil).status != http.StatusOK {
			t.Error("GET own account is not 200")
		}
	})
}

// TestCredentialFailures: every bad credential is the same 401.
func TestCredentialFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		acct := "/v2/accounts/" + boot.AccountID
		good := n.login(boot.APIKey.Reveal())

		parts := strings.Split(good, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := strings.Replace(string(payload), boot.AccountID, strings.Repeat("a", 32), 1)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		badSig := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

		for _, tc := range []struct{ name, token string }{
			{"missing", ""},
			{"garbage", "not-a-token"},
			{"undefined", "undefined"},
			{"tampered payload", tampered},
			{"bad signature", badSig},
		} {
			t.Run(tc.name, func(t *testing.T) {
				expectError(t, n.do("GET", acct+"/users", tc.token, nil), http.StatusUnauthorized, "unauthorized")
			})
		}
		t.Run("unknown api key", func(t *testing.T) {
			r := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": strings.Repeat("0", 64)}})
			expectError(t, r, http.StatusUnauthorized, "unauthorized")
			if strings.Contains(string(r.raw), strings.Repeat("0", 64)) {
				t.Error("the presented key is echoed back")
			}
		})
		t.Run("api_key not a string", func(t *testing.T) {
			expectError(t, n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": 42}}), http.StatusBadRequest, "validation error")
		})
		t.Run("public route ignores a stale token", func(t *testing.T) {
			r := n.do("PUT", "/v2/api_auth", "undefined", map[string]any{"data": map[string]any{"api_key": boot.APIKey.Reveal()}})
			if r.status != http.StatusCreated {
				t.Fatalf("status %d, want 201", r.status)
			}
		})
		t.Run("revoked", func(t *testing.T) {
			tok := n.login(boot.APIKey.Reveal())
			if r := n.do("GET", "/v2/token_auth", tok, nil); r.status != http.StatusOK {
				t.Fatalf("token_auth GET: %d %s", r.status, r.raw)
			}
			if r := n.do("DELETE", "/v2/token_auth", tok, nil); r.status != http.StatusOK {
				t.Fatalf("token_auth DELETE: %d %s", r.status, r.raw)
			}
			expectError(t, n.do("GET", acct+"/users", tok, nil), http.StatusUnauthorized, "unauthorized")
			if r := n.do("GET", acct+"/users", good, nil); r.status != http.StatusOK {
				t.Errorf("another token of the same key was revoked too: %d", r.status)
			}
		})
		t.Run("replaced api key", func(t *testing.T) {
			tok := n.login(boot.APIKey.Reveal())
			r := n.do("PUT", acct+"/api_key", tok, nil)
			if r.status != http.StatusCreated {
				t.Fatalf("PUT api_key: %d %s", r.status, r.raw)
			}
			newKey := r.data()["api_key"].(string)
			expectError(t, n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": boot.APIKey.Reveal()}}), http.StatusUnauthorized, "unauthorized")
			expectError(t, n.do("GET", acct, tok, nil), http.StatusUnauthorized, "unauthorized")
			fresh := n.login(newKey)
			if got := n.do("GET", acct+"/api_key", fresh, nil).data()["api_key"]; got != newKey {
				t.Errorf("GET api_key = %v, want the new key", got)
			}
		})
		// Expiry last: it moves the clock past every token above.
		t.Run("expired", func(t *testing.T) {
			key := n.do("GET", acct+"/api_key", n.loginAny(t), nil).data()["api_key"].(string)
			tok := n.login(key)
			n.clock.Advance(time.Hour + 5*time.Minute)
			r := n.do("GET", acct+"/users", tok, nil)
			expectError(t, r, http.StatusUnauthorized, "unauthorized")
			if msg := r.data()["message"]; msg != "token expired" {
				t.Errorf("data.message = %v, want token expired", msg)
			}
		})
	})
}

// loginAny logs in with the account key as it currently is.
func (n *node) loginAny(t *testing.T) string {
	t.Helper()
	// A user login would do too; the bootstrap key may have been replaced
	// by an earlier subtest, so read the current one back through a fresh
	// token minted by the token service directly.
	tok, _, err := n.m.Tokens.Issue(adminClaims(n.m.Bootstrapped.AccountID), 0)
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(tok)
	return tok
}

// TestAccountTree: parents reach children, never the reverse or sideways.
func TestAccountTree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		root := n.m.Bootstrapped.AccountID
		rootTok := n.login(n.m.Bootstrapped.APIKey.Reveal())

		create := func(parent, tok, name string) string {
			r := n.do("PUT", "/v2/accounts/"+parent, tok, map[string]any{"data": map[string]any{"name": name}})
			if r.status != http.StatusCreated {
				t.Fatalf("create %s: %d %s", name, r.status, r.raw)
			}
			id := r.data()["id"].(string)
			if loc := r.header.Get("Location"); loc != "/v2/accounts/"+id {
				t.Errorf("Location %q, want /v2/accounts/%s", loc, id)
			}
			return id
		}
		childA := create(root, rootTok, "Child A")
		childB := create(root, rootTok, "Child B")
		grandchild := create(childA, rootTok, "Grandchild")

		keyOf := func(id string) string {
			r := n.do("GET", "/v2/accounts/"+id+"/api_key", rootTok, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET api_key of %s: %d %s", id, r.status, r.raw)
			}
			return r.data()["api_key"].(string)
		}
		aTok := n.login(keyOf(childA))

		for _, tc := range []struct {
			name, token, account string
			want                 int
		}{
			{"parent on child", rootTok, childA, 200},
			{"root on grandchild", rootTok, grandchild, 200},
			{"child on itself", aTok, childA, 200},
			{"child on its child", aTok, grandchild, 200},
			{"child on parent", aTok, root, 403},
			{"child on sibling", aTok, childB, 403},
			{"child on a missing account", aTok, strings.Repeat("b", 32), 403},
			{"child on a malformed id", aTok, "nope", 403},
			{"system on a missing account", rootTok, strings.Repeat("b", 32), 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"", "/users"} {
					r := n.do("GET", "/v2/accounts/"+tc.account+path, tc.token, nil)
					if tc.want == 200 {
						if r.status != 200 {
							t.Errorf("GET %s: %d, want 200\n%s", path, r.status, r.raw)
						}
						continue
					}
					msg := map[int]string{403: "forbidden", 404: "not found"}[tc.want]
					expectError(t, r, tc.want, msg)
				}
			})
		}
		t.Run("children lists direct children", func(t *testing.T) {
			r := n.do("GET", "/v2/accounts/"+root+"/children", rootTok, nil)
			items, _ := r.body["data"].([]any)
			if r.status != 200 || len(items) != 2 {
				t.Fatalf("children: %d, %d items, want 200 and 2\n%s", r.status, len(items), r.raw)
			}
		})
		t.Run("delete refused while children exist", func(t *testing.T) {
			expectError(t, n.do("DELETE", "/v2/accounts/"+childA, rootTok, nil), http.StatusConflict, "conflict")
			if r := n.do("DELETE", "/v2/accounts/"+grandchild, aTok, nil); r.status != 200 {
				t.Fatalf("delete grandchild: %d %s", r.status, r.raw)
			}
			if r := n.do("DELETE", "/v2/accounts/"+childA, rootTok, nil); r.status != 200 {
				t.Fatalf("delete child: %d %s", r.status, r.raw)
			}
			// The child's token dies with its account.
			expectError(t, n.do("GET", "/v2/accounts/"+childA, aTok, nil), http.StatusUnauthorized, "unauthorized")
		})
	})
}

// TestUsersCRUD covers the users endpoints on both backends.
func TestUsersCRUD(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct := "/v2/accounts/" + n.m.Bootstrapped.AccountID
		tok := n.login(n.m.Bootstrapped.APIKey.Reveal())
		n.secrets.add("correct horse battery")

		expectError(t, n.do("PUT", acct+"/users", tok, map[string]any{"data": map[string]any{"first_name": "Ann"}}), 400, "validation error")
		r := n.do("PUT", acct+"/users", tok, map[string]any{"data": map[string]any{
			"first_name": "Ann", "last_name": "Lee", "username": "Ann@Example.com", "password": "correct horse battery",
			"email": "ann@example.com", "ui_flags": map[string]any{"theme": "dark"},
		}, "verb": "PUT"})
		if r.status != http.StatusCreated {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		u := r.data()
		id := u["id"].(string)
		if u["username"] != "ann@example.com" || u["priv_level"] != "user" || u["enabled"] != true {
			t.Errorf("created user %v: username not lower-cased or defaults missing", u)
		}
		if _, ok := u["password"]; ok {
			t.Error("the password is echoed back")
		}
		if loc := r.header.Get("Location"); loc != acct+"/users/"+id {
			t.Errorf("Location %q", loc)
		}
		dup := n.do("PUT", acct+"/users", tok, map[string]any{"data": map[string]any{
			"first_name": "A", "last_name": "B", "username": "ann@example.com", "password": "another password"}})
		expectError(t, dup, 400, "validation error")
		if _, ok := dup.data()["username"].(map[string]any)["unique"]; !ok {
			t.Errorf("duplicate username: want data.username.unique, got %s", dup.raw)
		}

		got := n.do("GET", acct+"/users/"+id, tok, nil)
		etag := got.header.Get("ETag")
		if got.status != 200 || etag == "" {
			t.Fatalf("get user: %d etag %q", got.status, etag)
		}
		p := n.do("PATCH", acct+"/users/"+id, tok, map[string]any{"data": map[string]any{"ui_flags": nil, "timezone": "Europe/Paris"}}, "If-Match", etag)
		if p.status != 200 || p.data()["timezone"] != "Europe/Paris" || p.data()["ui_flags"] != nil || p.data()["first_name"] != "Ann" {
			t.Fatalf("patch: %d %s", p.status, p.raw)
		}
		expectError(t, n.do("PATCH", acct+"/users/"+id, tok, map[string]any{"data": map[string]any{"timezone": "UTC"}}, "If-Match", etag), 409, "conflict")
		post := n.do("POST", acct+"/users/"+id, tok, map[string]any{"data": map[string]any{"first_name": "Anne", "last_name": "Lee"}})
		if post.status != 200 || post.data()["first_name"] != "Anne" || post.data()["timezone"] != nil {
			t.Fatalf("post replaces: %d %s", post.status, post.raw)
		}
		if r := n.do("DELETE", acct+"/users/"+id, tok, nil); r.status != 200 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		expectError(t, n.do("GET", acct+"/users/"+id, tok, nil), 404, "not found")
		expectError(t, n.do("DELETE", acct+"/users/"+id, tok, nil), 404, "not found")
	})
}

// TestProtocolErrors covers the transport rules of spec §2-3.
func TestProtocolErrors(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{}, func(c *config.Config) { c.MaxBodyBytes = 2048 })
	acct := "/v2/accounts/" + n.m.Bootstrapped.AccountID
	tok := n.login(n.m.Bootstrapped.APIKey.Reveal())

	expectError(t, n.do("GET", "/v2/api_auth", "", nil), 405, "method not allowed")
	if allow := n.do("GET", "/v2/api_auth", "", nil).header.Get("Allow"); !strings.Contains(allow, "PUT") {
		t.Errorf("Allow = %q", allow)
	}
	expectError(t, n.do("GET", "/v2/no_such_thing", "", nil), 404, "not found")
	expectError(t, n.do("PUT", "/v2/api_auth", "", "{not json"), 400, "validation error")
	expectError(t, n.do("PUT", "/v2/api_auth", "", map[string]any{"data": strings.Repeat("x", 4096)}), 413, "payload too large")
	expectError(t, n.do("PUT", acct+"/users", tok, `{"data":{}}`, "Content-Type", "text/plain"), 415, "unsupported media type")
	r := n.do("PUT", acct+"/users", tok, `{"data":{"first_name":"A","last_name":"B"}}`, "Content-Type", "application/json; charset=UTF-8")
	if r.status != 201 {
		t.Errorf("a charset in Content-Type is refused: %d", r.status)
	}
	if r := n.do("GET", acct+"?_=1700000000", tok, nil); r.status != 200 {
		t.Errorf("a cache buster breaks GET: %d", r.status)
	}
	if r := n.do("GET", acct, "", nil, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Errorf("Authorization: Bearer is not accepted: %d", r.status)
	}
	r = n.do("GET", acct, tok, nil, "X-Request-ID", "client-id.1")
	if r.body["request_id"] != "client-id.1" || r.header.Get("X-Request-ID") != "client-id.1" {
		t.Errorf("X-Request-ID not echoed: %v", r.body["request_id"])
	}
	// Anonymous callers learn nothing about accounts: 401 before any lookup.
	expectError(t, n.do("GET", "/v2/accounts/"+strings.Repeat("c", 32), "", nil), 401, "unauthorized")

	pre := n.do("OPTIONS", acct+"/users", "", nil, "Origin", "https://ui.example", "Access-Control-Request-Method", "PUT")
	if pre.status != 200 || !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "x-auth-token") {
		t.Errorf("CORS preflight: %d %v", pre.status, pre.header)
	}
	for _, p := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
		if r := n.do("GET", p, "", nil); r.status != 200 {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	metrics := n.opsGet("/metrics")
	if !strings.Contains(metrics, "audian_http_requests_total") {
		t.Errorf("metrics listener: no request counter in\n%.300s", metrics)
	}
	if strings.Contains(metrics, tok) {
		t.Error("a token appears in /metrics")
	}
}

// TestPlainHTTPRefused: the TLS port does not serve plain HTTP. The test
// proves it is talking to a TLS server first, then that a plain request,
// even to a route that needs no credentials, gets nothing but the TLS
// server's refusal.
func TestPlainHTTPRefused(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	if !strings.HasPrefix(n.url, "https://") || !n.m.Server.TLS() {
		t.Fatalf("the default server does not speak TLS: %s", n.url)
	}
	if r := n.do("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("GET /healthz over TLS: %d", r.status)
	}
	plain := "http://" + n.m.Server.Addr().String()
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get(plain + "/healthz")
	if err != nil {
		return // the connection was refused or closed: nothing served
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Fatalf("plain HTTP got %d %q, want only the TLS server's 400 refusal", res.StatusCode, body)
	}
}
