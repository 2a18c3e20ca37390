package identitytest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// webSessionTests cover the portal's server-side sessions: lookup by hash
// only, touch, single-use deletes, ending all of a user's sessions, and
// sessions going with their user.
var webSessionTests = []subtest{
	{"CreateAndGet", testWebSessionCreate},
	{"Invalid", testWebSessionInvalid},
	{"Touch", testWebSessionTouch},
	{"DeleteExactlyOnce", testWebSessionDeleteOnce},
	{"DeleteUserSessions", testWebSessionDeleteUser},
	{"GoneWithUser", testWebSessionGoneWithUser},
	{"Prune", testWebSessionPrune},
	{"NoEvent", testWebSessionQuiet},
}

// newWebSession returns a session of u ending in ttl, with a fresh id and
// a hash holding a NUL byte, which must survive the round trip.
func newWebSession(u *identity.User, ttl time.Duration) *identity.WebSession {
	h := sha256.Sum256([]byte(identity.NewID()))
	h[3] = 0
	return &identity.WebSession{
		ID: identity.NewID(), Hash: h[:], AccountID: u.AccountID, UserID: u.ID,
		ExpiresAt: time.Now().Add(ttl), ClientIP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux) \"é\" ✓",
	}
}

func createWebSession(t *testing.T, s identity.Store, u *identity.User, ttl time.Duration) *identity.WebSession {
	t.Helper()
	ws := newWebSession(u, ttl)
	must(t, "CreateWebSession", s.CreateWebSession(t.Context(), ws))
	return ws
}

func testWebSessionCreate(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "sessions")
	u := createUser(t, s, a, "alice")
	ws := newWebSession(u, time.Hour)
	ws.ExpiresAt = oddTime
	before := time.Now().Add(-time.Second)
	must(t, "CreateWebSession", s.CreateWebSession(ctx, ws))
	if ws.Created.Before(before) || !ws.LastSeen.Equal(ws.Created) {
		t.Errorf("Created = %v, LastSeen = %v; want now and equal", ws.Created, ws.LastSeen)
	}
	checkUTC(t, "CreateWebSession", ws.Created, ws.LastSeen, ws.ExpiresAt)
	got, err := s.WebSessionByHash(ctx, ws.Hash)
	must(t, "WebSessionByHash", err)
	if d := diff(ws, got); d != "" {
		t.Errorf("WebSessionByHash (-want +got):\n%s", d)
	}
	checkUTC(t, "WebSessionByHash", got.Created, got.LastSeen, got.ExpiresAt)

	// Lookups by anything but the exact hash find nothing.
	for name, h := range map[string][]byte{"Empty": nil, "Prefix": ws.Hash[:16], "Other": sha256.New().Sum(nil)} {
		_, err := s.WebSessionByHash(ctx, h)
		wantErr(t, "WebSessionByHash "+name, err, identity.ErrNotFound)
	}
	// A duplicate hash or id conflicts.
	dup := newWebSession(u, time.Hour)
	dup.Hash = ws.Hash
	if err := s.CreateWebSession(ctx, dup); identity.ErrorCode(err) != identity.EConflict {
		t.Errorf("CreateWebSession with a taken hash: err = %v, want EConflict", err)
	}
	dup = newWebSession(u, time.Hour)
	dup.ID = ws.ID
	if err := s.CreateWebSession(ctx, dup); identity.ErrorCode(err) != identity.EConflict {
		t.Errorf("CreateWebSession with a taken id: err = %v, want EConflict", err)
	}
	// A user of another account, or no user, is not found.
	other := createAccount(t, s, nil, "elsewhere")
	wrong := newWebSession(u, time.Hour)
	wrong.AccountID = other.ID
	wantErr(t, "CreateWebSession in the wrong account", s.CreateWebSession(ctx, wrong), identity.ErrNotFound)
	wrong = newWebSession(u, time.Hour)
	wrong.UserID = identity.NewID()
	wantErr(t, "CreateWebSession for no user", s.CreateWebSession(ctx, wrong), identity.ErrNotFound)

	list, err := s.WebSessions(ctx, a.ID, u.ID)
	must(t, "WebSessions", err)
	if len(list) != 1 || list[0].ID != ws.ID {
		t.Errorf("WebSessions = %d sessions, want only %s", len(list), ws.ID)
	}
}

func testWebSessionInvalid(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "invalid sessions")
	u := createUser(t, s, a, "bob")
	long := make([]byte, identity.MaxWebSessionUserAgent+1)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name string
		edit func(*identity.WebSession)
	}{
		{"NULInUserAgent", func(ws *identity.WebSession) { ws.UserAgent = "curl\x00/8" }},
		{"NULInClientIP", func(ws *identity.WebSession) { ws.ClientIP = "10.0.0.1\x00" }},
		{"LongUserAgent", func(ws *identity.WebSession) { ws.UserAgent = string(long) }},
		{"NoHash", func(ws *identity.WebSession) { ws.Hash = nil }},
		{"BadID", func(ws *identity.WebSession) { ws.ID = "x" }},
		{"NoExpiry", func(ws *identity.WebSession) { ws.ExpiresAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWebSession(u, time.Hour)
			tt.edit(ws)
			if err := s.CreateWebSession(t.Context(), ws); identity.ErrorCode(err) != identity.EInvalid {
				t.Errorf("CreateWebSession: err = %v, want EInvalid", err)
			}
		})
	}
	list, err := s.WebSessions(t.Context(), a.ID, u.ID)
	must(t, "WebSessions", err)
	if len(list) != 0 {
		t.Errorf("invalid sessions were stored: %d", len(list))
	}
}

func testWebSessionTouch(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "touch")
	u := createUser(t, s, a, "carol")
	ws := createWebSession(t, s, u, time.Hour)
	later := ws.LastSeen.Add(10 * time.Minute)
	must(t, "TouchWebSession", s.TouchWebSession(ctx, ws.Hash, later))
	// An earlier touch, arriving late from another node, does not move it back.
	must(t, "TouchWebSession earlier", s.TouchWebSession(ctx, ws.Hash, later.Add(-5*time.Minute)))
	got, err := s.WebSessionByHash(ctx, ws.Hash)
	must(t, "WebSessionByHash", err)
	if !sameMS(got.LastSeen, later) {
		t.Errorf("LastSeen = %v, want %v", got.LastSeen, later)
	}
	if !sameMS(got.Created, ws.Created) || !sameMS(got.ExpiresAt, ws.ExpiresAt) {
		t.Errorf("touch changed Created or ExpiresAt: %+v", got)
	}
	wantErr(t, "TouchWebSession unknown", s.TouchWebSession(ctx, sha256.New().Sum(nil), later), identity.ErrNotFound)
	wantErr(t, "TouchWebSession empty", s.TouchWebSession(ctx, nil, later), identity.ErrNotFound)

	if !got.Active(later.Add(time.Minute), 30*time.Minute) {
		t.Error("Active soon after a touch = false")
	}
	if got.Active(later.Add(31*time.Minute), 30*time.Minute) {
		t.Error("Active after the idle timeout = true")
	}
	if got.Active(got.ExpiresAt, 0) {
		t.Error("Active at ExpiresAt = true")
	}
}

func testWebSessionDeleteOnce(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "sign out")
	u := createUser(t, s, a, "dave")
	ws := createWebSession(t, s, u, time.Hour)
	other := createWebSession(t, s, u, time.Hour)
	// Another user's id pair never deletes it.
	v := createUser(t, s, a, "eve")
	wantErr(t, "DeleteWebSession as another user", s.DeleteWebSession(t.Context(), a.ID, v.ID, ws.ID), identity.ErrNotFound)
	exactlyOnce(t, func(ctx context.Context) error { return s.DeleteWebSession(ctx, a.ID, u.ID, ws.ID) })
	_, err := s.WebSessionByHash(t.Context(), ws.Hash)
	wantErr(t, "WebSessionByHash after delete", err, identity.ErrNotFound)
	if _, err := s.WebSessionByHash(t.Context(), other.Hash); err != nil {
		t.Errorf("the user's other session went too: %v", err)
	}
}

func testWebSessionDeleteUser(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "everywhere")
	u := createUser(t, s, a, "frank")
	v := createUser(t, s, a, "grace")
	keep := createWebSession(t, s, u, time.Hour)
	for range 3 {
		createWebSession(t, s, u, time.Hour)
	}
	theirs := createWebSession(t, s, v, time.Hour)
	n, err := s.DeleteUserWebSessions(ctx, a.ID, u.ID, keep.ID)
	must(t, "DeleteUserWebSessions", err)
	if n != 3 {
		t.Errorf("DeleteUserWebSessions removed %d, want 3", n)
	}
	list, err := s.WebSessions(ctx, a.ID, u.ID)
	must(t, "WebSessions", err)
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("after DeleteUserWebSessions, %d sessions left, want only the kept one", len(list))
	}
	n, err = s.DeleteUserWebSessions(ctx, a.ID, u.ID, "")
	must(t, "DeleteUserWebSessions all", err)
	if n != 1 {
		t.Errorf("DeleteUserWebSessions all removed %d, want 1", n)
	}
	if _, err := s.WebSessionByHash(ctx, theirs.Hash); err != nil {
		t.Errorf("another user's session went too: %v", err)
	}
}

func testWebSessionGoneWithUser(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "leaving")
	u := createUser(t, s, a, "heidi")
	ws := createWebSession(t, s, u, time.Hour)
	must(t, "DeleteUser", s.DeleteUser(ctx, a.ID, u.ID))
	_, err := s.WebSessionByHash(ctx, ws.Hash)
	wantErr(t, "WebSessionByHash after DeleteUser", err, identity.ErrNotFound)
}

func testWebSessionPrune(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "prune")
	u := createUser(t, s, a, "ivan")
	old := createWebSession(t, s, u, time.Minute)
	fresh := createWebSession(t, s, u, 48*time.Hour)
	n, err := s.PruneWebSessions(ctx, time.Now().Add(time.Hour))
	must(t, "PruneWebSessions", err)
	if n != 1 {
		t.Errorf("PruneWebSessions = %d, want 1", n)
	}
	_, err = s.WebSessionByHash(ctx, old.Hash)
	wantErr(t, "WebSessionByHash of a pruned session", err, identity.ErrNotFound)
	if _, err := s.WebSessionByHash(ctx, fresh.Hash); err != nil {
		t.Errorf("PruneWebSessions removed a live session: %v", err)
	}
}

func testWebSessionQuiet(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "quiet")
	u := createUser(t, s, a, "judy")
	seq := lastSeq(t, s)
	ws := createWebSession(t, s, u, time.Hour)
	must(t, "TouchWebSession", s.TouchWebSession(t.Context(), ws.Hash, time.Now().Add(time.Minute)))
	must(t, "DeleteWebSession", s.DeleteWebSession(t.Context(), a.ID, u.ID, ws.ID))
	if evs := eventsAfter(t, s, seq); len(evs) != 0 {
		t.Errorf("session writes appended %d events, want none", len(evs))
	}
}
