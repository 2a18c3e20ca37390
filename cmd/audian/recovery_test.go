package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/audian/audian/internal/config"
)

// TestRecoveryOutbox: a reset id goes to the 0600 outbox file in the data
// directory, works once, and never reaches the log stream; recovery
// requests are throttled per address and per user.
func TestRecoveryOutbox(t *testing.T) {
	forEachBackendWith(t, behindProxy, func(t *testing.T, n *node) {
		f := newLoginFixture(t, n)
		ask := map[string]any{"username": "bob", "account_name": f.accountName}
		_, tok := n.requestReset(t, ask, f.bob)
		st, err := os.Stat(n.m.Config.ResetOutbox)
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("outbox mode %o, want 600", mode)
		}
		if !strings.HasPrefix(n.m.Config.ResetOutbox, n.m.Config.DataDir) {
			t.Errorf("outbox %s is not in the data directory", n.m.Config.ResetOutbox)
		}
		if strings.Contains(n.logs.String(), tok) {
			t.Error("the reset id reached the log stream")
		}
		r := n.do("POST", "/v2/user_auth/recovery", "", map[string]any{"data": map[string]any{"reset_id": tok, "password": "outbox password 1"}})
		n.secrets.add("outbox password 1")
		if r.status != http.StatusOK {
			t.Fatalf("the outbox's reset id: %d %s", r.status, r.raw)
		}

		// Per address and user: a sixth request within the hour waits.
		recover := func(user, ip string) *response {
			return n.do("PUT", "/v2/user_auth/recovery", "", map[string]any{"data": map[string]any{"username": user, "account_name": f.accountName}}, from(ip)...)
		}
		var last *response
		for range 6 {
			last = recover("alice@example.com", "198.51.100.90")
		}
		expectError(t, last, http.StatusTooManyRequests, "too many requests")
		if s, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", last.header.Get("Retry-After"))
		}
		if r := recover("someone-else", "198.51.100.90"); r.status != http.StatusCreated {
			t.Errorf("another user from the same address: %d, want 201", r.status)
		}
		// Per user, over many addresses: the user's mailbox is not flooded.
		refused := 0
		for i := range 15 {
			if r := recover("nobody-in-particular", fmt.Sprintf("192.0.2.%d", i+1)); r.status == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused == 0 {
			t.Error("15 recovery requests for one user from 15 addresses were never refused")
		}
	})
}

// smtpSink is a tiny SMTP server that keeps what it is sent.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	mail []string
	wg   sync.WaitGroup
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), strings.HasPrefix(cmd, "RSET"), strings.HasPrefix(cmd, "NOOP"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.mail = append(s.mail, b.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mail...)
}

// TestRecoverySMTP: with an SMTP server set, the reset id is mailed to the
// user's address, and neither the log stream nor an outbox holds it.
func TestRecoverySMTP(t *testing.T) {
	sink := newSMTPSink(t)
	withSMTP := func(c *config.Config) {
		c.SMTPAddr = sink.ln.Addr().String()
		c.SMTPFrom = "audian@example.com"
	}
	forEachBackendWith(t, withSMTP, func(t *testing.T, n *node) {
		f := newLoginFixture(t, n)
		had := len(sink.messages())
		r, _ := n.requestReset(t, map[string]any{"username": "bob", "account_name": f.accountName}, "")
		if r.status != http.StatusCreated {
			t.Fatalf("recovery: %d %s", r.status, r.raw)
		}
		msgs := sink.messages()
		if len(msgs) != had+1 {
			t.Fatalf("%d messages mailed, want 1", len(msgs)-had)
		}
		mail := msgs[len(msgs)-1]
		if !strings.Contains(mail, "To: bob@example.com") {
			t.Errorf("mail not addressed to the user:\n%s", mail)
		}
		_, id, ok := strings.Cut(mail, "Reset id: ")
		if !ok || len(id) < 64 {
			t.Fatalf("no reset id in the mail:\n%s", mail)
		}
		id = id[:64]
		n.secrets.add(id)
		if strings.Contains(n.logs.String(), id) {
			t.Error("the reset id reached the log stream")
		}
		if _, err := os.Stat(n.m.Config.ResetOutbox); err == nil {
			t.Error("an outbox file was written although SMTP is set")
		}
		res := n.do("POST", "/v2/user_auth/recovery", "", map[string]any{"data": map[string]any{"reset_id": id}})
		if res.status != http.StatusOK {
			t.Errorf("the mailed reset id: %d %s", res.status, res.raw)
		}
	})
}
