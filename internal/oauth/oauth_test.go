package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/oauth"
	"github.com/audian/audian/internal/sqlite"
	"github.com/audian/audian/internal/token"
	"github.com/audian/audian/internal/web"
)

const redirectURI = "https://client.example/cb"

// fixture is a provider behind TLS with a stand-in for the portal's
// sign-in, which signs in as user whoever asks.
type fixture struct {
	t       testing.TB
	srv     *httptest.Server
	store   *sqlite.DB
	tokens  *token.Service
	browser *http.Client
	acct    *identity.Account
	user    *identity.User
	mu      sync.Mutex
	seq     int64
}

func newFixture(t testing.TB, tcfg ...token.Config) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek := sha256.Sum256([]byte("test kek"))
	sealer, err := credential.NewSealer(kek[:])
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(ctx, db, sealer, append(tcfg, token.Config{})[0])
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: db, tokens: tokens}
	f.acct = &identity.Account{Name: "Acme " + identity.NewID()[:6], Enabled: true}
	if err := db.CreateAccount(ctx, f.acct); err != nil {
		t.Fatal(err)
	}
	f.user = &identity.User{AccountID: f.acct.ID, Username: "alice", Email: "alice@example.com", FirstName: "Alice",
		LastName: "Liddell", PrivLevel: identity.RoleUser, Enabled: true}
	if err := db.CreateUser(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	w := web.New(web.Config{}, db, nil, nil)
	p, err := oauth.New(oauth.Config{}, oauth.Deps{Store: db, Tokens: tokens, Web: w, Sync: f.sync})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Mount(mux)
	mux.HandleFunc("GET /.well-known/jwks.json", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(tokens.JWKS())
	})
	// The portal's sign-in, reduced to what OAuth relies on: a session,
	// then back to return_to.
	mux.HandleFunc("GET /sign-in", func(rw http.ResponseWriter, r *http.Request) {
		if _, err := w.Start(rw, r, f.acct, f.user); err != nil {
			t.Error(err)
		}
		http.Redirect(rw, r, web.SafeReturnTo(r.URL.Query().Get("return_to")), http.StatusSeeOther)
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	if err := p.SetIssuer(f.srv.URL); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	f.browser = f.srv.Client()
	f.browser.Jar = jar
	// The browser stops at the client's redirect URI, where the test
	// reads the code.
	f.browser.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "client.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return f
}

// sync applies new events to the token service, as the feed does.
func (f *fixture) sync(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	evs, err := f.store.Events(ctx, f.seq, 1000)
	if err != nil {
		return err
	}
	for _, e := range evs {
		f.tokens.Apply(e)
		f.seq = e.Seq
	}
	return nil
}

func (f *fixture) ctx() context.Context { return oidc.ClientContext(f.t.Context(), f.srv.Client()) }

// app registers an application and returns its oauth2 config.
func (f *fixture) app(clientType string, grants, scopes []string) (*identity.OAuthApp, *oauth2.Config) {
	f.t.Helper()
	secret := "acs_" + identity.NewID()
	a := &identity.OAuthApp{AccountID: f.acct.ID, Name: "Calendar Sync", ClientType: clientType, RedirectURIs: []string{redirectURI},
		GrantTypes: grants, Scopes: scopes}
	if clientType == identity.ClientConfidential {
		a.SecretHash = identity.OAuthSecretHash(secret)
	} else {
		secret = ""
	}
	if err := f.store.CreateOAuthApp(f.t.Context(), a); err != nil {
		f.t.Fatal(err)
	}
	return a, &oauth2.Config{ClientID: a.ID, ClientSecret: secret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: f.srv.URL + "/oauth/authorize", TokenURL: f.srv.URL + "/oauth/token",
			DeviceAuthURL: f.srv.URL + "/oauth/device_authorization"}}
}

// form is an HTML form as a browser would submit it.
type form struct {
	action string
	values url.Values
}

// forms parses the forms of a page.
func forms(t testing.TB, body string) []form {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []form
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if n.Type == html.ElementNode && n.Data == "form" {
			out = append(out, form{values: url.Values{}})
			cur = &out[len(out)-1]
			for _, a := range n.Attr {
				if a.Key == "action" {
					cur.action = a.Val
				}
			}
		}
		if n.Type == html.ElementNode && n.Data == "input" && cur != nil {
			var name, value string
			for _, a := range n.Attr {
				switch a.Key {
				case "name":
					name = a.Val
				case "value":
					value = a.Val
				}
			}
			if name != "" {
				cur.values.Set(name, value)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	return out
}

func (f *fixture) get(u string) (*http.Response, string) {
	f.t.Helper()
	res, err := f.browser.Get(u)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (f *fixture) post(action string, v url.Values) (*http.Response, string) {
	f.t.Helper()
	res, err := f.browser.PostForm(f.srv.URL+action, v)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// authorize runs the browser part of the code flow and returns the
// redirect to the client.
func (f *fixture) authorize(authURL string) *url.URL {
	f.t.Helper()
	res, body := f.get(authURL)
	if next, ok := strings.CutPrefix(res.Header.Get("Refresh"), "0; url="); ok && res.StatusCode == http.StatusOK {
		// Consent given before: the page moves on by itself.
		res, body = f.get(f.srv.URL + next)
	} else if res.StatusCode == http.StatusOK {
		fs := forms(f.t, body)
		if len(fs) == 0 {
			f.t.Fatalf("consent page without a form:\n%s", body)
		}
		v := fs[len(fs)-1].values
		v.Set("decision", "allow")
		res, body = f.post(fs[len(fs)-1].action, v)
	}
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("authorization ended with %d, not a redirect to the client:\n%s", res.StatusCode, body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Host != "client.example" {
		f.t.Fatalf("redirect to %v, want the client", res.Header.Get("Location"))
	}
	return loc
}

func TestCodeFlowWithPKCE(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	app, cfg := f.app(identity.ClientConfidential, []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		[]string{"openid", "profile", "email", "offline_access", "users:read"})
	provider, err := oidc.NewProvider(ctx, f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()

	// The consent page names the app and each permission in plain words,
	// and carries the session's CSRF token.
	res, body := f.get(cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce")))
	if res.StatusCode != 200 || !strings.Contains(body, "Calendar Sync") || !strings.Contains(body, "See the users of your account") {
		t.Fatalf("consent page %d:\n%s", res.StatusCode, body)
	}
	fs := forms(t, body)
	consent := fs[len(fs)-1]
	if consent.values.Get("csrf_token") == "" {
		t.Fatal("the consent form has no CSRF token")
	}
	// Without the CSRF token, nothing is granted.
	bad := url.Values{"id": {consent.values.Get("id")}, "decision": {"allow"}}
	if res, _ := f.post(consent.action, bad); res.StatusCode != http.StatusForbidden {
		t.Errorf("consent without CSRF token: %d, want 403", res.StatusCode)
	}
	consent.values.Set("decision", "allow")
	res, _ = f.post(consent.action, consent.values)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc == nil || loc.Host != "client.example" || loc.Query().Get("state") != "st4te" || loc.Query().Get("code") == "" {
		t.Fatalf("after consent: %d to %v", res.StatusCode, res.Header.Get("Location"))
	}
	code := loc.Query().Get("code")

	// A wrong verifier fails; the right one gets the tokens.
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("a wrong PKCE verifier got tokens")
	}
	// The failed attempt used the code: it is single-use whatever happened.
	loc = f.authorize(cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce")))
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := provider.Verifier(&oidc.Config{ClientID: app.ID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token against the JWKS: %v", err)
	}
	var claims struct {
		Email    string `json:"email"`
		Username string `json:"preferred_username"`
	}
	_ = idTok.Claims(&claims)
	if idTok.Nonce != "n0nce" || idTok.Subject != f.acct.ID+"."+f.user.ID || claims.Email != "alice@example.com" || claims.Username != "alice" {
		t.Errorf("ID token nonce %q subject %q claims %+v", idTok.Nonce, idTok.Subject, claims)
	}
	c, err := f.tokens.Verify(tok.AccessToken)
	if err != nil || c.Method != identity.MethodOAuth || c.OwnerID != f.user.ID || c.PrivLevel != identity.RoleUser {
		t.Fatalf("access token claims %+v (%v)", c, err)
	}
	if !strings.Contains(strings.Join(c.Scopes, " "), "users:read") {
		t.Errorf("access token scopes %v lack users:read", c.Scopes)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != "alice@example.com" {
		t.Errorf("userinfo = %+v, %v", info, err)
	}

	// A second use of the code fails and revokes what the first issued.
	if _, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code worked twice")
	}
	if _, err := f.tokens.Verify(tok.AccessToken); !errors.Is(err, identity.ErrTokenRevoked) {
		t.Errorf("access token after code reuse: %v, want revoked", err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token of a reused code still works")
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	_, cfg := f.app(identity.ClientConfidential, []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		[]string{"openid", "offline_access", "users:read"})
	verifier := oauth2.GenerateVerifier()
	loc := f.authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	tok1, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok1.RefreshToken == "" {
		t.Fatalf("exchange: %v (refresh %q)", err, tok1.RefreshToken)
	}
	refresh := func(rt string) (*oauth2.Token, error) {
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
	}
	tok2, err := refresh(tok1.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == tok1.RefreshToken {
		t.Fatalf("refresh did not rotate: %q", tok2.RefreshToken)
	}
	// Reusing the first refresh token fails and kills the family: the
	// newest refresh token and its access token die with it.
	if _, err := refresh(tok1.RefreshToken); err == nil {
		t.Fatal("a rotated refresh token worked again")
	}
	if _, err := refresh(tok2.RefreshToken); err == nil {
		t.Error("the family survived the reuse of one of its tokens")
	}
	if _, err := f.tokens.Verify(tok2.AccessToken); !errors.Is(err, identity.ErrTokenRevoked) {
		t.Errorf("access token of the revoked family: %v, want revoked", err)
	}
	// The second consent is remembered: no consent form, a page that
	// moves on to the client by itself.
	res, body := f.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Refresh"), "0; url=/oauth/authorize/callback?id=") ||
		strings.Contains(body, `value="allow"`) {
		t.Errorf("second authorization: %d, Refresh %q, despite the grant", res.StatusCode, res.Header.Get("Refresh"))
	}
}

func TestPublicClientNeedsS256(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.app(identity.ClientPublic, []string{identity.GrantAuthorizationCode}, []string{"openid"})
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"none":  nil,
		"plain": {oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		res, _ := f.get(cfg.AuthCodeURL("s", opts...))
		loc, _ := url.Parse(res.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "invalid_request" {
			t.Errorf("%s: %d to %v, want an invalid_request redirect", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// A redirect URI that is not registered byte for byte is refused
	// without redirecting anywhere.
	evil := *cfg
	evil.RedirectURL = redirectURI + "/../evil"
	res, _ := f.get(evil.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if loc := res.Header.Get("Location"); strings.Contains(loc, "client.example") {
		t.Errorf("an unregistered redirect URI was used: %s", loc)
	}
	// With S256 the public client completes the flow without a secret.
	v := oauth2.GenerateVerifier()
	loc := f.authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	if _, err := cfg.Exchange(f.ctx(), loc.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
		t.Errorf("public client exchange: %v", err)
	}
}

func TestDeviceFlow(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	_, cfg := f.app(identity.ClientPublic, []string{identity.GrantDeviceCode}, []string{"openid", "users:read"})
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if _, err := cfg.DeviceAccessToken(ctxTimeout(ctx, 100*time.Millisecond), da); err == nil {
		t.Fatal("a device got tokens before approval")
	}
	// The person opens /device, signs in, types the code, approves.
	res, body := f.get(f.srv.URL + "/device")
	if res.StatusCode != 200 {
		t.Fatalf("/device: %d\n%s", res.StatusCode, body)
	}
	fs := forms(t, body)
	entry := fs[len(fs)-1]
	entry.values.Set("user_code", strings.ToLower(da.UserCode))
	res, body = f.post(entry.action, entry.values)
	if res.StatusCode != 200 || !strings.Contains(body, "Calendar Sync") {
		t.Fatalf("code entry: %d\n%s", res.StatusCode, body)
	}
	fs = forms(t, body)
	approve := fs[len(fs)-1]
	approve.values.Set("decision", "allow")
	if res, body := f.post(approve.action, approve.values); res.StatusCode != 200 {
		t.Fatalf("approval: %d\n%s", res.StatusCode, body)
	}
	da.Interval = 1
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("device token: %v", err)
	}
	if c, err := f.tokens.Verify(tok.AccessToken); err != nil || c.OwnerID != f.user.ID {
		t.Errorf("device access token %+v (%v)", c, err)
	}
	// The device code works once.
	if _, err := cfg.DeviceAccessToken(ctxTimeout(ctx, 3*time.Second), da); err == nil {
		t.Error("a device code worked twice")
	}
}

func ctxTimeout(ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	_ = cancel
	return ctx
}

// TestPrivateKeyJWT authenticates a confidential client with a signed
// assertion (RFC 7523) instead of a secret, and refuses one signed with
// another key.
func TestPrivateKeyJWT(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	a := &identity.OAuthApp{AccountID: f.acct.ID, Name: "Signed", ClientType: identity.ClientConfidential, RedirectURIs: []string{redirectURI},
		GrantTypes: []string{identity.GrantAuthorizationCode}, Scopes: []string{"openid"}, JWKS: string(jwks)}
	if err := f.store.CreateOAuthApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: a.ID, RedirectURL: redirectURI, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: f.srv.URL + "/oauth/authorize", TokenURL: f.srv.URL + "/oauth/token"}}
	assertion := func(k *rsa.PrivateKey) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"iss": a.ID, "sub": a.ID, "aud": []string{f.srv.URL, f.srv.URL + "/oauth/token"},
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": identity.NewID()})
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jws.CompactSerialize()
		return s
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name string
		key  *rsa.PrivateKey
		ok   bool
	}{{"another key", other, false}, {"the registered key", key, true}} {
		v := oauth2.GenerateVerifier()
		loc := f.authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
		_, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v),
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", assertion(tc.key)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: exchange error %v, want success %v", tc.name, err, tc.ok)
		}
	}
}

// TestUserRemovedRevokes: removing the user who granted access kills the
// access and refresh tokens issued under the grant.
func TestUserRemovedRevokes(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	_, cfg := f.app(identity.ClientConfidential, []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		[]string{"openid", "offline_access", "users:read"})
	v := oauth2.GenerateVerifier()
	loc := f.authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteUser(ctx, f.acct.ID, f.user.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.Verify(tok.AccessToken); !errors.Is(err, identity.ErrTokenRevoked) {
		t.Errorf("access token of a removed user: %v, want revoked", err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token of a removed user still works")
	}
}

// TestIDTokenAlgorithms: whatever algorithm the token key ring signs with,
// a relying party verifies the ID token against the JWKS.
func TestIDTokenAlgorithms(t *testing.T) {
	for _, alg := range token.Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, token.Config{Algorithm: alg})
			ctx := f.ctx()
			app, cfg := f.app(identity.ClientConfidential, []string{identity.GrantAuthorizationCode}, []string{"openid"})
			provider, err := oidc.NewProvider(ctx, f.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			v := oauth2.GenerateVerifier()
			loc := f.authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
			tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			verifier := provider.Verifier(&oidc.Config{ClientID: app.ID, SupportedSigningAlgs: []string{alg}})
			if _, err := verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil {
				t.Errorf("ID token signed with %s: %v", alg, err)
			}
		})
	}
}

// TestEndSession: the end-session endpoint sends the browser back to a
// registered redirect URI, and nowhere else.
func TestEndSession(t *testing.T) {
	f := newFixture(t)
	app, _ := f.app(identity.ClientConfidential, []string{identity.GrantAuthorizationCode}, []string{"openid"})
	for _, tc := range []struct {
		to   string
		want bool
	}{{redirectURI, true}, {"https://evil.example/cb", false}} {
		res, _ := f.get(f.srv.URL + "/oauth/end_session?client_id=" + app.ID + "&post_logout_redirect_uri=" + url.QueryEscape(tc.to))
		loc := res.Header.Get("Location")
		if got := strings.HasPrefix(loc, tc.to); got != tc.want {
			t.Errorf("end_session to %s: %d to %q", tc.to, res.StatusCode, loc)
		}
	}
}
