package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
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

// TestServerOwnedFieldsDropped: fields the server owns (the hierarchy, the
// system flag, ids and times, Kazoo's pvt_* and _* fields) sent by a client
// are neither stored as custom fields nor echoed; flags are set only from
// above (an ancestor account, a user's admin) and kept when the account
// or user itself writes them. Custom fields are kept.
func TestServerOwnedFieldsDropped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		forged := func(extra map[string]any) map[string]any {
			d := map[string]any{
				"system": true, "tree": []any{"00000000000000000000000000000000"}, "parent_id": "x",
				"id": "00000000000000000000000000000001", "created": 1, "modified": 1, "revision": "9-x",
				"superduper_admin": true, "billing_mode": "limits", "pvt_superduper_admin": true,
				"pvt_enabled": false, "_rev": "1-x", "_id": "y", "custom": map[string]any{"kept": true},
			}
			for k, v := range extra {
				d[k] = v
			}
			return map[string]any{"data": d}
		}
		check := func(t *testing.T, what string, d map[string]any, flags []any) {
			t.Helper()
			for _, k := range []string{"system", "tree", "parent_id", "revision", "pvt_superduper_admin", "pvt_enabled", "_rev", "_id"} {
				if v, ok := d[k]; ok {
					t.Errorf("%s: %s = %v is stored and echoed", what, k, v)
				}
			}
			for _, k := range []string{"id", "created"} {
				if v := d[k]; v == "00000000000000000000000000000001" || v == float64(1) {
					t.Errorf("%s: %s = %v comes from the client", what, k, v)
				}
			}
			if d["superduper_admin"] == true || (d["billing_mode"] != nil && d["billing_mode"] != "manual") {
				t.Errorf("%s: superduper_admin %v, billing_mode %v", what, d["superduper_admin"], d["billing_mode"])
			}
			if c, _ := d["custom"].(map[string]any); c["kept"] != true {
				t.Errorf("%s: custom field lost: %v", what, d["custom"])
			}
			got, _ := json.Marshal(d["flags"])
			if want, _ := json.Marshal(flags); string(got) != string(want) {
				t.Errorf("%s: flags %s, want %s", what, got, want)
			}
		}

		// An account created by its parent: the parent may set its flags.
		r := n.do("PUT", "/v2/accounts", sys, forged(map[string]any{"name": "Forged", "flags": []any{"from-parent"}}))
		mustStatus(t, "create account", r, http.StatusCreated)
		acct := r.data()["id"].(string)
		check(t, "create account", r.data(), []any{"from-parent"})
		check(t, "read account", n.do("GET", "/v2/accounts/"+acct, sys, nil).data(), []any{"from-parent"})

		// The account itself can neither flag itself nor forge the rest.
		own := n.mint(t, adminClaims(acct))
		for _, method := range []string{"PATCH", "POST"} {
			r = n.do(method, "/v2/accounts/"+acct, own, forged(map[string]any{"name": "Forged", "flags": []any{"self"}}))
			mustStatus(t, method+" own account", r, http.StatusOK)
			check(t, method+" own account", r.data(), []any{"from-parent"})
		}
		check(t, "read account again", n.do("GET", "/v2/accounts/"+acct, own, nil).data(), []any{"from-parent"})
		if r := n.do("GET", "/v2/accounts/"+n.m.Bootstrapped.AccountID, own, nil); r.status != http.StatusForbidden {
			t.Errorf("the forged account reaches the system account: %d", r.status)
		}

		// A user created by an admin keeps the flags the admin set; the
		// user editing itself cannot change them.
		users := "/v2/accounts/" + acct + "/users"
		r = n.do("PUT", users, own, forged(map[string]any{"first_name": "F", "last_name": "L", "flags": []any{"by-admin"},
			"pvt_md5_auth": "0123", "credentials": "0123"}))
		mustStatus(t, "create user", r, http.StatusCreated)
		user := r.data()["id"].(string)
		check(t, "create user", r.data(), []any{"by-admin"})
		self := n.mint(t, userClaims(acct, user, "user"))
		r = n.do("PATCH", users+"/"+user, self, forged(map[string]any{"flags": []any{"by-self"}}))
		mustStatus(t, "user patches itself", r, http.StatusOK)
		check(t, "user patches itself", r.data(), []any{"by-admin"})
		r = n.do("PATCH", users+"/"+user, own, map[string]any{"data": map[string]any{"flags": []any{"changed"}}})
		check(t, "admin patches the user", r.data(), []any{"changed"})
	})
}

// TestClientClosedIsNotAnError: a client that disconnects while its
// request is being served (here: while its new user's password is hashed,
// before the user is stored) is logged at INFO and counted as
// client_closed, never as an ERROR or a 500.
func TestClientClosedIsNotAnError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		tok := n.login(n.m.Bootstrapped.APIKey.Reveal())
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		gate := func() {
			once.Do(func() {
				close(entered)
				<-release
			})
		}
		n.hasher.gate.Store(&gate)
		defer n.hasher.gate.Store(nil)

		tr := n.client.Transport.(*http.Transport)
		conn, err := tls.Dial("tcp", n.m.Server.Addr().String(), tr.TLSClientConfig)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"data":{"first_name":"F","last_name":"L","username":"gone","password":"a long passphrase 1"}}`
		req := "PUT /v2/accounts/" + n.m.Bootstrapped.AccountID + "/users HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the request never reached the password hash")
		}
		conn.Close()
		// The server notices the closed connection on its own background
		// read, within milliseconds; a second is ample on a loaded machine.
		time.Sleep(time.Second)
		close(release)

		var line map[string]any
		for deadline := time.Now().Add(10 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			line = logLine(n, func(l map[string]any) bool {
				return l["msg"] == "request" && l["method"] == "PUT" && strings.HasSuffix(l["path"].(string), "/users")
			})
		}
		if line == nil {
			t.Fatal("no access-log line for the abandoned request")
		}
		if line["status"] != float64(499) {
			t.Errorf("access log status %v, want 499", line["status"])
		}
		if l := logLine(n, func(l map[string]any) bool { return l["level"] == "ERROR" }); l != nil {
			t.Errorf("an ERROR was logged: %v", l)
		}
		if l := logLine(n, func(l map[string]any) bool { return l["msg"] == "client closed the request" }); l == nil || l["level"] != "INFO" {
			t.Errorf("client closed line: %v, want one at INFO", l)
		}
		metrics := n.opsGet("/metrics")
		if !strings.Contains(metrics, `code="client_closed"`) || strings.Contains(metrics, `code="500"`) {
			t.Errorf("metrics do not count the request as client_closed apart from 500:\n%s", grepLines(metrics, "audian_http_requests_total"))
		}
		if r := n.do("GET", "/v2/accounts/"+n.m.Bootstrapped.AccountID+"/users?filter_username=gone", tok, nil); strings.Contains(string(r.raw), `"gone"`) {
			t.Errorf("the abandoned user was created: %s", r.raw)
		}
	})
}

// logLine returns the first JSON log line of n that match accepts.
func logLine(n *node, match func(map[string]any) bool) map[string]any {
	for _, raw := range strings.Split(n.logs.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(raw), &l) == nil && match(l) {
			return l
		}
	}
	return nil
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPasswordRules: every path that sets a password (user create and
// update, recovery completion) takes 8 to 256 characters and refuses the
// common passwords of the embedded list and the username; changing one's
// own password takes the current one, an admin resetting another user's
// does not.
func TestPasswordRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		f := newLoginFixture(t, n)
		users := "/v2/accounts/" + f.account + "/users"
		newUser := func(username, pw string) *response {
			n.secrets.add(pw)
			return n.do("PUT", users, f.admin, map[string]any{"data": map[string]any{
				"first_name": "F", "last_name": "L", "username": username, "password": pw}})
		}
		for _, tc := range []struct{ name, username, pw, rule string }{
			{"7 characters", "u7", "x7#kq!2", "minLength"},
			{"257 characters", "u257", strings.Repeat("x", 257), "maxLength"},
			{"900 KB", "u900", strings.Repeat("y", 900<<10), "maxLength"},
			{"common", "ucommon", "iloveyou", "common"},
			{"common, other case", "ucase", "BaseBall1", "common"},
			{"the username", "carol.smith", "Carol.Smith", "common"},
		} {
			t.Run("create/"+tc.name, func(t *testing.T) {
				wantField(t, newUser(tc.username, tc.pw), "password", tc.rule)
			})
		}
		mustStatus(t, "8 characters", newUser("u8", "x7#kq!2m"), http.StatusCreated)
		mustStatus(t, "256 characters", newUser("u256", strings.Repeat("z", 255)+"!"), http.StatusCreated)
		wantField(t, n.do("PATCH", users+"/"+f.bob, f.admin, map[string]any{"data": map[string]any{"password": "sunshine"}}), "password", "common")

		// Recovery completion: the same rules, and a refused password does
		// not spend the reset.
		_, reset := n.requestReset(t, map[string]any{"username": "bob", "account_name": f.accountName}, f.bob)
		complete := func(pw string) *response {
			n.secrets.add(pw)
			return n.do("POST", "/v2/user_auth/recovery", "", map[string]any{"data": map[string]any{"reset_id": reset, "password": pw}})
		}
		wantField(t, complete("short"), "password", "minLength")
		wantField(t, complete("football"), "password", "common")
		wantField(t, complete(strings.Repeat("w", 300)), "password", "maxLength")
		mustStatus(t, "recovery with a good password", complete("a fresh long passphrase"), http.StatusOK)

		// Changing one's own password takes the current one.
		bob := n.userAuth(map[string]any{"username": "bob", "password": "a fresh long passphrase", "account_name": f.accountName})
		mustStatus(t, "bob logs in", bob, http.StatusCreated)
		bobTok := bob.body["auth_token"].(string)
		self := users + "/" + f.bob
		change := func(tok string, data map[string]any) *response {
			return n.do("PATCH", self, tok, map[string]any{"data": data})
		}
		wantField(t, change(bobTok, map[string]any{"password": "bob's next passphrase"}), "current_password", "invalid")
		wantField(t, change(bobTok, map[string]any{"password": "bob's next passphrase", "current_password": "not it at all"}), "current_password", "invalid")
		n.secrets.add("bob's next passphrase")
		r := change(bobTok, map[string]any{"password": "bob's next passphrase", "current_password": "a fresh long passphrase"})
		mustStatus(t, "own change with the current password", r, http.StatusOK)
		if _, ok := r.data()["current_password"]; ok {
			t.Errorf("current_password is stored: %s", r.raw)
		}
		mustStatus(t, "login with the new password", n.userAuth(map[string]any{"username": "bob", "password": "bob's next passphrase", "account_name": f.accountName}), http.StatusCreated)
		// An admin user changing its own password needs it too.
		alice := n.userAuth(map[string]any{"username": "alice@example.com", "password": f.password, "account_name": f.accountName}).body["auth_token"].(string)
		wantField(t, n.do("POST", users+"/"+f.alice, alice, map[string]any{"data": map[string]any{
			"first_name": "A", "last_name": "L", "username": "alice@example.com", "priv_level": "admin", "password": "alice's next passphrase"}}),
			"current_password", "invalid")
		// An admin resets another user's password without knowing it.
		n.secrets.add("reset by alice 2026")
		mustStatus(t, "admin resets bob", change(alice, map[string]any{"password": "reset by alice 2026"}), http.StatusOK)
		mustStatus(t, "login after the reset", n.userAuth(map[string]any{"username": "bob", "password": "reset by alice 2026", "account_name": f.accountName}), http.StatusCreated)
	})
}

// TestBootstrapPasswordRules: `audian bootstrap` holds its --password to
// the same rules as the API.
func TestBootstrapPasswordRules(t *testing.T) {
	env := map[string]string{"AUDIAN_KEK": testKEK}
	for _, tc := range []struct{ pw, want string }{
		{"ab", "at least 8"},
		{strings.Repeat("p", 257), "at most 256"},
		{"password", "too common"},
		{"admin-user", "username"},
	} {
		dir := t.TempDir()
		code, _, errOut := runCLI(t, env, "bootstrap", "--data-dir", dir, "--account-name", "Acme", "--username", "admin-user", "--password", tc.pw)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("--password %.12q: exit %d %q, want 1 and %q", tc.pw, code, errOut, tc.want)
		}
	}
}

// TestDatabaseSettingRefused: --database takes a PostgreSQL URL or
// key=value string, or a file path; any other URL is an error (it used to
// become a SQLite file named after it), and no form of DSN prints its
// password, in the error or anywhere else.
func TestDatabaseSettingRefused(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"mysql://root:hunter2-pw@db.example/audian", "not supported"},
		{"postgress://root:hunter2-pw@db.example/audian", "not supported"},
		{"sqlite://audian.db", "not supported"},
		// PostgreSQL forms that fail to connect (nothing listens on port 1).
		{"postgres://root:hunter2-pw@127.0.0.1:1/audian?connect_timeout=2", "open"},
		{"postgres://127.0.0.1:1/audian?connect_timeout=2&password=hunter2-pw", "open"},
		{"host=127.0.0.1 port=1 user=root password=hunter2-pw dbname=audian connect_timeout=2", "open"},
		{"host=127.0.0.1 port=1 password='hunter2-pw x' connect_timeout=2", "open"},
	} {
		t.Run(tc.dsn[:8], func(t *testing.T) {
			dir := t.TempDir()
			// A server that wrongly accepted the setting would serve until
			// the context ends, then exit 0.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			env := map[string]string{"AUDIAN_KEK": testKEK}
			code := run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--database", tc.dsn},
				func(k string) string { return env[k] }, &stdout, &stderr)
			out, errOut := stdout.String(), stderr.String()
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want 1 with %q:\n%s", code, tc.want, errOut)
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Errorf("the password is printed:\n%s%s", out, errOut)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 && tc.want == "not supported" {
				t.Errorf("the refused setting left files in the data dir: %v", entries)
			}
		})
	}
}

// TestMissingKEKForSealedData: a database that already holds sealed keys,
// started without its key-encryption key, is an error that says what to
// do, and no new stray key file is made.
func TestMissingKEKForSealedData(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := b.dsn(t)
			noKEK := func(c *config.Config) { c.KEK = "" }
			startNode(t, dir, dsn, &secrets{}, noKEK)
			kekFile := filepath.Join(dir, "kek")
			if _, err := os.Stat(kekFile); err != nil {
				t.Fatalf("the first start made no key file: %v", err)
			}
			if err := os.Remove(kekFile); err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			cfg.DataDir, cfg.Listen, cfg.Database = dir, "127.0.0.1:0", dsn
			m := &Main{Config: cfg, Stdout: io.Discard, Stderr: io.Discard, Hasher: cheapHasher}
			err := m.Open(t.Context())
			m.Close()
			if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "restore") {
				t.Fatalf("Open without the key file: %v, want an error that says to restore it", err)
			}
			if _, err := os.Stat(kekFile); !os.IsNotExist(err) {
				t.Errorf("a new key file was created: %v", err)
			}
		})
	}
}

// TestFirstStartCredentials: when standard output is not a terminal, the
// first start writes its credentials to a 0600 file in the data directory
// and logs only its path; a first start whose port is taken fails before
// it creates anything.
func TestFirstStartCredentials(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir, dsn := t.TempDir(), b.dsn(t)
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			cfg := config.Default()
			cfg.DataDir, cfg.Listen, cfg.Database, cfg.KEK = dir, taken.Addr().String(), dsn, testKEK
			var stdout, stderr syncBuffer
			m := &Main{Config: cfg, Stdout: &stdout, Stderr: &stderr, Hasher: cheapHasher}
			err = m.Open(t.Context())
			m.Close()
			if err == nil || m.Bootstrapped != nil {
				t.Fatalf("Open on a taken port: %v, bootstrapped %v; want an error and nothing created", err, m.Bootstrapped != nil)
			}
			if _, err := os.Stat(filepath.Join(dir, BootstrapFile)); !os.IsNotExist(err) {
				t.Errorf("a credentials file exists after the failed start: %v", err)
			}

			n := startNode(t, dir, dsn, &secrets{})
			boot := n.m.Bootstrapped
			if boot == nil {
				t.Fatal("the start after the failed one did not bootstrap: the failed one created the account")
			}
			path := filepath.Join(dir, BootstrapFile)
			if n.m.BootstrapPath != path {
				t.Errorf("BootstrapPath = %q, want %q", n.m.BootstrapPath, path)
			}
			info, err := os.Stat(path)
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("credentials file: %v, mode %v, want 0600", err, info.Mode().Perm())
			}
			raw, _ := os.ReadFile(path)
			var got map[string]string
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("credentials file is not JSON: %v", err)
			}
			want := map[string]string{"account_id": boot.AccountID, "user_id": boot.UserID, "username": boot.Username,
				"password": boot.Password.Reveal(), "api_key": boot.APIKey.Reveal()}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("credentials file %s = %q, want %q", k, got[k], v)
				}
			}
			n.login(got["api_key"])
			out := n.stdout.String()
			if strings.Contains(out, got["api_key"]) || strings.Contains(out, got["password"]) || !strings.Contains(out, path) {
				t.Errorf("standard output shows a secret, or not the file's path:\n%s", out)
			}
			var l map[string]any
			for deadline := time.Now().Add(5 * time.Second); l == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				l = logLine(n, func(l map[string]any) bool { return l["path"] == path }) // the log is written in batches
			}
			if l == nil {
				t.Error("the log does not give the credentials file's path")
			}
			// The harness proves at cleanup that neither secret is in the log.
		})
	}
}

// TestAccountHeaderMismatch: a token presented with an X-Auth-Account-Id
// naming another account is refused (Kazoo's check), and with its own
// account accepted.
func TestAccountHeaderMismatch(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	root := n.m.Bootstrapped.AccountID
	tok := n.login(n.m.Bootstrapped.APIKey.Reveal())
	child := n.do("PUT", "/v2/accounts", tok, map[string]any{"data": map[string]any{"name": "Child"}}).data()["id"].(string)
	path := "/v2/accounts/" + root
	if r := n.do("GET", path, tok, nil, "X-Auth-Account-Id", root); r.status != http.StatusOK {
		t.Fatalf("own account in the header: %d %s", r.status, r.raw)
	}
	for _, other := range []string{child, strings.Repeat("a", 32), "x"} {
		expectError(t, n.do("GET", path, tok, nil, "X-Auth-Account-Id", other), http.StatusUnauthorized, "unauthorized")
	}
}

// TestDisabledAccountRefusesTokens: a token of a disabled account is
// refused even when it was issued after the account was disabled (so
// that the revocation cutoff of the disable does not hide a missing
// check), and the account's API key no longer logs in.
func TestDisabledAccountRefusesTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		r := n.do("PUT", "/v2/accounts", sys, map[string]any{"data": map[string]any{"name": "Dormant"}})
		mustStatus(t, "create", r, http.StatusCreated)
		acct := r.data()["id"].(string)
		key := n.do("GET", "/v2/accounts/"+acct+"/api_key", sys, nil).data()["api_key"].(string)
		mustStatus(t, "the key works while enabled", n.apiAuth(key), http.StatusCreated)
		mustStatus(t, "disable", n.do("PATCH", "/v2/accounts/"+acct, sys, map[string]any{"data": map[string]any{"enabled": false}}), http.StatusOK)
		n.clock.Advance(2 * time.Second) // past the disable's revocation cutoff
		fresh := n.mint(t, adminClaims(acct))
		expectError(t, n.do("GET", "/v2/accounts/"+acct, fresh, nil), http.StatusUnauthorized, "unauthorized")
		expectError(t, n.apiAuth(key), http.StatusUnauthorized, "unauthorized")
	})
}
