package identity_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/audian/audian/internal/identity"
)

func TestValidRedirectURI(t *testing.T) {
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/cb", true},
		{"https://app.example.com/cb?x=1", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost:9000/cb", true},
		{"http://app.example.com/cb", false},
		{"https://app.example.com/cb#frag", false},
		{"https://user:pw@app.example.com/cb", false},
		{"/relative", false},
		{"javascript:alert(1)", false},
		{"https://app.example.com/c b", false},
		{"https://" + strings.Repeat("a", 600) + ".com/", false},
	}
	for _, tt := range tests {
		if got := identity.ValidRedirectURI(tt.uri); got != tt.want {
			t.Errorf("identity.ValidRedirectURI(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}

// FuzzRedirectURI checks that every accepted redirect URI is an absolute
// https URL, or http on a loopback host, without fragment or user info.
func FuzzRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://127.0.0.1/cb", "http://localhost./x", "https://a#b", "http://0x7f.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !identity.ValidRedirectURI(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil || u.Fragment != "" || u.User != nil || u.Host == "" {
			t.Fatalf("accepted %q", s)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			t.Fatalf("accepted scheme of %q", s)
		}
	})
}
