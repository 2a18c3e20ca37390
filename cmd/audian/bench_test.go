package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/audian/audian/internal/config"
)

// discardWriter is the cheapest ResponseWriter, so that the benchmark
// measures audian's chain rather than a recorder's buffering.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkHotPath measures the in-process cost of an authenticated
// GET /v2/accounts/{id} through the whole middleware chain (request id,
// metrics, access log, rate-limit step, token verification from the
// cache, account resolution, reach, restrictions, rendering): what audian
// adds on top of net/http, without TLS or the network. scripts/bench.sh
// measures the same request end to end.
func BenchmarkHotPath(b *testing.B) {
	benchmarkGET(b, func(account string) string { return "/v2/accounts/" + account })
}

// BenchmarkUsersList is BenchmarkHotPath for GET /v2/accounts/{id}/users,
// a list: the store query, the filter pass and the list rendering on top.
func BenchmarkUsersList(b *testing.B) {
	benchmarkGET(b, func(account string) string { return "/v2/accounts/" + account + "/users" })
}

func benchmarkGET(b *testing.B, path func(account string) string) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.MetricsListen = "127.0.0.1:0"
	cfg.RateCost = 0
	cfg.KEK = testKEK
	h := cheapHasher
	m := &Main{Config: cfg, Stdout: io.Discard, Stderr: io.Discard, Hasher: &h}
	if err := m.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tok, _, err := m.Tokens.Issue(adminClaims(m.Bootstrapped.AccountID), 0)
	if err != nil {
		b.Fatal(err)
	}
	handler := m.Server.Handler()
	req := httptest.NewRequest("GET", path(m.Bootstrapped.AccountID), nil)
	req.Header.Set("X-Auth-Token", tok)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := &discardWriter{h: make(http.Header, 8)}
		r := *req
		handler.ServeHTTP(w, &r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}
