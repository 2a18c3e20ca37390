package token

import (
	"errors"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// derive returns the claims a refresh or an access token is issued from:
// those of parent, with its session.
func derive(parent identity.Claims, capAtParent bool) identity.Claims {
	c := parent
	c.ID, c.IssuedAt = "", 0
	c.ExpiresAt = 0
	if capAtParent {
		c.ExpiresAt = parent.ExpiresAt
	}
	return c
}

func TestSessionCarriedAndBounded(t *testing.T) {
	f := newFixture(t)
	_, login := f.issue(t, userClaims())
	if login.SessionID != login.ID || login.AuthTime != f.clock.Now().Unix() {
		t.Fatalf("login: sid %q auth_time %d; want its own jti and now", login.SessionID, login.AuthTime)
	}

	f.clock.Add(30 * time.Minute)
	_, refreshed := f.issue(t, derive(login, false))
	if refreshed.SessionID != login.ID || refreshed.AuthTime != login.AuthTime {
		t.Errorf("refresh: sid %q auth_time %d; want the login's", refreshed.SessionID, refreshed.AuthTime)
	}
	if refreshed.ExpiresAt <= login.ExpiresAt {
		t.Errorf("refresh expires at %d, not after its parent's %d", refreshed.ExpiresAt, login.ExpiresAt)
	}

	// An access token asked for 24h from a parent with 30 min left.
	raw, access, err := f.s.Issue(derive(login, true), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if access.ExpiresAt != login.ExpiresAt {
		t.Errorf("access token expires at %d, want its parent's %d", access.ExpiresAt, login.ExpiresAt)
	}
	if got, err := f.s.Verify(raw); err != nil || got.ExpiresAt != login.ExpiresAt {
		t.Errorf("Verify of the clamped token: %v, %v", got, err)
	}

	// Refreshing forever stops at the session's end.
	cur := refreshed
	end := login.AuthTime + int64(MaxLifetime/time.Second)
	for range 100 {
		f.clock.Add(50 * time.Minute)
		_, next, err := f.s.Issue(derive(cur, false), 0)
		if errors.Is(err, ErrSessionOver) {
			if f.clock.Now().Unix() < end {
				t.Fatalf("session over at %d, before its end %d", f.clock.Now().Unix(), end)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if next.ExpiresAt > end {
			t.Fatalf("refreshed token expires at %d, past the session end %d", next.ExpiresAt, end)
		}
		cur = next
	}
	t.Fatal("refreshing never ended")
}

func TestSessionLifetimeSetting(t *testing.T) {
	f := newFixture(t)
	s, err := New(t.Context(), f.st, testSealer, Config{Now: f.clock.Now, SessionLifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, login, _ := s.Issue(userClaims(), 0)
	f.clock.Add(90 * time.Minute)
	_, r, err := s.Issue(derive(login, false), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := login.AuthTime + 7200; r.ExpiresAt != want {
		t.Errorf("refresh expires at %d, want the session end %d", r.ExpiresAt, want)
	}
	f.clock.Add(31 * time.Minute)
	if _, _, err := s.Issue(derive(r, false), 0); !errors.Is(err, ErrSessionOver) {
		t.Errorf("refresh after the session end: %v, want ErrSessionOver", err)
	}
	for _, bad := range []time.Duration{time.Minute, 25 * time.Hour} {
		if _, err := New(t.Context(), f.st, testSealer, Config{SessionLifetime: bad}); err == nil {
			t.Errorf("New accepted a session lifetime of %s", bad)
		}
	}
}

// TestSessionRevocation: revoking a session (the event crossbar writes on
// DELETE /v2/token_auth) refuses every token of it, cached or not, and
// nothing else.
func TestSessionRevocation(t *testing.T) {
	f := newFixture(t)
	loginRaw, login := f.issue(t, userClaims())
	refRaw, ref := f.issue(t, derive(login, false))
	accRaw, _, err := f.s.Issue(derive(ref, true), 0)
	if err != nil {
		t.Fatal(err)
	}
	otherRaw, _ := f.issue(t, userClaims())
	for _, raw := range []string{loginRaw, refRaw, accRaw, otherRaw} {
		if _, err := f.s.Verify(raw); err != nil {
			t.Fatal(err)
		}
	}
	// Revoking by the refreshed token's session: the login's jti.
	f.s.Apply(identity.Event{Kind: identity.EventToken, ID: ref.SessionID, Expires: f.s.SessionEnd(time.Unix(ref.AuthTime, 0))})
	for name, raw := range map[string]string{"login": loginRaw, "refreshed": refRaw, "access token": accRaw} {
		if _, err := f.s.Verify(raw); !errors.Is(err, identity.ErrTokenRevoked) {
			t.Errorf("%s after its session was revoked: %v, want ErrTokenRevoked", name, err)
		}
		// And on a node that never cached it.
		other := newFixtureOn(t, f)
		other.s.Apply(identity.Event{Kind: identity.EventToken, ID: ref.SessionID, Expires: f.s.SessionEnd(time.Unix(ref.AuthTime, 0))})
		if _, err := other.s.Verify(raw); !errors.Is(err, identity.ErrTokenRevoked) {
			t.Errorf("%s, uncached, after its session was revoked: %v", name, err)
		}
	}
	if _, err := f.s.Verify(otherRaw); err != nil {
		t.Errorf("another session's token: %v", err)
	}
}

// TestLegacyTokenIsItsOwnSession: a token minted before sessions existed
// (no sid) verifies, reports its jti as its session, and is revoked by it.
func TestLegacyTokenIsItsOwnSession(t *testing.T) {
	f := newFixture(t)
	m := f.claimsMap()
	raw := forge(t, map[string]any{"alg": "RS256", "kid": f.kid(), "typ": "JWT"}, m, func(in []byte) []byte {
		sig, _ := signature(RS256, f.privateKey(t, f.kid()), in)
		return sig
	})
	c, err := f.s.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionID != m["jti"] || c.AuthTime != m["iat"] {
		t.Errorf("sid %q auth_time %d; want the jti and iat", c.SessionID, c.AuthTime)
	}
	f.s.Apply(identity.Event{Kind: identity.EventToken, ID: c.SessionID})
	if _, err := f.s.Verify(raw); !errors.Is(err, identity.ErrTokenRevoked) {
		t.Errorf("after revoking its session: %v", err)
	}
}

func newFixtureOn(t *testing.T, f *fixture) *fixture {
	t.Helper()
	s, err := New(t.Context(), f.st, testSealer, f.clock.config())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, st: f.st, clock: f.clock}
}
