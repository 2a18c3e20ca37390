package identitytest

import (
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newOAuthApp(a *identity.Account) *identity.OAuthApp {
	return &identity.OAuthApp{
		AccountID:       a.ID,
		Name:            "CRM \x00 sync",
		ClientType:      identity.ClientConfidential,
		RedirectURIs:    []string{"https://crm.example.com/cb", "http://127.0.0.1:9000/cb"},
		GrantTypes:      []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		Scopes:          []string{"openid", "users:read"},
		SecretHash:      hashOf(identity.NewID()),
		PrevSecretHash:  hashOf(identity.NewID()),
		PrevSecretUntil: oddTime,
		CreatedBy:       identity.NewID(),
	}
}

func createOAuthApp(t *testing.T, s identity.Store, a *identity.Account) *identity.OAuthApp {
	t.Helper()
	app := newOAuthApp(a)
	must(t, "CreateOAuthApp", s.CreateOAuthApp(t.Context(), app))
	return app
}

// oauthFlow creates an account, a user, an application and a grant.
func oauthFlow(t *testing.T, s identity.Store) (*identity.User, *identity.OAuthApp, *identity.OAuthGrant) {
	t.Helper()
	a := createAccount(t, s, nil, "Root")
	u := createUser(t, s, a, "alice")
	app := createOAuthApp(t, s, a)
	g := &identity.OAuthGrant{AccountID: a.ID, UserID: u.ID, AppID: app.ID, Scopes: []string{"openid"}}
	must(t, "SaveOAuthGrant", s.SaveOAuthGrant(t.Context(), g))
	return u, app, g
}

func newRefresh(g *identity.OAuthGrant, family string) *identity.OAuthRefresh {
	return &identity.OAuthRefresh{
		Hash: hashOf(identity.NewID()), FamilyID: family, GrantID: g.ID, AppID: g.AppID,
		AccountID: g.AccountID, UserID: g.UserID, Scopes: []string{"openid", "offline_access"},
		AuthTime: oddTime.Add(-time.Hour), AccessJTI: identity.NewID(), AccessExpires: time.Now().Add(time.Hour),
		ExpiresAt: time.Now().Add(24 * time.Hour),
	}
}

// hasCutoff reports whether evs hold a revoking event of kind for id.
func hasCutoff(evs []identity.Event, kind identity.EventKind, id string) bool {
	for _, e := range evs {
		if e.Kind == kind && e.ID == id && (!e.Cutoff.IsZero() || kind == identity.EventToken) {
			return true
		}
	}
	return false
}

var oauthTests = []subtest{
	{"AppRoundTrip", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		app := newOAuthApp(a)
		must(t, "CreateOAuthApp", s.CreateOAuthApp(ctx, app))
		checkUTC(t, "CreateOAuthApp", app.Created, app.Modified)
		got, err := s.OAuthApp(ctx, app.ID)
		must(t, "OAuthApp", err)
		if d := diff(app, got); d != "" {
			t.Errorf("OAuthApp (-want +got):\n%s", d)
		}
		upd, err := s.UpdateOAuthApp(ctx, app.ID, func(x *identity.OAuthApp) error {
			x.RedirectURIs = []string{"https://new.example.com/cb"}
			return nil
		})
		must(t, "UpdateOAuthApp", err)
		if upd.Revision == app.Revision {
			t.Error("UpdateOAuthApp kept the revision")
		}
		got, _ = s.OAuthApp(ctx, app.ID)
		if d := diff(upd, got); d != "" {
			t.Errorf("after update (-want +got):\n%s", d)
		}
		sentinel := errors.New("nope")
		_, err = s.UpdateOAuthApp(ctx, app.ID, func(*identity.OAuthApp) error { return sentinel })
		wantErr(t, "UpdateOAuthApp fn error", err, sentinel)
		other := createOAuthApp(t, s, createAccount(t, s, nil, "Other"))
		list, next, err := s.OAuthApps(ctx, a.ID, identity.Page{})
		must(t, "OAuthApps", err)
		if len(list) != 1 || list[0].ID != app.ID || next != "" {
			t.Errorf("OAuthApps = %d items (next %q), want only %s (not %s)", len(list), next, app.ID, other.ID)
		}
		missing := newOAuthApp(&identity.Account{ID: identity.NewID()})
		wantErr(t, "CreateOAuthApp in a missing account", s.CreateOAuthApp(ctx, missing), identity.ErrNotFound)
		_, err = s.OAuthApp(ctx, identity.NewID())
		wantErr(t, "OAuthApp unknown", err, identity.ErrNotFound)
	}},
	{"DeleteAppRevokes", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		u, app, g := oauthFlow(t, s)
		r := newRefresh(g, identity.NewID())
		must(t, "CreateOAuthRefresh", s.CreateOAuthRefresh(ctx, r))
		tk := &identity.OAuthTicket{Kind: identity.TicketAuthRequest, AppID: app.ID, Data: []byte("{}"), ExpiresAt: time.Now().Add(time.Minute)}
		must(t, "CreateOAuthTicket", s.CreateOAuthTicket(ctx, tk))
		before := lastSeq(t, s)
		must(t, "DeleteOAuthApp", s.DeleteOAuthApp(ctx, app.ID))
		wantErr(t, "second DeleteOAuthApp", s.DeleteOAuthApp(ctx, app.ID), identity.ErrNotFound)
		evs := eventsAfter(t, s, before)
		for _, c := range []struct {
			kind identity.EventKind
			id   string
		}{{identity.EventAPIKey, app.ID}, {identity.EventAPIKey, g.ID}, {identity.EventToken, r.AccessJTI}} {
			if !hasCutoff(evs, c.kind, c.id) {
				t.Errorf("DeleteOAuthApp events %+v lack a revocation of %s %s", evs, c.kind, c.id)
			}
		}
		_, err := s.OAuthGrant(ctx, u.ID, app.ID)
		wantErr(t, "grant after app delete", err, identity.ErrNotFound)
		_, err = s.OAuthRefresh(ctx, r.Hash)
		wantErr(t, "refresh after app delete", err, identity.ErrNotFound)
		_, err = s.OAuthTicket(ctx, tk.ID)
		wantErr(t, "ticket after app delete", err, identity.ErrNotFound)
	}},
	{"AccountDeleteRevokesForeignGrants", func(t *testing.T, s identity.Store) {
		// A user of one account authorized an application of another; the
		// application's account is deleted. The user's tokens for it are
		// outside that account's cutoff, so the grant needs its own.
		ctx := t.Context()
		home := createAccount(t, s, nil, "Home")
		u := createUser(t, s, home, "alice")
		vendor := createAccount(t, s, home, "Vendor")
		app := createOAuthApp(t, s, vendor)
		g := &identity.OAuthGrant{AccountID: home.ID, UserID: u.ID, AppID: app.ID, Scopes: []string{"openid"}}
		must(t, "SaveOAuthGrant", s.SaveOAuthGrant(ctx, g))
		before := lastSeq(t, s)
		must(t, "DeleteAccount", s.DeleteAccount(ctx, vendor.ID))
		evs := eventsAfter(t, s, before)
		for _, id := range []string{app.ID, g.ID} {
			if !hasCutoff(evs, identity.EventAPIKey, id) {
				t.Errorf("DeleteAccount events %+v lack a revocation of %s", evs, id)
			}
		}
		_, err := s.OAuthGrant(ctx, u.ID, app.ID)
		wantErr(t, "grant after the app's account was deleted", err, identity.ErrNotFound)
	}},
	{"Grants", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		u, app, g := oauthFlow(t, s)
		again := &identity.OAuthGrant{AccountID: u.AccountID, UserID: u.ID, AppID: app.ID, Scopes: []string{"openid", "users:read"}}
		must(t, "SaveOAuthGrant again", s.SaveOAuthGrant(ctx, again))
		if again.ID != g.ID {
			t.Errorf("a second consent made grant %s, want the same %s", again.ID, g.ID)
		}
		got, err := s.OAuthGrant(ctx, u.ID, app.ID)
		must(t, "OAuthGrant", err)
		if d := diff(again.Scopes, got.Scopes); d != "" {
			t.Errorf("grant scopes (-want +got):\n%s", d)
		}
		list, _, err := s.OAuthGrants(ctx, u.AccountID, u.ID, identity.Page{})
		must(t, "OAuthGrants", err)
		if len(list) != 1 || list[0].ID != g.ID {
			t.Errorf("OAuthGrants = %+v, want %s", list, g.ID)
		}
		stranger := &identity.OAuthGrant{AccountID: u.AccountID, UserID: identity.NewID(), AppID: app.ID}
		wantErr(t, "SaveOAuthGrant unknown user", s.SaveOAuthGrant(ctx, stranger), identity.ErrNotFound)
		noApp := &identity.OAuthGrant{AccountID: u.AccountID, UserID: u.ID, AppID: identity.NewID()}
		wantErr(t, "SaveOAuthGrant unknown app", s.SaveOAuthGrant(ctx, noApp), identity.ErrNotFound)

		r := newRefresh(g, identity.NewID())
		must(t, "CreateOAuthRefresh", s.CreateOAuthRefresh(ctx, r))
		wantErr(t, "DeleteOAuthGrant of another user", s.DeleteOAuthGrant(ctx, u.AccountID, identity.NewID(), g.ID), identity.ErrNotFound)
		before := lastSeq(t, s)
		must(t, "DeleteOAuthGrant", s.DeleteOAuthGrant(ctx, u.AccountID, u.ID, g.ID))
		wantErr(t, "second DeleteOAuthGrant", s.DeleteOAuthGrant(ctx, u.AccountID, u.ID, g.ID), identity.ErrNotFound)
		evs := eventsAfter(t, s, before)
		if !hasCutoff(evs, identity.EventAPIKey, g.ID) || !hasCutoff(evs, identity.EventToken, r.AccessJTI) {
			t.Errorf("DeleteOAuthGrant events %+v lack the grant cutoff or the access token", evs)
		}
		_, err = s.OAuthRefresh(ctx, r.Hash)
		wantErr(t, "refresh after grant delete", err, identity.ErrNotFound)
	}},
	{"GrantGoesWithUser", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		u, app, g := oauthFlow(t, s)
		r := newRefresh(g, identity.NewID())
		must(t, "CreateOAuthRefresh", s.CreateOAuthRefresh(ctx, r))
		must(t, "DeleteUser", s.DeleteUser(ctx, u.AccountID, u.ID))
		_, err := s.OAuthGrant(ctx, u.ID, app.ID)
		wantErr(t, "grant after user delete", err, identity.ErrNotFound)
		_, err = s.OAuthRefresh(ctx, r.Hash)
		wantErr(t, "refresh after user delete", err, identity.ErrNotFound)
	}},
	{"TicketSingleUse", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		_, app, _ := oauthFlow(t, s)
		code := hashOf("code")
		tk := &identity.OAuthTicket{Kind: identity.TicketAuthRequest, AppID: app.ID, Data: []byte("a\x00b"), ExpiresAt: time.Now().Add(time.Minute)}
		must(t, "CreateOAuthTicket", s.CreateOAuthTicket(ctx, tk))
		_, err := s.UpdateOAuthTicket(ctx, tk.ID, func(x *identity.OAuthTicket) error {
			x.CodeHash = code
			return nil
		})
		must(t, "UpdateOAuthTicket", err)
		got, err := s.OAuthTicketByCode(ctx, identity.TicketAuthRequest, code)
		must(t, "OAuthTicketByCode", err)
		if got.ID != tk.ID || string(got.Data) != "a\x00b" {
			t.Errorf("OAuthTicketByCode = %+v, want %s with its data", got, tk.ID)
		}
		_, err = s.OAuthTicketByCode(ctx, identity.TicketDevice, code)
		wantErr(t, "OAuthTicketByCode other kind", err, identity.ErrNotFound)

		// Many callers race to use one code: exactly one wins.
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.UseOAuthTicket(ctx, tk.ID, time.Now())
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, identity.ErrTicketUsed):
				t.Errorf("UseOAuthTicket: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d racing UseOAuthTicket calls won, want 1", wins, n)
		}
		used, err := s.UseOAuthTicket(ctx, tk.ID, time.Now())
		wantErr(t, "UseOAuthTicket again", err, identity.ErrTicketUsed)
		if used == nil || used.UsedAt.IsZero() {
			t.Errorf("a used ticket comes back with UsedAt, got %+v", used)
		}
		// An update cannot clear UsedAt.
		_, err = s.UpdateOAuthTicket(ctx, tk.ID, func(x *identity.OAuthTicket) error {
			x.UsedAt = time.Time{}
			return nil
		})
		must(t, "UpdateOAuthTicket", err)
		_, err = s.UseOAuthTicket(ctx, tk.ID, time.Now())
		wantErr(t, "UseOAuthTicket after update", err, identity.ErrTicketUsed)
		must(t, "DeleteOAuthTicket", s.DeleteOAuthTicket(ctx, tk.ID))
		wantErr(t, "second DeleteOAuthTicket", s.DeleteOAuthTicket(ctx, tk.ID), identity.ErrNotFound)
	}},
	{"TicketExpiry", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		_, app, _ := oauthFlow(t, s)
		tk := &identity.OAuthTicket{Kind: identity.TicketDevice, AppID: app.ID, CodeHash: hashOf("dev"), UserCode: "ABCD-EFGH",
			Data: []byte("{}"), ExpiresAt: time.Now().Add(-time.Second)}
		must(t, "CreateOAuthTicket", s.CreateOAuthTicket(ctx, tk))
		_, err := s.OAuthTicket(ctx, tk.ID)
		wantErr(t, "expired OAuthTicket", err, identity.ErrNotFound)
		_, err = s.OAuthTicketByUserCode(ctx, "ABCD-EFGH")
		wantErr(t, "expired OAuthTicketByUserCode", err, identity.ErrNotFound)
		_, err = s.UseOAuthTicket(ctx, tk.ID, time.Now())
		wantErr(t, "UseOAuthTicket expired", err, identity.ErrNotFound)
		// Creating another ticket prunes the expired one, which frees its
		// user code.
		fresh := &identity.OAuthTicket{Kind: identity.TicketDevice, AppID: app.ID, CodeHash: hashOf("dev2"), UserCode: "ABCD-EFGH",
			Data: []byte("{}"), ExpiresAt: time.Now().Add(time.Minute)}
		must(t, "CreateOAuthTicket reusing a stale user code", s.CreateOAuthTicket(ctx, fresh))
		got, err := s.OAuthTicketByUserCode(ctx, "ABCD-EFGH")
		must(t, "OAuthTicketByUserCode", err)
		if got.ID != fresh.ID {
			t.Errorf("OAuthTicketByUserCode = %s, want %s", got.ID, fresh.ID)
		}
		dup := &identity.OAuthTicket{Kind: identity.TicketDevice, AppID: app.ID, CodeHash: hashOf("dev3"), UserCode: "ABCD-EFGH",
			Data: []byte("{}"), ExpiresAt: time.Now().Add(time.Minute)}
		if err := s.CreateOAuthTicket(ctx, dup); identity.ErrorCode(err) != identity.EConflict {
			t.Errorf("CreateOAuthTicket with a user code in use: %v, want conflict", err)
		}
	}},
	{"RefreshRotation", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		_, _, g := oauthFlow(t, s)
		family := identity.NewID()
		r1 := newRefresh(g, family)
		must(t, "CreateOAuthRefresh", s.CreateOAuthRefresh(ctx, r1))
		got, err := s.OAuthRefresh(ctx, r1.Hash)
		must(t, "OAuthRefresh", err)
		if d := diff(r1, got); d != "" {
			t.Errorf("OAuthRefresh (-want +got):\n%s", d)
		}
		r2 := newRefresh(g, "")
		old, err := s.RotateOAuthRefresh(ctx, r1.Hash, r2, time.Now())
		must(t, "RotateOAuthRefresh", err)
		if old.AccessJTI != r1.AccessJTI || r2.FamilyID != family {
			t.Errorf("rotation returned %+v and put the new token in family %q, want %q", old, r2.FamilyID, family)
		}
		// Concurrent reuse of r2: one rotation wins, the others find it
		// used and kill the family.
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.RotateOAuthRefresh(ctx, r2.Hash, newRefresh(g, ""), time.Now())
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, identity.ErrRefreshReused), errors.Is(err, identity.ErrNotFound):
			default:
				t.Errorf("RotateOAuthRefresh: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d racing rotations won, want 1", wins, n)
		}
		for _, h := range [][]byte{r1.Hash, r2.Hash} {
			_, err := s.OAuthRefresh(ctx, h)
			wantErr(t, "refresh of a family revoked by reuse", err, identity.ErrNotFound)
		}
	}},
	{"RefreshReuseRevokes", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		_, _, g := oauthFlow(t, s)
		r1 := newRefresh(g, identity.NewID())
		must(t, "CreateOAuthRefresh", s.CreateOAuthRefresh(ctx, r1))
		r2 := newRefresh(g, "")
		_, err := s.RotateOAuthRefresh(ctx, r1.Hash, r2, time.Now())
		must(t, "RotateOAuthRefresh", err)
		before := lastSeq(t, s)
		_, err = s.RotateOAuthRefresh(ctx, r1.Hash, newRefresh(g, ""), time.Now())
		wantErr(t, "reuse of a rotated token", err, identity.ErrRefreshReused)
		evs := eventsAfter(t, s, before)
		if !hasCutoff(evs, identity.EventToken, r1.AccessJTI) || !hasCutoff(evs, identity.EventToken, r2.AccessJTI) {
			t.Errorf("reuse events %+v do not revoke both access tokens of the family", evs)
		}
		_, err = s.OAuthRefresh(ctx, r2.Hash)
		wantErr(t, "newest token after reuse", err, identity.ErrNotFound)
		// Expired tokens are gone for rotation too.
		r3 := newRefresh(g, identity.NewID())
		r3.ExpiresAt = time.Now().Add(-time.Second)
		must(t, "CreateOAuthRefresh expired", s.CreateOAuthRefresh(ctx, r3))
		_, err = s.RotateOAuthRefresh(ctx, r3.Hash, newRefresh(g, ""), time.Now())
		wantErr(t, "rotate expired", err, identity.ErrNotFound)
		must(t, "RevokeOAuthFamily unknown", s.RevokeOAuthFamily(ctx, identity.NewID()))
	}},
}
