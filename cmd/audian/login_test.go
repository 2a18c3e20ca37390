package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// halfClosed sends one request on a fresh TLS connection, half-closes the
// connection (TLS close_notify, then TCP SHUT_WR) as soon as the request
// is written, and reads the reply: what a client does to cancel the
// server's request context while still listening.
func (n *node) halfClosed(method, path string, body any, headers ...string) *response {
	n.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		n.t.Fatal(err)
	}
	tr := n.client.Transport.(*http.Transport)
	conn, err := tls.Dial("tcp", n.m.Server.Addr().String(), tr.TLSClientConfig.Clone())
	if err != nil {
		n.t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
		method, path, n.m.Server.Addr(), len(raw))
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	req += "\r\n" + string(raw)
	if _, err := conn.Write([]byte(req)); err != nil {
		n.t.Fatalf("write: %v", err)
	}
	if err := conn.CloseWrite(); err != nil {
		n.t.Fatalf("half-close: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		n.t.Fatalf("%s %s over a half-closed connection: no reply: %v", method, path, err)
	}
	defer res.Body.Close()
	r := &response{status: res.StatusCode, header: res.Header}
	if err := json.NewDecoder(res.Body).Decode(&r.body); err != nil {
		n.t.Fatalf("%s %s: reply is not JSON: %v", method, path, err)
	}
	if tok, ok := r.body["auth_token"].(string); ok {
		n.secrets.add(tok)
	}
	return r
}

// auditCount counts the entries of the account's audit log with action
// and outcome from the client at ip.
func (n *node) auditCount(t *testing.T, token, account, action, outcome, ip string) int {
	t.Helper()
	r := n.do("GET", "/v2/accounts/"+account+"/audit?paginate=false&action="+url.QueryEscape(action), token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.status, r.raw)
	}
	entries, _ := r.body["data"].([]any)
	count := 0
	for _, it := range entries {
		e := it.(map[string]any)
		if e["outcome"] == outcome && e["client_ip"] == ip {
			count++
		}
	}
	return count
}

// TestLoginHalfClosed: a client that half-closes its connection right
// after sending a login cancels the request's context, yet every guess is
// counted by the guard (429s come) and audited (one row per guess), and
// neither a wrong nor a right password is ever answered with a 5xx.
func TestLoginHalfClosed(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		root := n.login(boot.APIKey.Reveal())
		const password = "half closed but right 9"
		n.secrets.add(password)
		r := n.do("PUT", "/v2/accounts/"+boot.AccountID+"/users", root, map[string]any{"data": map[string]any{
			"username": "hc", "password": password, "first_name": "H", "last_name": "C",
		}})
		if r.status != http.StatusCreated {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		login := func(pw, ip string) *response {
			return n.halfClosed("PUT", "/v2/user_auth", map[string]any{"data": map[string]any{
				"username": "hc", "password": pw, "account_name": "Root",
			}}, "X-Forwarded-For", ip)
		}
		const guesser = "198.51.100.77"
		statuses := map[int]int{}
		for i := range 30 {
			r := login(fmt.Sprintf("wrong guess %02d", i), guesser)
			statuses[r.status]++
			if r.status >= 500 {
				t.Errorf("guess %d: status %d %v", i, r.status, r.body)
			}
		}
		if statuses[http.StatusTooManyRequests] == 0 {
			t.Errorf("30 half-closed wrong guesses from one address: statuses %v, want some 429", statuses)
		}
		if statuses[http.StatusCreated] != 0 {
			t.Errorf("a wrong guess succeeded: %v", statuses)
		}
		if got := n.auditCount(t, root, boot.AccountID, "user_auth", "failure", guesser); got != 30 {
			t.Errorf("%d audited failures for 30 half-closed guesses, want 30", got)
		}
		r = login(password, "203.0.113.77")
		if r.status != http.StatusCreated {
			t.Errorf("the right password over a half-closed connection: %d %v, want 201", r.status, r.body)
		}
		if got := n.auditCount(t, root, boot.AccountID, "user_auth", "success", "203.0.113.77"); got != 1 {
			t.Errorf("%d audited successes over a half-closed connection, want 1", got)
		}
		// api_auth takes the same door.
		key := boot.APIKey.Reveal()
		for i := range 10 {
			guess := key[:len(key)-4] + fmt.Sprint(1000+i)
			if r := n.halfClosed("PUT", "/v2/api_auth", map[string]any{"data": map[string]any{"api_key": guess}}, "X-Forwarded-For", guesser); r.status >= 500 {
				t.Errorf("api_auth guess %d: %d", i, r.status)
			}
		}
		if r := n.halfClosed("PUT", "/v2/api_auth", map[string]any{"data": map[string]any{"api_key": key}}, "X-Forwarded-For", "203.0.113.78"); r.status != http.StatusCreated {
			t.Errorf("the right key over a half-closed connection: %d %v", r.status, r.body)
		}
	})
}

// TestRateLimitRandomAccounts: a client cannot escape its bucket by
// naming a different, unchecked {account_id} in every request: 300
// requests with random account ids from one address meet 429s, and so
// does an IPv6 client rotating through the addresses of its /64.
func TestRateLimitRandomAccounts(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		token := n.login(n.m.Bootstrapped.APIKey.Reveal())
		for _, tt := range []struct {
			name string
			ip   func(i int) string
		}{
			{"one IPv4 address", func(int) string { return "198.51.100.30" }},
			{"one IPv6 /64", func(i int) string { return fmt.Sprintf("2001:db8:30:1:%x::1", i) }},
		} {
			refused := 0
			for i := range 300 {
				var id [16]byte
				_, _ = rand.Read(id[:])
				r := n.do("GET", "/v2/accounts/"+hex.EncodeToString(id[:]), token, nil, from(tt.ip(i))...)
				if r.status == http.StatusTooManyRequests {
					refused++
				}
			}
			if refused == 0 {
				t.Errorf("%s: 300 requests with random account ids, none refused", tt.name)
			}
		}
	})
}

// TestDistributedGuessing: 1,400 wrong passwords against one user, each
// from its own address, meet 429s (the per-identity tier), while the owner
// still signs in from an address they signed in from before, and with an
// API key. Guesses from one IPv6 /64 count as one address.
func TestDistributedGuessing(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		boot := n.m.Bootstrapped
		root := n.login(boot.APIKey.Reveal())
		const password = "the owner's own password 7"
		n.secrets.add(password)
		for _, name := range []string{"target", "six"} {
			r := n.do("PUT", "/v2/accounts/"+boot.AccountID+"/users", root, map[string]any{"data": map[string]any{
				"username": name, "password": password, "first_name": "T", "last_name": "G",
			}})
			if r.status != http.StatusCreated {
				t.Fatalf("create user: %d %s", r.status, r.raw)
			}
		}
		login := func(user, pw, ip string) *response {
			return n.do("PUT", "/v2/user_auth", "", map[string]any{"data": map[string]any{
				"username": user, "password": pw, "account_name": "Root",
			}}, from(ip)...)
		}
		const home = "203.0.113.200"
		if r := login("target", password, home); r.status != http.StatusCreated {
			t.Fatalf("the owner's first login: %d %s", r.status, r.raw)
		}

		const guesses, workers = 1400, 8
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					ip := fmt.Sprintf("10.%d.%d.%d", i/250/250%250, i/250%250, i%250+1)
					r := login("target", fmt.Sprintf("guess %d", i), ip)
					mu.Lock()
					statuses[r.status]++
					mu.Unlock()
				}
			}()
		}
		for i := range guesses {
			next <- i
		}
		close(next)
		wg.Wait()
		if statuses[http.StatusTooManyRequests] == 0 || statuses[http.StatusCreated] != 0 || statuses[http.StatusInternalServerError] != 0 {
			t.Errorf("%d wrong passwords from as many addresses: statuses %v, want 429s and no success", guesses, statuses)
		}
		if r := login("target", password, home); r.status != http.StatusCreated {
			t.Errorf("the owner at a known address during the attack: %d %s, want 201", r.status, r.raw)
		}
		if r := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": boot.APIKey.Reveal()}}, from("203.0.113.201")...); r.status != http.StatusCreated {
			t.Errorf("an API key during the attack: %d %s, want 201", r.status, r.raw)
		}

		// One /64, a new address per guess: the pair tier stops it.
		refused := 0
		for i := range 20 {
			r := login("six", fmt.Sprintf("guess %d", i), fmt.Sprintf("2001:db8:5:5:%x::1", i+1))
			if r.status == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused == 0 {
			t.Error("20 wrong guesses from 20 addresses of one IPv6 /64 were never refused")
		}
		if r := login("six", password, "2001:db8:6:6::1"); r.status != http.StatusCreated {
			t.Errorf("the owner from another /64: %d, want 201", r.status)
		}
	})
}
