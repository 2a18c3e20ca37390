// Package sdktest starts a real audian API server in-process, for the
// Go SDK's examples and tests in package audian_test (which cannot import
// cmd/audian). It wires the same parts as cmd/audian's Main: SQLite, the
// token service, the Crossbar API, the change feed and the HTTPS server
// with a self-signed certificate; only the password hasher is cheaper.
// When Main's wiring of the API changes, change it here too: the SDK's
// examples fail with a 500 otherwise.
package sdktest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/crossbar"
	"github.com/audian/audian/internal/login"
	"github.com/audian/audian/internal/ratelimit"
	"github.com/audian/audian/internal/server"
	"github.com/audian/audian/internal/sqlite"
	"github.com/audian/audian/internal/token"
)

// Server is a running server.
type Server struct {
	URL string
	// CACert is the PEM of the server's self-signed certificate.
	CACert []byte
	// AccountID, Username, Password and APIKey are the bootstrap
	// account's and its administrator's.
	AccountID, Username, Password, APIKey string

	stop func()
}

// Close stops the server and removes its data.
func (s *Server) Close() { s.stop() }

// Start runs a server in a fresh temporary directory.
func Start() (_ *Server, err error) {
	dir, err := os.MkdirTemp("", "audian-sdktest-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cleanup []func()
	stop := func() {
		cancel()
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	kek := make([]byte, credential.KEKLen)
	_, _ = rand.Read(kek)
	sealer, err := credential.NewSealer(kek)
	if err != nil {
		return nil, err
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audian.db"))
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { store.Close() })
	tokens, err := token.New(ctx, store, sealer, token.Config{})
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hasher := &credential.PasswordHasher{Memory: 64, Time: 1, Threads: 1}
	door := login.New(login.Config{}, login.Deps{
		Store: store, Hasher: hasher, Sealer: sealer, Guard: ratelimit.NewGuard(store, nil), Logger: log,
	})
	var feed *server.Feed
	api := crossbar.New(crossbar.Config{Version: "sdktest", Node: "sdktest-node-000000000", RateCost: 0}, crossbar.Deps{
		Store: store, Tokens: tokens, Sealer: sealer, Hasher: hasher,
		Limiter: ratelimit.NewMemory(10_000, nil),
		Door:    door,
		Sync:    func(ctx context.Context) error { return feed.Sync(ctx) },
		Logger:  log,
	})
	feed = server.NewFeed(store, 50*time.Millisecond, 26*time.Hour, log, tokens.Apply, api.Apply)
	if err := feed.Sync(ctx); err != nil {
		return nil, err
	}
	boot, err := crossbar.Bootstrap(ctx, store, sealer, hasher, crossbar.BootstrapParams{AccountName: "Root", Username: "admin"})
	if err != nil {
		return nil, err
	}
	cert, key, err := server.SelfSigned(filepath.Join(dir, "tls"), time.Now())
	if err != nil {
		return nil, err
	}
	srv, err := server.New(server.Options{
		Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key, Logger: log,
		Ready: store.Ping, JWKS: tokens.JWKS, Mount: api.Mount,
	})
	if err != nil {
		return nil, err
	}
	go feed.Run(ctx)
	go func() { _ = srv.Serve() }()
	cleanup = append(cleanup, func() {
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = srv.Shutdown(sctx)
		_ = api.Drain(sctx)
	})
	pem, err := os.ReadFile(cert)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL: fmt.Sprintf("https://%s", srv.Addr()), CACert: pem,
		AccountID: boot.AccountID, Username: boot.Username,
		Password: boot.Password.Reveal(), APIKey: boot.APIKey.Reveal(),
		stop: stop,
	}
	return s, nil
}
