package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestTLS12OffersOnlyAEAD: a TLS 1.2 client that offers only CBC suites
// finds no suite in common, while one offering GCM connects.
func TestTLS12OffersOnlyAEAD(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	addr := n.m.Server.Addr().String()
	cases := []struct {
		name   string
		suites []uint16
		ok     bool
	}{
		{"cbc-sha1", []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		}, false},
		{"cbc-sha256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA256}, false},
		{"gcm", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{}, "tcp", addr, &tls.Config{
				InsecureSkipVerify: true, // the handshake's suite is under test, not the certificate
				MinVersion:         tls.VersionTLS12,
				MaxVersion:         tls.VersionTLS12,
				CipherSuites:       c.suites,
			})
			if err == nil {
				suite := tls.CipherSuiteName(conn.ConnectionState().CipherSuite)
				conn.Close()
				if !c.ok {
					t.Fatalf("handshake succeeded with %s, want failure", suite)
				}
				return
			}
			if c.ok {
				t.Fatalf("handshake failed: %v", err)
			}
		})
	}
}

// TestNoStoreOnCredentials: every reply that carries a token or a secret
// says Cache-Control: no-store, on every endpoint that hands one out. (The
// harness checks the same rule on every reply of every test; this test
// makes sure each such endpoint is exercised.)
func TestNoStoreOnCredentials(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	f := newLoginFixture(t, n)
	acct := "/v2/accounts/" + f.account
	user := n.userAuth(map[string]any{"username": "bob", "password": f.password, "account_name": f.accountName})
	bobToken, _ := user.body["auth_token"].(string)
	keyID, _, created := n.createNamedKey(t, f.admin, f.account, map[string]any{"name": "ci"})
	_, reset := n.requestReset(t, map[string]any{"username": "bob", "account_name": f.accountName}, f.bob)
	steps := []struct {
		name string
		r    func() *response
	}{
		{"api_auth", func() *response { return n.apiAuth(n.m.Bootstrapped.APIKey.Reveal()) }},
		{"user_auth", func() *response { return user }},
		{"auth refresh", func() *response {
			return n.do("PUT", "/v2/auth", bobToken, map[string]any{"action": "refresh_token"})
		}},
		{"tokeninfo", func() *response { return n.do("GET", "/v2/auth/tokeninfo?token="+bobToken, "", nil) }},
		{"token_auth", func() *response { return n.do("GET", "/v2/token_auth", bobToken, nil) }},
		{"access_tokens", func() *response {
			return n.mintAccessToken(f.admin, n.m.Bootstrapped.AccountID, map[string]any{"scopes": []string{"users:read"}})
		}},
		{"api_keys create", func() *response { return created }},
		{"api_keys rotate", func() *response {
			return n.do("PUT", acct+"/api_keys/"+keyID+"/rotate", f.admin, map[string]any{"data": map[string]any{}})
		}},
		{"account api_key get", func() *response { return n.do("GET", acct+"/api_key", f.admin, nil) }},
		{"account api_key put", func() *response { return n.do("PUT", acct+"/api_key", f.admin, nil) }},
		{"recovery completion", func() *response {
			return n.do("POST", "/v2/user_auth/recovery", "", map[string]any{"data": map[string]any{"reset_id": reset, "password": "a new long passphrase 7"}})
		}},
		{"authenticated read", func() *response { return n.do("GET", acct, f.admin, nil) }},
	}
	for _, s := range steps {
		r := s.r()
		if r.status >= 300 {
			t.Fatalf("%s: status %d\n%s", s.name, r.status, r.raw)
		}
		if !carriesCredential(r) {
			t.Errorf("%s: the reply carries no token or secret: the step tests nothing", s.name)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", s.name, got)
		}
	}
	// Replies without credentials stay cacheable by their own rules.
	if r := n.do("GET", "/.well-known/jwks.json", "", nil); noStore(r.header) {
		t.Errorf("jwks: Cache-Control %q, want it cacheable", r.header.Get("Cache-Control"))
	}
}

// TestPostgresSkipsVisibly: without AUDIAN_TEST_POSTGRES_DSN the
// PostgreSQL half of every two-backend test still exists and skips, so
// that `go test -v` shows a SKIP line instead of dropping it silently.
func TestPostgresSkipsVisibly(t *testing.T) {
	t.Setenv("AUDIAN_TEST_POSTGRES_DSN", "")
	var names []string
	for _, b := range backends(t) {
		names = append(names, b.name)
		var skipped bool
		t.Run(b.name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			_ = b.dsn(t)
		})
		if want := b.name == "postgres"; skipped != want {
			t.Errorf("%s: skipped = %v, want %v", b.name, skipped, want)
		}
	}
	if len(names) != 2 || names[1] != "postgres" {
		t.Errorf("backends = %v, want sqlite and postgres", names)
	}
}

// TestNULRefused: U+0000 in any string a client sends (names, custom
// fields at any depth, key names, query parameters, the path) is a 400
// naming the field, on both backends, and nothing is stored. PostgreSQL
// cannot store it in text, so without the check it answered 500 there and
// 201 on SQLite.
func TestNULRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		f := newLoginFixture(t, n)
		acct := "/v2/accounts/" + f.account
		root := "/v2/accounts/" + n.m.Bootstrapped.AccountID
		user := func(extra string) string {
			return `{"data":{"first_name":"F","last_name":"L","username":"u1","password":"long enough 12 chars"` + extra + `}}`
		}
		for _, tc := range []struct {
			name, method, path, body, field string
		}{
			{"account name", "PUT", root, `{"data":{"name":"Evil\u0000Corp"}}`, "name"},
			{"account realm", "PUT", root, `{"data":{"name":"Evil","realm":"a\u0000.example.com"}}`, "realm"},
			{"account custom field", "POST", acct, `{"data":{"name":"Acme","note":"x\u0000"}}`, "note"},
			{"account nested custom field", "PATCH", acct, `{"data":{"meta":{"tags":["ok","bad\u0000"]}}}`, "meta.tags.1"},
			{"account custom key", "PATCH", acct, `{"data":{"k\u0000":"v"}}`, "k"},
			{"username", "PUT", acct + "/users", `{"data":{"first_name":"F","last_name":"L","username":"u\u0000"}}`, "username"},
			{"first name", "PUT", acct + "/users", `{"data":{"first_name":"F\u0000","last_name":"L"}}`, "first_name"},
			{"user custom field", "PUT", acct + "/users", user(`,"x":{"y":"\u0000"}`), "x.y"},
			{"user patch", "PATCH", acct + "/users/" + f.bob, `{"data":{"last_name":"\u0000"}}`, "last_name"},
			{"password", "PUT", acct + "/users", `{"data":{"first_name":"F","last_name":"L","username":"u2","password":"long\u0000enough pass"}}`, "password"},
			{"key name", "PUT", acct + "/api_keys", `{"data":{"name":"ci\u0000"}}`, "name"},
			{"restrictions", "POST", acct + "/token_restrictions", `{"data":{"restrictions":{"x\u0000":{}}}}`, "restrictions.x"},
			{"user_auth", "PUT", "/v2/user_auth", `{"data":{"username":"bob\u0000","password":"x","account_name":"Acme"}}`, "username"},
			{"api_auth", "PUT", "/v2/api_auth", `{"data":{"api_key":"\u0000"}}`, "api_key"},
			{"audit actor filter", "GET", acct + "/audit?actor=%00", "", "actor"},
			{"audit action filter", "GET", acct + "/audit?action=a%00b", "", "action"},
			{"list filter", "GET", acct + "/users?filter_username=%00", "", "filter_username"},
			{"start_key", "GET", acct + "/users?start_key=%00", "", "start_key"},
			{"tokeninfo", "GET", "/v2/auth/tokeninfo?token=%00", "", "token"},
			{"path", "GET", acct + "/users/%00", "", "path"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var body any
				if tc.body != "" {
					body = tc.body
				}
				r := n.do(tc.method, tc.path, f.admin, body)
				if _, ok := r.data()[tc.field].(map[string]any); !ok {
					t.Fatalf("want data.%s.characters, got %d %s", tc.field, r.status, r.raw)
				}
				wantField(t, r, tc.field, "characters")
			})
		}
		// Nothing was stored: no account or user carries the character.
		for _, path := range []string{root + "/descendants", acct + "/users", acct + "/api_keys", acct} {
			r := n.do("GET", path, f.admin, nil)
			if r.status != http.StatusOK || strings.Contains(string(r.raw), `\u0000`) {
				t.Errorf("GET %s: %d %s", path, r.status, r.raw)
			}
		}
	})
}
