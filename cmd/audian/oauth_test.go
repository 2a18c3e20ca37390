package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/identity"
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

// htmlForm is a form of a page as a browser would submit it.
type htmlForm struct {
	action string
	values url.Values
}

// htmlForms parses the forms of a page with an HTML parser.
func htmlForms(t *testing.T, body string) []htmlForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []htmlForm
	var walk func(n *html.Node, cur int)
	walk = func(n *html.Node, cur int) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch {
			case n.Data == "form":
				out = append(out, htmlForm{action: attr("action"), values: url.Values{}})
				cur = len(out) - 1
			case n.Data == "input" && cur >= 0 && attr("name") != "":
				out[cur].values.Set(attr("name"), attr("value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, -1)
	return out
}

// browser is a cookie-keeping HTTPS client that stops at the OAuth
// client's redirect URI.
func (n *node) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: n.client.Transport, Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Host == "client.example" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

func browse(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var res *http.Response
	var err error
	if method == "POST" {
		res, err = c.PostForm(u, form)
	} else {
		res, err = c.Get(u)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestOAuthCodeFlowThroughPortal runs the authorization code flow with
// PKCE as a relying party would, with golang.org/x/oauth2 and go-oidc: the
// browser signs in on the portal's page (the login door), consents, and
// the client verifies the ID token against the JWKS, uses the access token
// on /v2, refreshes with rotation, and loses everything when the user
// takes the authorization back.
func TestOAuthCodeFlowThroughPortal(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{}, func(c *config.Config) { c.RateCost = 0 })
			boot := n.m.Bootstrapped
			root := boot.AccountID
			sys := n.mint(t, adminClaims(root))
			id, secret := n.createOAuthApp(t, sys, root, map[string]any{
				"name": "Calendar Sync", "redirect_uris": []string{"https://client.example/cb"},
				"scopes": []string{"openid", "profile", "email", "offline_access", "users:read"}})
			ctx := n.oauthCtx(t)
			provider, err := oidc.NewProvider(ctx, n.issuer())
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: "https://client.example/cb",
				Scopes: []string{"openid", "profile", "email", "offline_access", "users:read"}}
			verifier := oauth2.GenerateVerifier()
			br := n.browser(t)

			// No session: the portal's sign-in, which comes back here.
			res, body := browse(t, br, "GET", cfg.AuthCodeURL("xyz", oauth2.S256ChallengeOption(verifier), oidc.Nonce("abc")), nil)
			if res.StatusCode != 200 || res.Request.URL.Path != "/sign-in" {
				t.Fatalf("authorize without a session ended at %s (%d)", res.Request.URL, res.StatusCode)
			}
			fs := htmlForms(t, body)
			signIn := fs[len(fs)-1]
			signIn.values.Set("account_name", "Root")
			signIn.values.Set("username", "admin")
			signIn.values.Set("password", boot.Password.Reveal())
			res, body = browse(t, br, "POST", n.issuer()+signIn.action, signIn.values)
			if res.StatusCode != 200 || !strings.Contains(body, "Calendar Sync") || !strings.Contains(body, "See the users of your account") {
				t.Fatalf("after sign-in: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
			}
			fs = htmlForms(t, body)
			consent := fs[len(fs)-1]
			consent.values.Set("decision", "allow")
			res, _ = browse(t, br, "POST", n.issuer()+consent.action, consent.values)
			loc, _ := url.Parse(res.Header.Get("Location"))
			if loc == nil || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") == "" {
				t.Fatalf("after consent: %d to %q", res.StatusCode, res.Header.Get("Location"))
			}
			tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			n.secrets.add(tok.AccessToken)
			n.secrets.add(tok.RefreshToken)
			idToken, err := provider.Verifier(&oidc.Config{ClientID: id}).Verify(ctx, tok.Extra("id_token").(string))
			if err != nil || idToken.Nonce != "abc" {
				t.Fatalf("ID token: %v (nonce %q)", err, idToken.Nonce)
			}

			// The access token lists users and may not create one.
			users := "/v2/accounts/" + root + "/users"
			mustStatus(t, "list users", n.do("GET", users, "", nil, "Authorization", "Bearer "+tok.AccessToken), 200)
			mustStatus(t, "create user", n.do("PUT", users, tok.AccessToken, map[string]any{"data": map[string]any{"first_name": "No", "last_name": "Way"}}), 403)
			if _, body := n.postForm(t, "/oauth/introspect", id, secret, url.Values{"token": {tok.AccessToken}}); body["active"] != true || body["username"] != "admin" {
				t.Errorf("introspection = %v", body)
			}

			// Refresh rotates; reusing the old refresh token kills the family.
			refresh := func(rt string) (*oauth2.Token, error) {
				return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
			}
			tok2, err := refresh(tok.RefreshToken)
			if err != nil || tok2.RefreshToken == tok.RefreshToken {
				t.Fatalf("refresh: %v", err)
			}
			n.secrets.add(tok2.AccessToken)
			n.secrets.add(tok2.RefreshToken)
			if _, err := refresh(tok.RefreshToken); err == nil {
				t.Fatal("an old refresh token worked again")
			}
			if _, err := refresh(tok2.RefreshToken); err == nil {
				t.Fatal("the family survived the reuse")
			}
			mustStatus(t, "access token of the killed family", n.do("GET", users, tok2.AccessToken, nil), 401)

			// The user lists the app and takes it back; its tokens die.
			res, body = browse(t, br, "GET", cfg.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier)), nil)
			if next, ok := strings.CutPrefix(res.Header.Get("Refresh"), "0; url="); ok {
				// Consent given before: the page moves on by itself.
				res, body = browse(t, br, "GET", n.issuer()+next, nil)
			}
			loc, _ = url.Parse(res.Header.Get("Location"))
			if loc == nil || loc.Query().Get("code") == "" {
				t.Fatalf("a second authorization with the grant in place: %d\n%s", res.StatusCode, body)
			}
			tok3, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			n.secrets.add(tok3.AccessToken)
			n.secrets.add(tok3.RefreshToken)
			grants := "/v2/accounts/" + root + "/users/" + boot.UserID + "/oauth_grants"
			r := n.do("GET", grants, sys, nil)
			mustStatus(t, "list grants", r, 200)
			items, _ := r.body["data"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["app_name"] != "Calendar Sync" {
				t.Fatalf("grants = %s", r.raw)
			}
			grant := items[0].(map[string]any)["id"].(string)
			mustStatus(t, "revoke grant", n.do("DELETE", grants+"/"+grant, sys, nil), 200)
			mustStatus(t, "access token of a revoked grant", n.do("GET", users, tok3.AccessToken, nil), 401)
			if _, err := refresh(tok3.RefreshToken); err == nil {
				t.Error("the refresh token of a revoked grant still works")
			}

			r = n.do("GET", "/v2/accounts/"+root+"/audit", sys, nil)
			for _, action := range []string{"oauth.consent", "oauth.token", "oauth.refresh", "oauth.refresh_reuse", "portal.sign_in"} {
				if !strings.Contains(string(r.raw), `"`+action+`"`) {
					t.Errorf("the audit log lacks %s", action)
				}
			}
		})
	}
}

// TestPortalOAuthPages: an admin registers an application in the portal
// (the secret shown once, never again), edits its redirect URIs and
// deletes it; a person lists the applications they authorized and takes
// one back, which ends its tokens.
func TestPortalOAuthPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, pw := portalAdmin(n)
		b := newBrowser(t, n)
		b.signIn(acct, user, pw)
		p := b.submit(b.get("/settings/oauth-apps"), "/settings/oauth-apps", url.Values{
			"name": {"Portal App"}, "client_type": {"confidential"}, "redirect_uris": {"https://portal-app.example/cb"},
			"grant_types": {"authorization_code", "client_credentials"}, "scopes": {"openid", "users:read"}})
		if p.status != 200 || p.url.Path != "/settings/oauth-apps" {
			t.Fatalf("register: %d at %s\n%s", p.status, p.url, p.raw)
		}
		secretNode := find(p.doc, func(n *html.Node) bool { return attr(n, "id") == "client-secret" })
		if secretNode == nil {
			t.Fatalf("the secret is not shown after registering:\n%s", p.raw)
		}
		secret := attr(secretNode, "value")
		n.secrets.add(secret)
		if again := b.get("/settings/oauth-apps"); strings.Contains(again.raw, secret) {
			t.Error("the client secret is shown a second time")
		}
		apps, _, err := n.m.Store.OAuthApps(t.Context(), n.m.Bootstrapped.AccountID, identity.Page{})
		if err != nil || len(apps) != 1 {
			t.Fatalf("apps = %v, %v", apps, err)
		}
		app := apps[0]
		// The secret works for client credentials.
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: secret, TokenURL: n.url + "/oauth/token"}
		tok, err := cc.Token(n.oauthCtx(t))
		if err != nil {
			t.Fatalf("client credentials with the portal's secret: %v", err)
		}
		n.secrets.add(tok.AccessToken)

		// Edit the redirect URIs; a bad one is refused with the form back.
		path := "/settings/oauth-apps/" + app.ID
		if pg := b.get(path); pg.status != 200 {
			t.Fatalf("app page: %d\n%s", pg.status, pg.raw)
		}
		bad := b.submit(b.get(path), path, url.Values{"name": {"Portal App"}, "redirect_uris": {"http://evil.example/cb"},
			"grant_types": {"authorization_code"}, "scopes": {"openid"}})
		if bad.status != http.StatusBadRequest {
			t.Errorf("a plain-http redirect URI: %d, want 400", bad.status)
		}
		b.submit(b.get(path), path, url.Values{"name": {"Portal App"}, "redirect_uris": {"https://portal-app.example/cb\nhttp://127.0.0.1:9999/cb"},
			"grant_types": {"authorization_code", "client_credentials"}, "scopes": {"openid", "users:read"}})
		got, _ := n.m.Store.OAuthApp(t.Context(), app.ID)
		if got == nil || len(got.RedirectURIs) != 2 || got.RedirectURIs[1] != "http://127.0.0.1:9999/cb" {
			t.Errorf("redirect URIs after edit: %+v", got)
		}

		// The admin authorizes the app (as the consent page would) and
		// takes it back on Authorized apps.
		g := &identity.OAuthGrant{AccountID: n.m.Bootstrapped.AccountID, UserID: n.m.Bootstrapped.UserID, AppID: app.ID, Scopes: []string{"openid"}}
		if err := n.m.Store.SaveOAuthGrant(t.Context(), g); err != nil {
			t.Fatal(err)
		}
		list := b.get("/settings/authorized-apps")
		if !strings.Contains(list.raw, "Portal App") || !strings.Contains(list.raw, "Know who you are") {
			t.Fatalf("authorized apps page:\n%s", list.raw)
		}
		done := b.submit(list, "/settings/authorized-apps/"+g.ID+"/revoke", nil)
		if done.status != 200 || strings.Contains(done.raw, "Know who you are") {
			t.Errorf("after revoking: %d\n%s", done.status, done.raw)
		}
		if _, err := n.m.Store.OAuthGrant(t.Context(), g.UserID, app.ID); err == nil {
			t.Error("the grant survived its revocation")
		}

		// Deleting the app ends its tokens.
		b.submit(b.get(path), path+"/delete", nil)
		if _, err := n.m.Store.OAuthApp(t.Context(), app.ID); err == nil {
			t.Error("the app survived its deletion")
		}
		mustStatus(t, "token of an app deleted in the portal", n.do("GET", "/v2/accounts/"+n.m.Bootstrapped.AccountID+"/users", tok.AccessToken, nil), 401)
		for _, a := range []string{"oauth_apps.create", "oauth_apps.update", "oauth_apps.delete", "oauth_grants.delete"} {
			assertAudited(t, n, a, identity.AuditSuccess)
		}
	})
}

// TestOAuthDisabledAncestor: an application of an account below a disabled
// account gets no token until the ancestor is enabled again, by the same
// account rule as every other login face.
func TestOAuthDisabledAncestor(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{}, func(c *config.Config) { c.RateCost = 0 })
			sys := n.mint(t, adminClaims(n.m.Bootstrapped.AccountID))
			reseller := n.do("PUT", "/v2/accounts/"+n.m.Bootstrapped.AccountID, sys, map[string]any{"data": map[string]any{"name": "Reseller"}})
			mustStatus(t, "create reseller", reseller, 201)
			resellerID := reseller.data()["id"].(string)
			customer := n.do("PUT", "/v2/accounts/"+resellerID, sys, map[string]any{"data": map[string]any{"name": "Customer"}})
			mustStatus(t, "create customer", customer, 201)
			customerID := customer.data()["id"].(string)
			id, secret := n.createOAuthApp(t, sys, customerID, map[string]any{
				"name": "Sync", "grant_types": []string{"client_credentials"}, "scopes": []string{"users:read"}})

			ctx := n.oauthCtx(t)
			p, err := oidc.NewProvider(ctx, n.issuer())
			if err != nil {
				t.Fatal(err)
			}
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: p.Endpoint().TokenURL, Scopes: []string{"users:read"}}
			setEnabled := func(on bool) {
				mustStatus(t, "enable/disable reseller", n.do("PATCH", "/v2/accounts/"+resellerID, sys,
					map[string]any{"data": map[string]any{"enabled": on}}), 200)
			}
			setEnabled(false)
			if tok, err := cc.Token(ctx); err == nil {
				n.secrets.add(tok.AccessToken)
				t.Error("an application below a disabled account got a token")
			}
			setEnabled(true)
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("after enabling the reseller again: %v", err)
			}
			n.secrets.add(tok.AccessToken)
		})
	}
}
