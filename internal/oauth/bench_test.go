package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/audian/audian/internal/identity"
)

// BenchmarkClientCredentials measures one client credentials grant at the
// token endpoint over TLS on SQLite: client authentication (a SHA-256 and
// a store read), the signed token, and the audit row.
func BenchmarkClientCredentials(b *testing.B) {
	f := newFixture(b)
	app, cfg := f.app(identity.ClientConfidential, []string{identity.GrantClientCredentials}, []string{"users:read"})
	cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.Endpoint.TokenURL}
	ctx := f.ctx()
	b.ResetTimer()
	for b.Loop() {
		if _, err := cc.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIntrospection measures RFC 7662 introspection of a valid
// access token by its client.
func BenchmarkIntrospection(b *testing.B) {
	f := newFixture(b)
	app, cfg := f.app(identity.ClientConfidential, []string{identity.GrantClientCredentials}, []string{"users:read"})
	cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.Endpoint.TokenURL}
	tok, err := cc.Token(f.ctx())
	if err != nil {
		b.Fatal(err)
	}
	c := f.srv.Client()
	form := url.Values{"token": {tok.AccessToken}}.Encode()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", f.srv.URL+"/oauth/introspect", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ID, cfg.ClientSecret)
		res, err := c.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("introspect: %v", err)
		}
		res.Body.Close()
	}
}
