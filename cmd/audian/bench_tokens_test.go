package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/token"
)

// BenchmarkAPIAuth measures PUT /v2/api_auth in process, per signing
// algorithm, through the whole chain (key lookup, account check, token
// issue, audit row, reply) on SQLite, without TLS: what a login costs the
// server's CPU. The wall-clock time per request includes waiting on the
// disk (SQLite writes the login's audit row); cpu-µs/op is the process'
// CPU time per request (all goroutines), and req/s/core its inverse: the
// throughput one core would sustain if the disk were not in the way.
//
//	go test -run '^$' -bench APIAuth -cpu 1 ./cmd/audian/
func BenchmarkAPIAuth(b *testing.B) {
	for _, alg := range token.Algorithms {
		b.Run(alg, func(b *testing.B) {
			cfg := config.Default()
			cfg.DataDir = b.TempDir()
			cfg.Listen = "127.0.0.1:0"
			cfg.RateCost = 0
			cfg.KEK = testKEK
			cfg.TokenAlg = alg
			h := cheapHasher
			m := &Main{Config: cfg, Stdout: io.Discard, Stderr: io.Discard, Hasher: &h}
			if err := m.Open(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			body := `{"data":{"api_key":"` + m.Bootstrapped.APIKey.Reveal() + `"}}`
			handler := m.Server.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				w := &discardWriter{h: make(http.Header, 8)}
				r := httptest.NewRequest("PUT", "/v2/api_auth", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				handler.ServeHTTP(w, r)
				if w.code != http.StatusCreated {
					b.Fatalf("status %d", w.code)
				}
			}
			cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
			b.ReportMetric(cpu*1e6, "cpu-µs/op")
			b.ReportMetric(1/cpu, "req/s/core")
		})
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
