package identitytest

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// loginStore returns s as an identity.LoginStore, failing t when the
// backend does not implement it.
func loginStore(t *testing.T, s identity.Store) identity.LoginStore {
	t.Helper()
	ls, ok := s.(identity.LoginStore)
	if !ok {
		t.Fatalf("%T does not implement identity.LoginStore", s)
	}
	return ls
}

// newReset returns a reset for u expiring in ttl, with a fresh random
// token hash.
func newReset(u *identity.User, ttl time.Duration) *identity.PasswordReset {
	h := sha256.Sum256([]byte(identity.NewID()))
	return &identity.PasswordReset{Hash: h[:], AccountID: u.AccountID, UserID: u.ID, ExpiresAt: time.Now().Add(ttl)}
}

var loginTests = []subtest{
	{"AccountsByName", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Acme Corp")
		createAccount(t, s, nil, "Acme Corporation")
		suffix := strings.TrimPrefix(a.Name, "Acme Corp ")
		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"Exact", a.Name, []string{a.ID}},
			{"CaseAndPunctuation", "ACME-corp." + strings.ToUpper(suffix) + "!", []string{a.ID}},
			{"Spaces", " a c m e c o r p " + suffix, []string{a.ID}},
			{"Prefix", "Acme", nil},
			{"Unknown", "Nobody " + suffix, nil},
			{"Empty", "", nil},
			{"PunctuationOnly", "--- ...", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := ls.AccountsByName(ctx, tt.query)
				must(t, "AccountsByName", err)
				if d := diff(tt.want, accountIDs(got)); d != "" {
					t.Errorf("AccountsByName(%q) ids (-want +got):\n%s", tt.query, d)
				}
			})
		}
		got, err := ls.AccountsByName(ctx, a.Name)
		must(t, "AccountsByName", err)
		if len(got) == 1 {
			if d := diff(a, got[0]); d != "" {
				t.Errorf("AccountsByName account (-want +got):\n%s", d)
			}
		}

		// A renamed account is found by its new name only.
		_, err = s.UpdateAccount(ctx, a.ID, func(acct *identity.Account) error {
			acct.Name = "Renamed " + suffix
			return nil
		})
		must(t, "UpdateAccount", err)
		for query, want := range map[string][]string{a.Name: nil, "renamed" + suffix: {a.ID}} {
			got, err := ls.AccountsByName(ctx, query)
			must(t, "AccountsByName after rename", err)
			if d := diff(want, accountIDs(got)); d != "" {
				t.Errorf("after rename, AccountsByName(%q) ids (-want +got):\n%s", query, d)
			}
		}
	}},
	{"AccountByRealm", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ls := loginStore(t, s)
		a := newAccount(nil, "Realm")
		a.Realm = "Sip." + identity.NewID()[:8] + ".Example.COM"
		must(t, "CreateAccount", s.CreateAccount(ctx, a))
		createAccount(t, s, nil, "Other")
		noRealm := newAccount(nil, "NoRealm")
		noRealm.Realm = ""
		must(t, "CreateAccount without realm", s.CreateAccount(ctx, noRealm))
		for _, q := range []string{a.Realm, strings.ToLower(a.Realm), strings.ToUpper(a.Realm)} {
			got, err := ls.AccountByRealm(ctx, q)
			must(t, "AccountByRealm("+q+")", err)
			if d := diff(a, got); d != "" {
				t.Errorf("AccountByRealm(%q) (-want +got):\n%s", q, d)
			}
		}
		for _, q := range []string{"", "nope.example.com", a.Realm + ".x", a.Realm[1:]} {
			_, err := ls.AccountByRealm(ctx, q)
			wantErr(t, "AccountByRealm("+q+")", err, identity.ErrNotFound)
		}
	}},
	{"ResetRoundTrip", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		before := lastSeq(t, s)
		r := newReset(u, time.Hour)
		r.ExpiresAt = oddTime
		want := *r
		must(t, "CreatePasswordReset", ls.CreatePasswordReset(ctx, r))
		if r.Created.IsZero() {
			t.Error("CreatePasswordReset did not set Created")
		}
		checkUTC(t, "CreatePasswordReset", r.Created, r.ExpiresAt)
		want.Created = r.Created
		got, err := ls.ConsumePasswordReset(ctx, want.Hash, oddTime.Add(-time.Second))
		must(t, "ConsumePasswordReset", err)
		if d := diff(&want, got); d != "" {
			t.Errorf("ConsumePasswordReset (-want +got):\n%s", d)
		}
		checkUTC(t, "ConsumePasswordReset", got.Created, got.ExpiresAt)
		_, err = ls.ConsumePasswordReset(ctx, want.Hash, oddTime.Add(-time.Second))
		wantErr(t, "second ConsumePasswordReset", err, identity.ErrNotFound)
		// Resets are not about tokens, accounts or users: the feed stays
		// quiet.
		if evs := eventsAfter(t, s, before); len(evs) != 0 {
			t.Errorf("reset writes appended events: %+v", evs)
		}
	}},
	{"ResetNotFound", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		u := createUser(t, s, a, "alice")
		tests := []struct {
			name string
			call func() error
		}{
			{"CreateForMissingUser", func() error {
				return ls.CreatePasswordReset(ctx, newReset(&identity.User{ID: identity.NewID(), AccountID: a.ID}, time.Hour))
			}},
			{"CreateForUserOfOtherAccount", func() error {
				r := newReset(u, time.Hour)
				r.AccountID = other.ID
				return ls.CreatePasswordReset(ctx, r)
			}},
			{"ConsumeUnknown", func() error {
				_, err := ls.ConsumePasswordReset(ctx, newReset(u, time.Hour).Hash, time.Now())
				return err
			}},
			{"ConsumeEmpty", func() error { _, err := ls.ConsumePasswordReset(ctx, nil, time.Now()); return err }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.name, tt.call(), identity.ErrNotFound) })
		}
	}},
	{"ResetExpiry", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		tests := []struct {
			name string
			now  time.Time
			ok   bool
		}{
			{"Before", exp.Add(-time.Millisecond), true},
			{"AtExpiry", exp, false},
			{"After", exp.Add(time.Hour), false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newReset(u, 0)
				r.ExpiresAt = exp
				must(t, "CreatePasswordReset", ls.CreatePasswordReset(ctx, r))
				_, err := ls.ConsumePasswordReset(ctx, r.Hash, tt.now)
				if tt.ok {
					must(t, "ConsumePasswordReset", err)
					return
				}
				wantErr(t, "ConsumePasswordReset of an expired reset", err, identity.ErrNotFound)
				// An expired reset is gone, not merely refused: turning the
				// clock back does not revive it.
				_, err = ls.ConsumePasswordReset(ctx, r.Hash, exp.Add(-time.Hour))
				wantErr(t, "ConsumePasswordReset of an expired reset, earlier clock", err, identity.ErrNotFound)
			})
		}
	}},
	{"ResetReplacedAndCascaded", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Root")
		alice := createUser(t, s, a, "alice")
		bob := createUser(t, s, a, "bob")
		first, second, bobs := newReset(alice, time.Hour), newReset(alice, time.Hour), newReset(bob, time.Hour)
		must(t, "CreatePasswordReset first", ls.CreatePasswordReset(ctx, first))
		must(t, "CreatePasswordReset bob", ls.CreatePasswordReset(ctx, bobs))
		must(t, "CreatePasswordReset second", ls.CreatePasswordReset(ctx, second))
		_, err := ls.ConsumePasswordReset(ctx, first.Hash, time.Now())
		wantErr(t, "ConsumePasswordReset of a replaced reset", err, identity.ErrNotFound)
		got, err := ls.ConsumePasswordReset(ctx, second.Hash, time.Now())
		must(t, "ConsumePasswordReset of the newest reset", err)
		if got.UserID != alice.ID || got.AccountID != a.ID {
			t.Errorf("reset belongs to %s/%s, want %s/%s", got.AccountID, got.UserID, a.ID, alice.ID)
		}

		// Deleting a user takes its pending reset with it, and so does
		// deleting its account.
		must(t, "DeleteUser", s.DeleteUser(ctx, a.ID, bob.ID))
		_, err = ls.ConsumePasswordReset(ctx, bobs.Hash, time.Now())
		wantErr(t, "ConsumePasswordReset after DeleteUser", err, identity.ErrNotFound)
		child := createAccount(t, s, a, "Child")
		carol := createUser(t, s, child, "carol")
		carols := newReset(carol, time.Hour)
		must(t, "CreatePasswordReset carol", ls.CreatePasswordReset(ctx, carols))
		must(t, "DeleteAccount", s.DeleteAccount(ctx, child.ID))
		_, err = ls.ConsumePasswordReset(ctx, carols.Hash, time.Now())
		wantErr(t, "ConsumePasswordReset after DeleteAccount", err, identity.ErrNotFound)
	}},
	{"ResetConsumedExactlyOnce", func(t *testing.T, s identity.Store) {
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		r := newReset(u, time.Hour)
		must(t, "CreatePasswordReset", ls.CreatePasswordReset(t.Context(), r))
		exactlyOnce(t, func(ctx context.Context) error {
			got, err := ls.ConsumePasswordReset(ctx, r.Hash, time.Now())
			if err == nil && got.UserID != u.ID {
				return errors.New("consumed a reset of another user")
			}
			return err
		})
	}},
	{"ResetCanceledContext", func(t *testing.T, s identity.Store) {
		ls := loginStore(t, s)
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := ls.CreatePasswordReset(ctx, newReset(u, time.Hour)); !errors.Is(err, context.Canceled) {
			t.Errorf("CreatePasswordReset with a canceled context: err = %v, want context.Canceled", err)
		}
		if _, err := ls.AccountsByName(ctx, a.Name); !errors.Is(err, context.Canceled) {
			t.Errorf("AccountsByName with a canceled context: err = %v, want context.Canceled", err)
		}
	}},
}
