package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/sqlite"
)

// TestLoginAuditSurvivesKill: a real audian process (this test binary run
// again as the server) answers api_auth logins from many clients at once;
// it is killed with SIGKILL mid-stream; every login it acknowledged with a
// 201 must have its audit entry when the database is opened again. The
// audit entries are written by group commit, so this is the proof that no
// login is answered before its entry is committed.
func TestLoginAuditSurvivesKill(t *testing.T) {
	if dir := os.Getenv("AUDIAN_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a server process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoginAuditSurvivesKill$")
	cmd.Env = append(os.Environ(), "AUDIAN_KILL_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var url, key, account string
	sc := bufio.NewScanner(out)
	for (url == "" || key == "" || account == "") && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			switch f[0] {
			case "url":
				url = f[1]
			case "api_key":
				key = f[1]
			case "account_id":
				account = f[1]
			}
		}
	}
	if url == "" || key == "" || account == "" {
		t.Fatal("the server process did not report its URL and credentials")
	}
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("kill-%d-%d", g, i)
				req, _ := http.NewRequest("PUT", url+"/v2/api_auth", strings.NewReader(`{"data":{"api_key":"`+key+`"}}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Request-ID", id)
				res, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL, while logins are in flight
	close(stop)
	wg.Wait()
	cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("no login was acknowledged")
	}

	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "audian.db"))
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer db.Close()
	stored := map[string]bool{}
	p := identity.Page{Size: identity.MaxPageSize}
	for {
		items, next, err := db.Audit(t.Context(), account, identity.AuditFilter{Action: "api_auth"}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range items {
			stored[e.RequestID] = true
		}
		if next == "" {
			break
		}
		p.After = next
	}
	missing := 0
	for id := range acked {
		if !stored[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged logins have no audit entry after SIGKILL", missing, len(acked))
	}
	t.Logf("%d acknowledged logins, all audited (%d api_auth entries in all)", len(acked), len(stored))
}

// killChild serves audian on dir until it is killed, after printing its
// URL and bootstrap credentials.
func killChild(dir string) {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.MetricsListen = ""
	cfg.KEK = testKEK
	cfg.RateCost = 0
	h := cheapHasher
	m := &Main{Config: cfg, Stdout: io.Discard, Stderr: io.Discard, Hasher: &h}
	if err := m.Open(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("url %s\napi_key %s\naccount_id %s\n", m.URL(), m.Bootstrapped.APIKey.Reveal(), m.Bootstrapped.AccountID)
	m.Run(context.Background())
	os.Exit(0)
}
