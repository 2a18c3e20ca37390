package login

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

func TestRecovery(t *testing.T) {
	for _, tt := range []struct {
		name      string
		wait      time.Duration
		err       error
		wantCode  identity.Code
		wantCount int
	}{
		{"counted and let through", 0, nil, "", 1},
		{"throttled", 90 * time.Second, nil, identity.ETooManyRequests, 0},
		{"guard down: refused", 0, errors.New("db down"), identity.EUnavailable, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			rg := &fakeGuard{wait: tt.wait, err: tt.err}
			f.door.recovery = rg
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the count must not depend on the client staying
			err := f.door.Recovery(ctx, at, "Acme", "", "", "Bob")
			if identity.ErrorCode(err) != tt.wantCode {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode != "" && identity.ErrorRetryAfter(err) < time.Second {
				t.Errorf("RetryAfter %v, want at least 1s", identity.ErrorRetryAfter(err))
			}
			if len(rg.fails) != tt.wantCount {
				t.Errorf("counted %d requests, want %d", len(rg.fails), tt.wantCount)
			}
			if len(f.guard.fails) != 0 {
				t.Error("a recovery request was counted by the login guard")
			}
			if tt.wantCount == 1 {
				want := AddressKey(at.ClientIP) + "|" + RecoveryIdentity("name:"+identity.NormalizeName("Acme"), "bob")
				if rg.fails[0] != want {
					t.Errorf("counted %q, want %q", rg.fails[0], want)
				}
			}
		})
	}
	// Without a recovery guard nothing is throttled.
	f := newFixture(t, Config{})
	if err := f.door.Recovery(context.Background(), at, "Acme", "", "", "bob"); err != nil {
		t.Errorf("no recovery guard: %v", err)
	}
}
