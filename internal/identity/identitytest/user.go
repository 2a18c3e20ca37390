package identitytest

import (
	"context"
	"fmt"
	"testing"

	"github.com/audian/audian/internal/identity"
)

var userTests = []subtest{
	{"RoundTrip", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		u := newUser(a, "alice")
		u.TokensValidAfter = oddTime
		must(t, "CreateUser", s.CreateUser(ctx, u))
		if u.Revision == "" || u.Created.IsZero() || !u.Created.Equal(u.Modified) {
			t.Fatalf("CreateUser did not set Revision/Created/Modified: %+v", u)
		}
		got, err := s.User(ctx, a.ID, u.ID)
		must(t, "User", err)
		if d := diff(u, got); d != "" {
			t.Errorf("User (-want +got):\n%s", d)
		}
		checkUTC(t, "User", got.Created, got.Modified, got.TokensValidAfter)
		if !sameMS(got.TokensValidAfter, oddTime) {
			t.Errorf("TokensValidAfter = %v, want %v", got.TokensValidAfter, oddTime)
		}

		bare := &identity.User{ID: identity.NewID(), AccountID: a.ID, FirstName: "No", LastName: "Login", PrivLevel: identity.RoleUser}
		must(t, "CreateUser without username or credentials", s.CreateUser(ctx, bare))
		got, err = s.User(ctx, a.ID, bare.ID)
		must(t, "User", err)
		if d := diff(bare, got); d != "" {
			t.Errorf("User (-want +got):\n%s", d)
		}
	}},
	{"NotFound", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		u := createUser(t, s, a, "alice")
		id := identity.NewID()
		tests := []struct {
			name string
			call func() error
		}{
			{"User", func() error { _, err := s.User(ctx, a.ID, id); return err }},
			{"UserInOtherAccount", func() error { _, err := s.User(ctx, other.ID, u.ID); return err }},
			{"UserByUsername", func() error { _, err := s.UserByUsername(ctx, a.ID, "bob"); return err }},
			{"UserByUsernameInOtherAccount", func() error { _, err := s.UserByUsername(ctx, other.ID, "alice"); return err }},
			{"UserByUsernameEmpty", func() error { _, err := s.UserByUsername(ctx, a.ID, ""); return err }},
			{"UserByCredentialLookupMD5", func() error { _, err := s.UserByCredentialLookup(ctx, a.ID, "md5", "nope"); return err }},
			{"UserByCredentialLookupOtherAccount", func() error {
				_, err := s.UserByCredentialLookup(ctx, other.ID, "md5", u.Credentials.MD5Lookup)
				return err
			}},
			{"UserByCredentialLookupWrongMethod", func() error {
				_, err := s.UserByCredentialLookup(ctx, a.ID, "sha", u.Credentials.MD5Lookup)
				return err
			}},
			{"UpdateUser", func() error {
				_, err := s.UpdateUser(ctx, a.ID, id, func(*identity.User) error { return nil })
				return err
			}},
			{"UpdateUserInOtherAccount", func() error {
				_, err := s.UpdateUser(ctx, other.ID, u.ID, func(*identity.User) error { return nil })
				return err
			}},
			{"DeleteUser", func() error { return s.DeleteUser(ctx, a.ID, id) }},
			{"DeleteUserInOtherAccount", func() error { return s.DeleteUser(ctx, other.ID, u.ID) }},
			{"CreateUserInMissingAccount", func() error {
				return s.CreateUser(ctx, newUser(&identity.Account{ID: identity.NewID()}, "carol"))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.name, tt.call(), identity.ErrNotFound) })
		}
		if _, err := s.User(ctx, a.ID, u.ID); err != nil {
			t.Errorf("user damaged by calls through another account: %v", err)
		}
	}},
	{"Lookups", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		createUser(t, s, other, "alice")
		u := createUser(t, s, a, "alice")
		createUser(t, s, a, "bob")
		nocreds := &identity.User{ID: identity.NewID(), AccountID: a.ID, FirstName: "No", LastName: "Creds", PrivLevel: identity.RoleUser}
		must(t, "CreateUser", s.CreateUser(ctx, nocreds))

		tests := []struct {
			name string
			get  func() (*identity.User, error)
		}{
			{"UserByUsername", func() (*identity.User, error) { return s.UserByUsername(ctx, a.ID, "alice") }},
			{"MD5", func() (*identity.User, error) {
				return s.UserByCredentialLookup(ctx, a.ID, "md5", u.Credentials.MD5Lookup)
			}},
			{"SHA", func() (*identity.User, error) {
				return s.UserByCredentialLookup(ctx, a.ID, "sha", u.Credentials.SHA1Lookup)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.get()
				must(t, tt.name, err)
				if d := diff(u, got); d != "" {
					t.Errorf("%s (-want +got):\n%s", tt.name, d)
				}
			})
		}
		// A user without md5 or sha credentials must never be found by an
		// empty lookup value.
		for _, method := range []string{"md5", "sha"} {
			_, err := s.UserByCredentialLookup(ctx, a.ID, method, "")
			wantErr(t, "UserByCredentialLookup "+method+" empty", err, identity.ErrNotFound)
		}
		if _, err := s.UserByCredentialLookup(ctx, a.ID, "plain", u.Credentials.MD5Lookup); err == nil {
			t.Errorf("UserByCredentialLookup with an unknown method succeeded")
		}
	}},
	{"UsernameUnique", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		alice := createUser(t, s, a, "alice")
		bob := createUser(t, s, a, "bob")

		before := lastSeq(t, s)
		dup := newUser(a, "alice")
		wantErr(t, "CreateUser duplicate", s.CreateUser(ctx, dup), identity.ErrUsernameTaken)
		_, err := s.User(ctx, a.ID, dup.ID)
		wantErr(t, "User of refused create", err, identity.ErrNotFound)
		if evs := eventsAfter(t, s, before); len(evs) != 0 {
			t.Errorf("refused create appended events %+v", evs)
		}

		must(t, "CreateUser same username in another account", s.CreateUser(ctx, newUser(other, "alice")))

		_, err = s.UpdateUser(ctx, a.ID, bob.ID, func(u *identity.User) error {
			u.Username = "alice"
			return nil
		})
		wantErr(t, "UpdateUser to a taken username", err, identity.ErrUsernameTaken)
		got, err := s.User(ctx, a.ID, bob.ID)
		must(t, "User", err)
		if d := diff(bob, got); d != "" {
			t.Errorf("refused update changed the user (-want +got):\n%s", d)
		}

		_, err = s.UpdateUser(ctx, a.ID, alice.ID, func(u *identity.User) error {
			u.FirstName = "Alice"
			return nil
		})
		must(t, "UpdateUser keeping its own username", err)

		for i := 0; i < 2; i++ {
			u := newUser(a, "")
			u.Credentials = identity.Credentials{}
			must(t, "CreateUser with no username", s.CreateUser(ctx, u))
		}

		must(t, "DeleteUser", s.DeleteUser(ctx, a.ID, alice.ID))
		must(t, "CreateUser reusing a deleted user's username", s.CreateUser(ctx, newUser(a, "alice")))
	}},
	{"Update", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		want := *u
		want.Username = "alice2"
		want.Email = "alice2@example.com"
		want.FirstName, want.LastName = "Alice", "Liddell"
		want.PrivLevel = identity.RoleAdmin
		want.Enabled = false
		want.RequirePasswordUpdate = false
		want.PresenceID = "2002"
		want.Timezone, want.Language = "Asia/Tokyo", "ja-jp"
		want.Extra = map[string]any{"list": []any{float64(1), "two"}}
		want.Credentials = identity.Credentials{Password: "$argon2id$new", MD5Lookup: "m2", MD5Hash: "h2", SHA1Lookup: "s2", SHA1Hash: "h3"}
		want.TokensValidAfter = oddTime
		got, err := s.UpdateUser(ctx, a.ID, u.ID, func(cur *identity.User) error {
			if d := diff(u, cur); d != "" {
				t.Errorf("fn got (-want +got):\n%s", d)
			}
			id, accountID := cur.ID, cur.AccountID
			*cur = want
			cur.ID, cur.AccountID = id, accountID
			return nil
		})
		must(t, "UpdateUser", err)
		if got.Revision == "" || got.Revision == u.Revision {
			t.Errorf("Revision %q after update, was %q: want a new value", got.Revision, u.Revision)
		}
		if !sameMS(got.Created, u.Created) || got.Modified.Before(u.Modified) {
			t.Errorf("Created/Modified %v/%v after update, were %v/%v", got.Created, got.Modified, u.Created, u.Modified)
		}
		want.Revision, want.Modified = got.Revision, got.Modified
		if d := diff(&want, got); d != "" {
			t.Errorf("UpdateUser result (-want +got):\n%s", d)
		}
		read, err := s.User(ctx, a.ID, u.ID)
		must(t, "User", err)
		if d := diff(&want, read); d != "" {
			t.Errorf("User after update (-want +got):\n%s", d)
		}
		read, err = s.UserByCredentialLookup(ctx, a.ID, "md5", "m2")
		must(t, "UserByCredentialLookup after update", err)
		if read.ID != u.ID {
			t.Errorf("UserByCredentialLookup found %s, want %s", read.ID, u.ID)
		}
		_, err = s.UserByUsername(ctx, a.ID, "alice")
		wantErr(t, "UserByUsername of the old username", err, identity.ErrNotFound)
		_, err = s.UserByCredentialLookup(ctx, a.ID, "md5", u.Credentials.MD5Lookup)
		wantErr(t, "UserByCredentialLookup of the old lookup", err, identity.ErrNotFound)
	}},
	{"UpdateErrorAborts", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		before := lastSeq(t, s)
		_, err := s.UpdateUser(ctx, a.ID, u.ID, func(cur *identity.User) error {
			cur.Username = "mallory"
			cur.Credentials.Password = ""
			return errBoom
		})
		if err != errBoom {
			t.Errorf("err = %v, want errBoom returned as is", err)
		}
		got, err := s.User(ctx, a.ID, u.ID)
		must(t, "User", err)
		if d := diff(u, got); d != "" {
			t.Errorf("aborted update changed the user (-want +got):\n%s", d)
		}
		if evs := eventsAfter(t, s, before); len(evs) != 0 {
			t.Errorf("aborted update appended events %+v", evs)
		}
	}},
	{"ConcurrentUpdates", func(t *testing.T, s identity.Store) {
		a := createAccount(t, s, nil, "Root")
		u := newUser(a, "alice")
		u.Extra = map[string]any{"n": float64(0)}
		must(t, "CreateUser", s.CreateUser(t.Context(), u))
		concurrentIncrements(t, func(ctx context.Context) error {
			_, err := s.UpdateUser(ctx, a.ID, u.ID, func(cur *identity.User) error {
				return increment(cur.Extra)
			})
			return err
		})
		got, err := s.User(t.Context(), a.ID, u.ID)
		must(t, "User", err)
		if got.Extra["n"] != float64(updaters) {
			t.Errorf("counter = %v after %d concurrent increments, want %d", got.Extra["n"], updaters, updaters)
		}
	}},
	{"Delete", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		keep := createUser(t, s, a, "bob")
		before := lastSeq(t, s)
		must(t, "DeleteUser", s.DeleteUser(ctx, a.ID, u.ID))
		_, err := s.User(ctx, a.ID, u.ID)
		wantErr(t, "User", err, identity.ErrNotFound)
		_, err = s.UserByUsername(ctx, a.ID, "alice")
		wantErr(t, "UserByUsername", err, identity.ErrNotFound)
		wantErr(t, "second DeleteUser", s.DeleteUser(ctx, a.ID, u.ID), identity.ErrNotFound)
		if _, err := s.User(ctx, a.ID, keep.ID); err != nil {
			t.Errorf("DeleteUser removed another user: %v", err)
		}
		ev := findEvent(eventsAfter(t, s, before), identity.EventUser, u.ID)
		if ev == nil || ev.Cutoff.IsZero() {
			t.Errorf("delete event = %+v, want a user event with a Cutoff", ev)
		}
	}},
	{"DeleteExactlyOnce", func(t *testing.T, s identity.Store) {
		a := createAccount(t, s, nil, "Root")
		u := createUser(t, s, a, "alice")
		exactlyOnce(t, func(ctx context.Context) error { return s.DeleteUser(ctx, a.ID, u.ID) })
	}},
	{"List", func(t *testing.T, s identity.Store) {
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		createUser(t, s, other, "outsider")
		var ids []string
		for i := 0; i < 7; i++ {
			ids = append(ids, createUser(t, s, a, fmt.Sprintf("user%d", i)).ID)
		}
		ids = sortedIDs(ids...)
		list := func(ctx context.Context, p identity.Page) ([]string, string, error) {
			items, next, err := s.Users(ctx, a.ID, p)
			return userIDs(items), next, err
		}
		for _, size := range []int{1, 3, 7, 8} {
			checkPages(t, fmt.Sprintf("Users size %d", size), list, size, ids)
		}
		items, _, err := s.Users(t.Context(), a.ID, identity.Page{})
		must(t, "Users", err)
		for _, u := range items {
			want, err := s.User(t.Context(), a.ID, u.ID)
			must(t, "User", err)
			if d := diff(want, u); d != "" {
				t.Errorf("Users item differs from User (-want +got):\n%s", d)
			}
		}
		empty := createAccount(t, s, nil, "Empty")
		checkPages(t, "Users of an empty account", func(ctx context.Context, p identity.Page) ([]string, string, error) {
			items, next, err := s.Users(ctx, empty.ID, p)
			return userIDs(items), next, err
		}, 5, nil)
	}},
}
