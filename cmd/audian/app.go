package main

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/crossbar"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/login"
	"github.com/audian/audian/internal/oauth"
	"github.com/audian/audian/internal/portal"
	"github.com/audian/audian/internal/postgres"
	"github.com/audian/audian/internal/ratelimit"
	"github.com/audian/audian/internal/server"
	"github.com/audian/audian/internal/sqlite"
	"github.com/audian/audian/internal/token"
	"github.com/audian/audian/internal/web"
)

// Main is one audian server process, wired from its Config. End-to-end
// tests build one, Open it, and talk to URL().
type Main struct {
	Config config.Config
	Stdout io.Writer // the terminal: the bootstrap credentials go here, once
	Stderr io.Writer // the log stream
	// Hasher overrides the password hasher (tests use cheap parameters, or
	// wrap one to count argon2id evaluations). A *credential.PasswordHasher
	// is one.
	Hasher crossbar.PasswordHasher
	// Now overrides the clock of token issue and verification.
	Now func() time.Time

	Logger *slog.Logger
	Store  identity.Store
	Tokens *token.Service
	API    *crossbar.API
	OAuth  *oauth.Provider
	Portal *portal.Portal
	Web    *web.Web
	// Door is the one credential check of every face (internal/login).
	Door   *login.Door
	Feed   *server.Feed
	Server *server.Server
	// Bootstrapped holds the credentials when Open bootstrapped the database.
	Bootstrapped *crossbar.BootstrapResult
	// BootstrapPath is the file the credentials were written to, when
	// standard output was not a terminal.
	BootstrapPath string

	pg     *postgres.DB
	guard  *ratelimit.Guard
	logOut *server.LogWriter
}

// Open connects everything; it does not serve yet.
func (m *Main) Open(ctx context.Context) error {
	cfg := &m.Config
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	m.logOut = server.NewLogWriter(m.Stderr, 100*time.Millisecond)
	m.Logger = newLogger(m.logOut, cfg.LogLevel)
	var hasher crossbar.PasswordHasher = credential.DefaultHasher
	if m.Hasher != nil {
		hasher = m.Hasher
	}
	var err error
	if m.Store, err = m.openStore(ctx); err != nil {
		return err
	}
	sealer, err := openSealer(ctx, cfg, m.Store)
	if err != nil {
		return err
	}
	m.Tokens, err = token.New(ctx, m.Store, sealer, token.Config{Lifetime: cfg.TokenLifetime, Now: m.Now,
		Algorithm: cfg.TokenAlg, SessionLifetime: cfg.SessionLifetime})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	proxies, _ := cfg.Proxies()
	node := cfg.Node
	if node == "" {
		node = nodeName(cfg.Listen)
	}
	var feed *server.Feed
	m.guard = ratelimit.NewGuard(m.Store, nil)
	m.Door = login.New(login.Config{
		HashConcurrency:      cfg.LoginHashConcurrency,
		HashWait:             cfg.LoginHashWait,
		KeyRotation:          time.Duration(cfg.KeyRotationDays) * 24 * time.Hour,
		KeyRotationMandatory: cfg.KeyRotationMandatory,
	}, login.Deps{Store: m.Store, Hasher: hasher, Sealer: sealer, Guard: m.guard, Logger: m.Logger, Now: m.Now,
		Gate: apiGate{m}, RecoveryGuard: ratelimit.NewRecoveryGuard(m.Store, nil)})
	m.API = crossbar.New(crossbar.Config{
		Version:              Version,
		Node:                 node,
		MaxBodyBytes:         cfg.MaxBodyBytes,
		TokenLifetime:        cfg.TokenLifetime,
		RateCost:             cfg.RateCost,
		RateBurst:            cfg.RateBurst,
		RatePerSecond:        cfg.RatePerSecond,
		CORSOrigin:           cfg.CORSOrigin,
		TrustedProxies:       proxies,
		RealmSuffix:          cfg.RealmSuffix,
		KeyRotation:          time.Duration(cfg.KeyRotationDays) * 24 * time.Hour,
		KeyRotationMandatory: cfg.KeyRotationMandatory,
		UploadMaxBytes:       cfg.WhitelabelMaxBytes,
	}, crossbar.Deps{
		Store:   m.Store,
		Tokens:  m.Tokens,
		Sealer:  sealer,
		Hasher:  hasher,
		Limiter: m.limiter(),
		Door:    m.Door,
		// Reset ids go to a 0600 outbox file, or by mail: never to the log.
		Notifier: resetNotifier(cfg),
		Sync:     func(ctx context.Context) error { return feed.Sync(ctx) },
		Logger:   m.Logger,
		Now:      m.Now,
	})
	feed = server.NewFeed(m.Store, cfg.FeedInterval, 25*time.Hour+time.Hour, m.Logger,
		m.Tokens.Apply,
		m.API.Apply,
		func(e identity.Event) {
			if e.Kind == identity.EventSigningKey {
				if err := m.Tokens.Reload(context.Background()); err != nil {
					m.Logger.Warn("reloading signing keys failed", "error", err.Error())
				}
			}
		})
	m.Feed = feed
	if err := m.openPortal(sealer, hasher, proxies); err != nil {
		return err
	}
	if err := feed.Sync(ctx); err != nil {
		return fmt.Errorf("reading the change feed: %w", err)
	}

	m.OAuth, err = oauth.New(oauth.Config{}, oauth.Deps{
		Gate:   apiGate{m},
		Store:  m.Store,
		Tokens: m.Tokens,
		Web:    m.Web,
		Sync:   func(ctx context.Context) error { return feed.Sync(ctx) },
		Logger: m.Logger,
		Now:    m.Now,
	})
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	opts := server.Options{Addr: cfg.Listen, Logger: m.Logger, LogOut: m.logOut, Ready: m.Store.Ping, JWKS: m.Tokens.JWKS, Mount: m.mount,
		MetricsAddr: cfg.MetricsAddr()}
	if !cfg.InsecureHTTP {
		opts.CertFile, opts.KeyFile = cfg.TLSCert, cfg.TLSKey
		if opts.CertFile == "" {
			if opts.CertFile, opts.KeyFile, err = server.SelfSigned(filepath.Join(cfg.DataDir, "tls"), time.Now()); err != nil {
				return fmt.Errorf("self-signed certificate: %w", err)
			}
		}
	} else {
		m.Logger.Warn("serving plain HTTP: use --insecure-http only behind a proxy that terminates TLS")
	}
	// The port is bound before the first start creates anything: a start
	// that cannot serve must not leave an account behind whose only
	// credentials were shown by a process that exited.
	if m.Server, err = server.New(opts); err != nil {
		return err
	}
	// The issuer defaults to the port actually bound, known only now.
	if err := m.OAuth.SetIssuer(cfg.Issuer(m.Server.Addr().String())); err != nil {
		m.Server.Close()
		return err
	}
	res, err := crossbar.Bootstrap(ctx, m.Store, sealer, hasher, crossbar.BootstrapParams{
		AccountName: "Root", Username: "admin", RealmSuffix: cfg.RealmSuffix,
	})
	switch {
	case errors.Is(err, identity.ErrBootstrapped):
	case err != nil:
		m.Server.Close()
		return fmt.Errorf("bootstrap: %w", err)
	default:
		m.Bootstrapped = res
		if err := m.showBootstrap(res); err != nil {
			m.Server.Close()
			return err
		}
	}
	return nil
}

// BootstrapFile is where the first start's credentials go when standard
// output is not a terminal, relative to the data directory.
const BootstrapFile = "bootstrap-credentials.json"

// showBootstrap hands the first start's credentials to the operator: on
// the terminal when standard output is one, else (a service manager, a
// container, a pipe into a log collector) in a 0600 file of the data
// directory, whose path alone is logged, so that the secrets never enter
// a log stream.
func (m *Main) showBootstrap(res *crossbar.BootstrapResult) error {
	if isTerminal(m.Stdout) {
		printBootstrap(m.Stdout, res)
		return nil
	}
	path := filepath.Join(m.Config.DataDir, BootstrapFile)
	body, err := json.MarshalIndent(map[string]string{
		"account_id": res.AccountID, "user_id": res.UserID, "username": res.Username,
		"password": res.Password.Reveal(), "api_key": res.APIKey.Reveal(),
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("bootstrap credentials: %w", err)
	}
	_, err = f.Write(append(body, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bootstrap credentials: %w", err)
	}
	// An existing file keeps its mode through O_CREATE: make it 0600.
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	m.BootstrapPath = path
	m.Logger.Warn("first start: created the system account; its credentials are in a file readable only by this user: store them elsewhere and delete it",
		"path", path, "account_id", res.AccountID)
	fmt.Fprintf(m.Stdout, "audian: first start; the bootstrap credentials are in %s (mode 0600)\n", path)
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (m *Main) openStore(ctx context.Context) (identity.Store, error) {
	cfg := &m.Config
	if cfg.Postgres() {
		db, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", config.RedactDSN(cfg.Database), err)
		}
		m.pg = db
		return db, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Database), 0o700); err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.Database, err)
	}
	return db, nil
}

// openSealer loads the key-encryption key: AUDIAN_KEK when set (every
// process sharing a database must be given the same one), else the key
// file, created on first start. A missing file is created only for a
// database that holds nothing sealed yet: for one that does, a new key
// could open none of it, so the start fails and says what to do.
func openSealer(ctx context.Context, cfg *config.Config, store identity.Store) (*credential.Sealer, error) {
	var kek []byte
	var err error
	if cfg.KEK != "" {
		kek, err = credential.ParseKEK(cfg.KEK)
		if err != nil {
			return nil, fmt.Errorf("AUDIAN_KEK: %w", err)
		}
	} else if _, statErr := os.Stat(cfg.KEKFile); errors.Is(statErr, fs.ErrNotExist) && holdsSealedData(ctx, store) {
		return nil, fmt.Errorf("key-encryption key: %s does not exist, but the database %s already holds keys sealed under one; "+
			"restore the key file it was created with (or point --kek-file at it, or set AUDIAN_KEK to that key); "+
			"a new key could not open them, so none was created", cfg.KEKFile, config.RedactDSN(cfg.Database))
	} else if kek, err = credential.LoadOrCreateKEK(cfg.KEKFile); err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return credential.NewSealer(kek)
}

// holdsSealedData reports whether store was used with a key-encryption
// key already: it holds signing keys, or changes (a bootstrap by the CLI
// seals an account key and appends events, before any signing key
// exists). When it cannot tell, it says yes: refusing to start is
// recoverable, sealing new data under a stray key is not.
func holdsSealedData(ctx context.Context, store identity.Store) bool {
	keys, err := store.SigningKeys(ctx)
	if err != nil || len(keys) > 0 {
		return true
	}
	events, err := store.Events(ctx, 0, 1)
	return err != nil || len(events) > 0
}

// URL is the base URL the server answers on.
func (m *Main) URL() string {
	scheme := "https"
	if !m.Server.TLS() {
		scheme = "http"
	}
	return scheme + "://" + m.Server.Addr().String()
}

// Run serves until ctx ends, then stops gracefully.
func (m *Main) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go m.Feed.Run(ctx)
	go m.maintain(ctx, m.guard)
	m.startKeyTasks(ctx) // signingkeys.go
	if m.pg != nil {
		go func() {
			if err := m.pg.Listen(ctx, m.Feed.Wake); err != nil && ctx.Err() == nil {
				m.Logger.Warn("listening for change notifications failed; polling only", "error", err.Error())
			}
		}()
	}
	m.Logger.Info("serving", "url", m.URL(), "config", m.Config.String())
	errc := make(chan error, 1)
	go func() { errc <- m.Server.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := m.Server.Shutdown(stopCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Background password recoveries write to the store: let them finish
	// before Close.
	if err := m.API.Drain(stopCtx); err != nil {
		m.Logger.Warn("password recoveries still running at shutdown", "error", err.Error())
	}
	m.flushKeyUses()
	m.Logger.Info("stopped")
	return <-errc
}

// Close releases what Open acquired and flushes the log.
func (m *Main) Close() error {
	var err error
	if m.Store != nil {
		err = m.Store.Close()
	}
	if m.logOut != nil {
		_ = m.logOut.Close()
	}
	return err
}

// newLogger writes JSON lines to w. Times carry milliseconds, as the
// server's access-log lines do, so that all lines sort and read alike.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
			a.Value = slog.StringValue(a.Value.Time().Format("2006-01-02T15:04:05.000Z07:00"))
		}
		return a
	}}))
}

// nodeName derives Kazoo's 22-character node id from the host name.
func nodeName(listen string) string {
	host, _ := os.Hostname()
	sum := md5.Sum([]byte(host + "/" + listen))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func printBootstrap(w io.Writer, r *crossbar.BootstrapResult) {
	fmt.Fprintf(w, `
  audian: first start. Created the system account, its administrator and an API key.
  These secrets are shown ONCE and are not logged; store them now.

    account_id  %s
    username    %s
    password    %s
    api_key     %s

`, r.AccountID, r.Username, r.Password.Reveal(), r.APIKey.Reveal())
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := config.Load("audian serve", args, getenv, stdout)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Stdout: stdout, Stderr: stderr}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	// The OAuth library logs its request errors through slog's default
	// logger; in the one server of this process they join the JSON log.
	slog.SetDefault(m.Logger)
	return m.Run(ctx)
}

// resetNotifier is where password reset ids go: mail when an SMTP server
// is set, else the 0600 outbox file in the data directory.
func resetNotifier(cfg *config.Config) crossbar.Notifier {
	if cfg.SMTPAddr != "" {
		return crossbar.SMTPNotifier{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword}
	}
	return &crossbar.OutboxNotifier{Path: cfg.ResetOutbox}
}

// apiGate lets the login door decide whether an account is usable from the
// API's feed-invalidated account cache; the API is made after the door.
type apiGate struct{ m *Main }

func (g apiGate) AccountUsable(ctx context.Context, a *identity.Account) (bool, error) {
	return g.m.API.AccountUsable(ctx, a)
}
