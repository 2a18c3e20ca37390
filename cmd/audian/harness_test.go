package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// cheapHasher keeps tests fast; production parameters are tested in
// internal/credential.
var cheapHasher = credential.PasswordHasher{Memory: 64, Time: 1, Threads: 1}

// testKEK is shared by every process of one test so that they can open
// each other's sealed signing keys, as a real deployment must.
const testKEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// backend is a database the end-to-end suite runs against.
type backend struct {
	name string
	dsn  func(t *testing.T) string // "" means the default SQLite file
}

// backends returns SQLite and PostgreSQL. Without AUDIAN_TEST_POSTGRES_DSN
// (CI sets it) each PostgreSQL subtest skips with a SKIP line of its own,
// so a run that did not test PostgreSQL says so test by test.
func backends(*testing.T) []backend {
	return []backend{{"sqlite", func(*testing.T) string { return "" }}, {"postgres", freshPostgres}}
}

// freshPostgres creates a database for this test and drops it afterwards,
// so that runs never see each other's rows. It skips t when no PostgreSQL
// server is configured.
func freshPostgres(t *testing.T) string {
	t.Helper()
	skipWithoutPostgres(t)
	base := os.Getenv("AUDIAN_TEST_POSTGRES_DSN")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", config.RedactDSN(base), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "audian_e2e_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect for cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// skipWithoutPostgres skips t, visibly, when AUDIAN_TEST_POSTGRES_DSN is
// not set.
func skipWithoutPostgres(t *testing.T) {
	t.Helper()
	if os.Getenv("AUDIAN_TEST_POSTGRES_DSN") == "" {
		t.Skip("AUDIAN_TEST_POSTGRES_DSN not set: skipping the PostgreSQL backend (see README, Tests)")
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

// Advance moves the clock d past the real time.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = time.Now().Add(d)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one running audian process.
type node struct {
	t       *testing.T
	m       *Main
	url     string
	client  *http.Client
	logs    *syncBuffer
	stdout  *syncBuffer
	clock   *clock
	secrets *secrets
	hasher  *countingHasher // counts argon2id evaluations (userauth_test.go)
}

// secrets collects every secret a test handles, so that the end of the
// test can prove none of them reached a log.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	s.list = append(s.list, v)
	s.mu.Unlock()
}

// startNode runs audian serve on dataDir with database dsn. Nodes of one
// test may share a database (and the secrets list).
func startNode(t *testing.T, dataDir, dsn string, sec *secrets, edit ...func(*config.Config)) *node {
	t.Helper()
	return startNodeHasher(t, dataDir, dsn, sec, cheapHasher, edit...)
}

// startNodeHasher is startNode with the given password hasher parameters.
func startNodeHasher(t *testing.T, dataDir, dsn string, sec *secrets, hasher credential.PasswordHasher, edit ...func(*config.Config)) *node {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Listen = "127.0.0.1:0"
	cfg.MetricsListen = "127.0.0.1:0"
	cfg.Database = dsn
	cfg.KEK = testKEK
	cfg.FeedInterval = 50 * time.Millisecond
	for _, e := range edit {
		e(&cfg)
	}
	n := &node{t: t, logs: &syncBuffer{}, stdout: &syncBuffer{}, clock: &clock{}, secrets: sec}
	n.hasher = &countingHasher{PasswordHasher: hasher}
	n.m = &Main{Config: cfg, Stdout: n.stdout, Stderr: n.logs, Hasher: n.hasher, Now: n.clock.Now}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.m.Open(ctx); err != nil {
		cancel()
		n.m.Close()
		t.Fatalf("open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		n.m.Close()
		n.assertNoSecretsLogged()
	})
	n.url = n.m.URL()
	tr := &http.Transport{}
	if n.m.Server.TLS() {
		pem, err := os.ReadFile(filepath.Join(dataDir, "tls", "cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	n.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	if b := n.m.Bootstrapped; b != nil {
		sec.add(b.Password.Reveal())
		sec.add(b.APIKey.Reveal())
	}
	return n
}

// assertNoSecretsLogged fails the test when any secret it handled appears
// in the process's log stream.
func (n *node) assertNoSecretsLogged() {
	logs := n.logs.String()
	if logs == "" {
		n.t.Error("the log stream is empty: the secret check would prove nothing")
	}
	n.secrets.mu.Lock()
	defer n.secrets.mu.Unlock()
	for _, s := range n.secrets.list {
		if strings.Contains(logs, s) {
			n.t.Errorf("a secret (%.6s...) appears in the log stream", s)
		}
		if len(s) > 40 && strings.Contains(logs, s[len(s)-40:]) {
			n.t.Errorf("part of a secret (%.6s...) appears in the log stream", s)
		}
	}
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// data returns body.data as an object.
func (r *response) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

// do sends a request and checks what every /v2 reply must satisfy.
func (n *node) do(method, path, token string, body any, headers ...string) *response {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				n.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, n.url+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := n.client.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.HasPrefix(path, "/v2/") && method != http.MethodOptions && res.Header.Get("Content-Disposition") != "" {
		// A file (a whitelabel logo, an app icon) is not an envelope; it
		// must never be something a browser would run.
		checkFileReply(n.t, method+" "+path, res.Header)
	} else if strings.HasPrefix(path, "/v2/") && method != http.MethodOptions {
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			n.t.Errorf("%s %s: Content-Type %q, want exactly application/json", method, path, ct)
		}
		if err := json.Unmarshal(raw, &r.body); err != nil {
			n.t.Fatalf("%s %s: reply is not a JSON object: %v\n%s", method, path, err, raw)
		}
		if res.Header.Get("X-Request-ID") == "" {
			n.t.Errorf("%s %s: no X-Request-ID header", method, path)
		}
		if res.Header.Get("Strict-Transport-Security") == "" && n.m.Server.TLS() {
			n.t.Errorf("%s %s: no Strict-Transport-Security header", method, path)
		}
	}
	if tok, ok := r.body["auth_token"].(string); ok {
		n.secrets.add(tok)
	}
	if d := r.data(); d != nil {
		if k, ok := d["api_key"].(string); ok {
			n.secrets.add(k)
		}
	}
	if carriesCredential(r) && !noStore(res.Header) {
		n.t.Errorf("%s %s: a reply with a token or a secret has Cache-Control %q, want no-store", method, path, res.Header.Get("Cache-Control"))
	}
	return r
}

// login exchanges an API key for a token.
func (n *node) login(apiKey string) string {
	n.t.Helper()
	r := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": apiKey}})
	if r.status != http.StatusCreated {
		n.t.Fatalf("api_auth: status %d, want 201\n%s", r.status, r.raw)
	}
	return r.body["auth_token"].(string)
}

// expectError checks a Crossbar error reply.
func expectError(t *testing.T, r *response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.raw)
	}
	want := map[string]any{"error": http.StatusText(status), "message": message, "status": "error"}
	want["error"] = itoa(status)
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("body %q = %v, want %v\n%s", k, r.body[k], v, r.raw)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// adminClaims are the claims of an API-key token of account.
func adminClaims(account string) identity.Claims {
	return identity.Claims{AccountID: account, Method: identity.MethodAPIAuth, PrivLevel: identity.RoleAdmin}
}

// carriesCredential reports whether a reply holds a token or a secret.
func carriesCredential(r *response) bool {
	if tok, _ := r.body["auth_token"].(string); tok != "" {
		return true
	}
	d := r.data()
	for _, k := range []string{"api_key", "access_token"} {
		if v, _ := d[k].(string); v != "" {
			return true
		}
	}
	return false
}

// noStore reports whether h forbids caching the reply.
func noStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}
