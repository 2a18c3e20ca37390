package main

import (
	"net/http"
	"net/http/httptest"

	"github.com/audian/audian/internal/config"
	"testing"
)

// BenchmarkHotPath measures the in-process cost of an authenticated
// GET /v2/accounts/{id} through the whole middleware chain (no TLS, no
// network): what audian adds on top of net/http. Compare with
// BenchmarkBareHandler.
func BenchmarkHotPath(b *testing.B) {
	t := &testing.T{}
	n := startNode(t, b.TempDir(), "", &secrets{}, func(c *config.Config) { c.RateCost = 0 })
	tok, _, err := n.m.Tokens.Issue(adminClaims(n.m.Bootstrapped.AccountID), 0)
	if err != nil {
		b.Fatal(err)
	}
	h := n.m.Server.Handler()
	path := "/v2/accounts/" + n.m.Bootstrapped.AccountID
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("X-Auth-Token", tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
