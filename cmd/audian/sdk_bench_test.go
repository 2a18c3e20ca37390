package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/audian/audian"
	"github.com/audian/audian/internal/config"
)

// BenchmarkSDKGetAccount compares an SDK call (Accounts.Get: token
// check, request, envelope decoding into audian.Account) with the same
// request made by hand on the same connection pool, against the real
// server over TLS on loopback: what the SDK costs its caller.
func BenchmarkSDKGetAccount(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.RateCost = 0
	cfg.KEK = testKEK
	h := cheapHasher
	m := &Main{Config: cfg, Stdout: io.Discard, Stderr: io.Discard, Hasher: &h}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done; m.Close() }()
	pem, err := os.ReadFile(filepath.Join(cfg.DataDir, "tls", "cert.pem"))
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}}
	c, err := audian.NewClient(m.URL(), audian.WithAPIKey(m.Bootstrapped.APIKey.Reveal()), audian.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := c.Token(ctx)
	if err != nil {
		b.Fatal(err)
	}
	id := m.Bootstrapped.AccountID
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Accounts.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, "GET", m.URL()+"/v2/accounts/"+id, nil)
			req.Header.Set("X-Auth-Token", tok)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}
