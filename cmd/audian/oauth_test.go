package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/audian/audian/internal/config"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// oauthCtx is a context carrying the node's TLS client, for the real
// OAuth client libraries.
func (n *node) oauthCtx(t *testing.T) context.Context {
	return oidc.ClientContext(t.Context(), n.client)
}

// issuer is the OAuth issuer of a node started without --public-url.
func (n *node) issuer() string {
	return "https://localhost:" + n.url[strings.LastIndex(n.url, ":")+1:]
}

// createOAuthApp registers an application in account and returns its
// client_id and client_secret.
func (n *node) createOAuthApp(t *testing.T, tok, account string, data map[string]any) (string, string) {
	t.Helper()
	r := n.do("PUT", "/v2/accounts/"+account+"/oauth_apps", tok, map[string]any{"data": data})
	mustStatus(t, "create OAuth app", r, http.StatusCreated)
	id, _ := r.data()["client_id"].(string)
	secret, _ := r.data()["client_secret"].(string)
	n.secrets.add(secret)
	return id, secret
}

// postForm posts an OAuth form with HTTP basic client authentication.
func (n *node) postForm(t *testing.T, path, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", n.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := n.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return res.StatusCode, body
}

func TestOAuthDiscovery(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	ctx := n.oauthCtx(t)
	p, err := oidc.NewProvider(ctx, n.issuer())
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	var meta struct {
		Issuer              string   `json:"issuer"`
		JWKS                string   `json:"jwks_uri"`
		Token               string   `json:"token_endpoint"`
		Introspection       string   `json:"introspection_endpoint"`
		Revocation          string   `json:"revocation_endpoint"`
		Device              string   `json:"device_authorization_endpoint"`
		GrantTypes          []string `json:"grant_types_supported"`
		ResponseTypes       []string `json:"response_types_supported"`
		AuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
		CodeChallengeMethod []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.Issuer != n.issuer() || meta.JWKS != n.issuer()+"/.well-known/jwks.json" || meta.Token != n.issuer()+"/oauth/token" {
		t.Errorf("discovery = %+v, want issuer %s with its endpoints", meta, n.issuer())
	}
	for _, g := range []string{"implicit", "password"} {
		if strings.Contains(strings.Join(meta.GrantTypes, " "), g) {
			t.Errorf("grant_types_supported %v offers %s", meta.GrantTypes, g)
		}
	}
	if strings.Join(meta.ResponseTypes, " ") != "code" {
		t.Errorf("response_types_supported = %v, want only code", meta.ResponseTypes)
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post", "private_key_jwt"} {
		if !strings.Contains(strings.Join(meta.AuthMethods, " "), m) {
			t.Errorf("token_endpoint_auth_methods_supported %v lacks %s", meta.AuthMethods, m)
		}
	}
	// RFC 8414 metadata: the same issuer, byte for byte.
	res, err := n.client.Get(n.url + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var as map[string]any
	if err := json.NewDecoder(res.Body).Decode(&as); err != nil || as["issuer"] != n.issuer() {
		t.Errorf("oauth-authorization-server issuer = %v (%v), want %s", as["issuer"], err, n.issuer())
	}

	// --public-url sets the issuer exactly.
	n2 := startNode(t, t.TempDir(), "", &secrets{}, func(c *config.Config) { c.PublicURL = "https://id.example.com/audian" })
	res, err = n2.client.Get(n2.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var oc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&oc); err != nil || oc["issuer"] != "https://id.example.com/audian" {
		t.Errorf("issuer with --public-url = %v (%v)", oc["issuer"], err)
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{}, func(c *config.Config) { c.RateCost = 0 })
			root := n.m.Bootstrapped.AccountID
			sys := n.mint(t, adminClaims(root))
			id, secret := n.createOAuthApp(t, sys, root, map[string]any{
				"name": "Reporting", "grant_types": []string{"client_credentials"}, "scopes": []string{"users:read"}})
			if id == "" || !strings.HasPrefix(secret, "acs_") {
				t.Fatalf("created app %q with secret %.4q...", id, secret)
			}
			// The secret is shown once: never again.
			r := n.do("GET", "/v2/accounts/"+root+"/oauth_apps/"+id, sys, nil)
			mustStatus(t, "get app", r, 200)
			if strings.Contains(string(r.raw), secret) || r.data()["client_secret"] != nil {
				t.Errorf("GET shows the client secret: %s", r.raw)
			}

			ctx := n.oauthCtx(t)
			p, err := oidc.NewProvider(ctx, n.issuer())
			if err != nil {
				t.Fatal(err)
			}
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: p.Endpoint().TokenURL, Scopes: []string{"users:read"}}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			n.secrets.add(tok.AccessToken)
			if tok.RefreshToken != "" {
				t.Error("client credentials issued a refresh token")
			}
			if left := time.Until(tok.Expiry); left < 55*time.Minute || left > 61*time.Minute {
				t.Errorf("access token lives %s, want 1h", left)
			}
			// The token works on /v2 with exactly its scope.
			mustStatus(t, "list users with X-Auth-Token", n.do("GET", "/v2/accounts/"+root+"/users", tok.AccessToken, nil), 200)
			mustStatus(t, "list users with Bearer", n.do("GET", "/v2/accounts/"+root+"/users", "", nil, "Authorization", "Bearer "+tok.AccessToken), 200)
			mustStatus(t, "create a user", n.do("PUT", "/v2/accounts/"+root+"/users", tok.AccessToken,
				map[string]any{"data": map[string]any{"first_name": "No", "last_name": "Way"}}), 403)
			mustStatus(t, "read the account", n.do("GET", "/v2/accounts/"+root, tok.AccessToken, nil), 403)

			// client_secret_post works too; a wrong secret does not.
			post := cc
			post.AuthStyle = oauth2.AuthStyleInParams
			if _, err := post.Token(ctx); err != nil {
				t.Errorf("client_secret_post: %v", err)
			}
			bad := cc
			bad.ClientSecret = "acs_wrong"
			if _, err := bad.Token(ctx); err == nil {
				t.Error("a wrong client secret got a token")
			}
			wide := cc
			wide.Scopes = []string{"users:write"}
			if _, err := wide.Token(ctx); err == nil {
				t.Error("a scope the app was not registered for was granted")
			}

			// Introspection (RFC 7662), by the client the token was issued to.
			st, body := n.postForm(t, "/oauth/introspect", id, secret, url.Values{"token": {tok.AccessToken}})
			if st != 200 || body["active"] != true || body["scope"] != "users:read" || body["client_id"] != id {
				t.Errorf("introspection = %d %v, want active with scope users:read", st, body)
			}
			other, otherSecret := n.createOAuthApp(t, sys, root, map[string]any{
				"name": "Other", "grant_types": []string{"client_credentials"}, "scopes": []string{"users:read"}})
			if _, body := n.postForm(t, "/oauth/introspect", other, otherSecret, url.Values{"token": {tok.AccessToken}}); body["active"] != false {
				t.Errorf("another client's introspection = %v, want inactive", body)
			}

			// Secret rotation keeps the old secret for a grace period.
			r = n.do("PUT", "/v2/accounts/"+root+"/oauth_apps/"+id+"/rotate", sys, map[string]any{"data": map[string]any{}})
			mustStatus(t, "rotate", r, 200)
			newSecret, _ := r.data()["client_secret"].(string)
			n.secrets.add(newSecret)
			if newSecret == "" || newSecret == secret || r.data()["previous_secret_expires_at"] == nil {
				t.Fatalf("rotation = %s", r.raw)
			}
			for _, s := range []string{secret, newSecret} {
				c := cc
				c.ClientSecret = s
				if _, err := c.Token(ctx); err != nil {
					t.Errorf("after rotation, secret %.8s...: %v", s, err)
				}
			}

			// Revocation (RFC 7009): refused on /v2 at once, inactive.
			if st, _ := n.postForm(t, "/oauth/revoke", id, newSecret, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}); st != 200 {
				t.Errorf("revoke: status %d", st)
			}
			mustStatus(t, "list users with a revoked token", n.do("GET", "/v2/accounts/"+root+"/users", tok.AccessToken, nil), 401)
			if _, body := n.postForm(t, "/oauth/introspect", id, newSecret, url.Values{"token": {tok.AccessToken}}); body["active"] != false {
				t.Errorf("introspection of a revoked token = %v", body)
			}

			// Deleting the app kills its tokens.
			tok2, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n.secrets.add(tok2.AccessToken)
			mustStatus(t, "before delete", n.do("GET", "/v2/accounts/"+root+"/users", tok2.AccessToken, nil), 200)
			mustStatus(t, "delete app", n.do("DELETE", "/v2/accounts/"+root+"/oauth_apps/"+id, sys, nil), 200)
			mustStatus(t, "token of a deleted app", n.do("GET", "/v2/accounts/"+root+"/users", tok2.AccessToken, nil), 401)
			if _, err := cc.Token(ctx); err == nil {
				t.Error("a deleted app got a token")
			}

			// Every grant and revocation is in the audit log.
			r = n.do("GET", "/v2/accounts/"+root+"/audit", sys, nil)
			mustStatus(t, "audit", r, 200)
			for _, action := range []string{"oauth.client_credentials", "oauth.revoke"} {
				if !strings.Contains(string(r.raw), `"`+action+`"`) {
					t.Errorf("the audit log lacks %s", action)
				}
			}
		})
	}
}

// TestOAuthWireGoldens pins the wire shape of the OAuth application and
// grant replies.
func TestOAuthWireGoldens(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	root := n.m.Bootstrapped.AccountID
	sys := n.mint(t, adminClaims(root))
	apps := "/v2/accounts/" + root + "/oauth_apps"
	created := n.do("PUT", apps, sys, map[string]any{"data": map[string]any{
		"name": "CRM", "redirect_uris": []string{"https://crm.example.com/callback"},
		"scopes": []string{"openid", "profile", "users:read"}}})
	mustStatus(t, "create", created, 201)
	id := created.data()["id"].(string)
	n.secrets.add(created.data()["client_secret"].(string))
	created.data()["client_secret"] = "<client_secret>"
	golden(t, "oauth_app_created", created)
	golden(t, "oauth_apps", n.do("GET", apps, sys, nil))
	golden(t, "oauth_app_patched", n.do("PATCH", apps+"/"+id, sys, map[string]any{"data": map[string]any{
		"redirect_uris": []string{"https://crm.example.com/callback", "http://127.0.0.1:8080/cb"}}}))
	golden(t, "error_oauth_app_validation", n.do("PUT", apps, sys, map[string]any{"data": map[string]any{
		"name": "Bad", "client_type": "public", "redirect_uris": []string{"http://evil.example.com/cb#frag"},
		"grant_types": []string{"implicit"}, "scopes": []string{"tokens:write"}}}))
	golden(t, "oauth_grants", n.do("GET", "/v2/accounts/"+root+"/users/"+n.m.Bootstrapped.UserID+"/oauth_grants", sys, nil))
}

// TestOAuthRevocationAcrossNodes proves that an OAuth token revoked on one
// node (by the revocation endpoint, or by deleting its application) is
// refused by another node within the feed's deadline, although that node
// had verified it before.
func TestOAuthRevocationAcrossNodes(t *testing.T) {
	dsn := freshPostgres(t)
	sec := &secrets{}
	noLimit := func(c *config.Config) { c.RateCost = 0 }
	a := startNode(t, t.TempDir(), dsn, sec, noLimit)
	b := startNode(t, t.TempDir(), dsn, sec, noLimit)
	root := a.m.Bootstrapped.AccountID
	sys := a.mint(t, adminClaims(root))
	ctx := a.oauthCtx(t)
	for _, tc := range []struct {
		name   string
		revoke func(id, secret, tok string)
	}{
		{"revocation endpoint", func(id, secret, tok string) {
			if st, _ := a.postForm(t, "/oauth/revoke", id, secret, url.Values{"token": {tok}}); st != 200 {
				t.Fatalf("revoke: %d", st)
			}
		}},
		{"app deleted", func(id, _, _ string) {
			mustStatus(t, "delete app", a.do("DELETE", "/v2/accounts/"+root+"/oauth_apps/"+id, sys, nil), 200)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, secret := a.createOAuthApp(t, sys, root, map[string]any{
				"name": "Multi", "grant_types": []string{"client_credentials"}, "scopes": []string{"users:read"}})
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: a.url + "/oauth/token"}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sec.add(tok.AccessToken)
			users := "/v2/accounts/" + root + "/users"
			mustStatus(t, "node B before", b.do("GET", users, tok.AccessToken, nil), 200)
			tc.revoke(id, secret, tok.AccessToken)
			start := time.Now()
			for b.do("GET", users, tok.AccessToken, nil).status == 200 {
				if time.Since(start) > revocationDeadline {
					t.Fatalf("node B still accepts the token %s after the revocation on node A", revocationDeadline)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
