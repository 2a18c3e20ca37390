package main

import (
	"crypto/tls"
	"net"
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
