package identitytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

var bootstrapTests = []subtest{
	{"OnceThenErrBootstrapped", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := newAccount(nil, "System")
		a.System = true
		u := newUser(a, "admin")
		u.PrivLevel = identity.RoleAdmin
		k := newKey(a, identity.KeyKindAccount)
		must(t, "Bootstrap", s.Bootstrap(ctx, a, u, k))

		gotA, err := s.Account(ctx, a.ID)
		must(t, "Account", err)
		if d := diff(a, gotA); d != "" {
			t.Errorf("Account (-want +got):\n%s", d)
		}
		if !gotA.System {
			t.Errorf("bootstrap account System = false, want true")
		}
		gotU, err := s.User(ctx, a.ID, u.ID)
		must(t, "User", err)
		if d := diff(u, gotU); d != "" {
			t.Errorf("User (-want +got):\n%s", d)
		}
		gotK, err := s.AccountKey(ctx, a.ID)
		must(t, "AccountKey", err)
		if d := diff(k, gotK); d != "" {
			t.Errorf("AccountKey (-want +got):\n%s", d)
		}

		a2 := newAccount(nil, "Second")
		u2 := newUser(a2, "admin")
		k2 := newKey(a2, identity.KeyKindAccount)
		wantErr(t, "second Bootstrap", s.Bootstrap(ctx, a2, u2, k2), identity.ErrBootstrapped)
		_, err = s.Account(ctx, a2.ID)
		wantErr(t, "Account of failed bootstrap", err, identity.ErrNotFound)
		_, err = s.APIKeyByHash(ctx, k2.Hash)
		wantErr(t, "APIKeyByHash of failed bootstrap", err, identity.ErrNotFound)
	}},
	{"RefusedWhenAnAccountExists", func(t *testing.T, s identity.Store) {
		createAccount(t, s, nil, "Existing")
		a := newAccount(nil, "System")
		a.System = true
		err := s.Bootstrap(t.Context(), a, newUser(a, "admin"), newKey(a, identity.KeyKindAccount))
		wantErr(t, "Bootstrap", err, identity.ErrBootstrapped)
	}},
	{"AppendsEvents", func(t *testing.T, s identity.Store) {
		a := newAccount(nil, "System")
		a.System = true
		u := newUser(a, "admin")
		k := newKey(a, identity.KeyKindAccount)
		must(t, "Bootstrap", s.Bootstrap(t.Context(), a, u, k))
		evs := eventsAfter(t, s, 0)
		for _, want := range []struct {
			kind identity.EventKind
			id   string
		}{{identity.EventAccount, a.ID}, {identity.EventUser, u.ID}, {identity.EventAPIKey, k.ID}} {
			if findEvent(evs, want.kind, want.id) == nil {
				t.Errorf("no %s event for %s in %+v", want.kind, want.id, evs)
			}
		}
	}},
}

var accountTests = []subtest{
	{"RoundTrip", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := newAccount(nil, "Root")
		root.System = true
		root.TokensValidAfter = oddTime
		must(t, "CreateAccount", s.CreateAccount(ctx, root))
		if root.Revision == "" || root.Created.IsZero() || root.Modified.IsZero() {
			t.Fatalf("CreateAccount did not set Revision/Created/Modified: %+v", root)
		}
		if !root.Created.Equal(root.Modified) {
			t.Errorf("new account Created %v != Modified %v", root.Created, root.Modified)
		}
		child := createAccount(t, s, root, "Child")
		grandchild := createAccount(t, s, child, "Grandchild")

		for _, want := range []*identity.Account{root, child, grandchild} {
			got, err := s.Account(ctx, want.ID)
			must(t, "Account", err)
			if d := diff(want, got); d != "" {
				t.Errorf("Account(%s) (-want +got):\n%s", want.Name, d)
			}
			checkUTC(t, "Account", got.Created, got.Modified, got.TokensValidAfter)
		}
		got, err := s.Account(ctx, grandchild.ID)
		must(t, "Account", err)
		if d := diff([]string{root.ID, child.ID}, got.Tree); d != "" {
			t.Errorf("grandchild Tree (-want +got):\n%s", d)
		}
		if !sameMS(got.TokensValidAfter, time.Time{}) {
			t.Errorf("TokensValidAfter = %v, want zero", got.TokensValidAfter)
		}
		got, err = s.Account(ctx, root.ID)
		must(t, "Account", err)
		if !sameMS(got.TokensValidAfter, oddTime) {
			t.Errorf("TokensValidAfter = %v, want %v", got.TokensValidAfter, oddTime)
		}
		if _, ok := got.Extra["count"].(float64); !ok {
			t.Errorf("Extra number came back as %T, want float64", got.Extra["count"])
		}
	}},
	{"ReturnsCopies", func(t *testing.T, s identity.Store) {
		a := createAccount(t, s, nil, "Root")
		got, err := s.Account(t.Context(), a.ID)
		must(t, "Account", err)
		got.Extra["count"] = float64(-1)
		got.Name = "changed"
		again, err := s.Account(t.Context(), a.ID)
		must(t, "Account", err)
		if d := diff(a, again); d != "" {
			t.Errorf("changing a returned account changed the store (-want +got):\n%s", d)
		}
	}},
	{"NotFound", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		id := identity.NewID()
		_, err := s.Account(ctx, id)
		wantErr(t, "Account", err, identity.ErrNotFound)
		_, err = s.UpdateAccount(ctx, id, func(*identity.Account) error { return nil })
		wantErr(t, "UpdateAccount", err, identity.ErrNotFound)
		wantErr(t, "DeleteAccount", s.DeleteAccount(ctx, id), identity.ErrNotFound)
	}},
	{"CreateWithMissingParent", func(t *testing.T, s identity.Store) {
		parent := newAccount(nil, "Ghost")
		a := newAccount(parent, "Orphan")
		wantErr(t, "CreateAccount", s.CreateAccount(t.Context(), a), identity.ErrNotFound)
		_, err := s.Account(t.Context(), a.ID)
		wantErr(t, "Account", err, identity.ErrNotFound)
	}},
	{"Uniqueness", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := createAccount(t, s, nil, "Root")
		taken := createAccount(t, s, root, "Taken")
		taken, err := s.UpdateAccount(ctx, taken.ID, func(a *identity.Account) error {
			a.Name = "ACME Corp."
			a.Realm = "acme.example.com"
			return nil
		})
		must(t, "UpdateAccount", err)

		tests := []struct {
			name  string
			edit  func(a *identity.Account)
			want  error
			field string
		}{
			{"RealmExact", func(a *identity.Account) { a.Realm = "acme.example.com" }, identity.ErrRealmTaken, "realm"},
			{"RealmUpperCase", func(a *identity.Account) { a.Realm = "ACME.Example.COM" }, identity.ErrRealmTaken, "realm"},
			{"NameExact", func(a *identity.Account) { a.Name = "ACME Corp." }, identity.ErrNameTaken, "name"},
			{"NameNormalized", func(a *identity.Account) { a.Name = "acme-corp" }, identity.ErrNameTaken, "name"},
			{"NamePunctuation", func(a *identity.Account) { a.Name = " A.C.M.E  CORP!" }, identity.ErrNameTaken, "name"},
		}
		for _, tt := range tests {
			t.Run(tt.name+"/Create", func(t *testing.T) {
				a := newAccount(root, "Other")
				tt.edit(a)
				before := lastSeq(t, s)
				err := s.CreateAccount(ctx, a)
				wantErr(t, "CreateAccount", err, tt.want)
				if identity.ErrorCode(err) != identity.EInvalid {
					t.Errorf("code = %q, want %q", identity.ErrorCode(err), identity.EInvalid)
				}
				var ie *identity.Error
				if errors.As(err, &ie) && ie.Fields[tt.field]["unique"].Message == "" {
					t.Errorf("error fields %v lack %s.unique", ie.Fields, tt.field)
				}
				_, err = s.Account(ctx, a.ID)
				wantErr(t, "Account", err, identity.ErrNotFound)
				if evs := eventsAfter(t, s, before); len(evs) != 0 {
					t.Errorf("failed create appended events %+v", evs)
				}
			})
			t.Run(tt.name+"/Update", func(t *testing.T) {
				other := createAccount(t, s, root, "Other")
				_, err := s.UpdateAccount(ctx, other.ID, func(a *identity.Account) error {
					tt.edit(a)
					return nil
				})
				wantErr(t, "UpdateAccount", err, tt.want)
				got, err := s.Account(ctx, other.ID)
				must(t, "Account", err)
				if d := diff(other, got); d != "" {
					t.Errorf("failed update changed the account (-want +got):\n%s", d)
				}
			})
		}
		t.Run("UpdateKeepsOwnNameAndRealm", func(t *testing.T) {
			_, err := s.UpdateAccount(ctx, taken.ID, func(a *identity.Account) error {
				a.Name = "Acme Corp"
				a.Realm = "ACME.example.com"
				return nil
			})
			must(t, "UpdateAccount to own name and realm in another case", err)
		})
		t.Run("EmptyRealmsDoNotCollide", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				a := newAccount(root, "NoRealm")
				a.Realm = ""
				must(t, "CreateAccount without realm", s.CreateAccount(ctx, a))
			}
		})
		t.Run("FreedByDelete", func(t *testing.T) {
			a := createAccount(t, s, root, "Freed")
			must(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID))
			b := newAccount(root, "x")
			b.Name, b.Realm = a.Name, a.Realm
			must(t, "CreateAccount with a deleted account's name and realm", s.CreateAccount(ctx, b))
		})
	}},
	{"Update", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		want := *a
		want.Name = "Renamed"
		want.Realm = "renamed.example.com"
		want.Timezone = "America/New_York"
		want.Language = "en-us"
		want.Enabled = false
		want.System = true
		want.Extra = map[string]any{"new": []any{map[string]any{"deep": float64(1)}}}
		want.TokensValidAfter = oddTime
		got, err := s.UpdateAccount(ctx, a.ID, func(cur *identity.Account) error {
			if d := diff(a, cur); d != "" {
				t.Errorf("fn got (-want +got):\n%s", d)
			}
			cur.Name, cur.Realm, cur.Timezone, cur.Language = want.Name, want.Realm, want.Timezone, want.Language
			cur.Enabled, cur.System, cur.Extra, cur.TokensValidAfter = want.Enabled, want.System, want.Extra, want.TokensValidAfter
			return nil
		})
		must(t, "UpdateAccount", err)
		if got.Revision == "" || got.Revision == a.Revision {
			t.Errorf("Revision %q after update, was %q: want a new value", got.Revision, a.Revision)
		}
		if !sameMS(got.Created, a.Created) {
			t.Errorf("Created changed from %v to %v", a.Created, got.Created)
		}
		if got.Modified.Before(a.Modified) {
			t.Errorf("Modified went back from %v to %v", a.Modified, got.Modified)
		}
		want.Revision, want.Modified = got.Revision, got.Modified
		if d := diff(&want, got); d != "" {
			t.Errorf("UpdateAccount result (-want +got):\n%s", d)
		}
		read, err := s.Account(ctx, a.ID)
		must(t, "Account", err)
		if d := diff(&want, read); d != "" {
			t.Errorf("Account after update (-want +got):\n%s", d)
		}
		checkUTC(t, "Account", read.Created, read.Modified, read.TokensValidAfter)

		seen := map[string]bool{a.Revision: true, got.Revision: true}
		for i := 0; i < 5; i++ {
			got, err = s.UpdateAccount(ctx, a.ID, func(*identity.Account) error { return nil })
			must(t, "UpdateAccount", err)
			if seen[got.Revision] {
				t.Fatalf("Revision %q repeated", got.Revision)
			}
			seen[got.Revision] = true
		}
	}},
	{"UpdateErrorAborts", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		before := lastSeq(t, s)
		_, err := s.UpdateAccount(ctx, a.ID, func(cur *identity.Account) error {
			cur.Name = "Should not stick"
			cur.Extra["count"] = float64(0)
			return errBoom
		})
		if err != errBoom {
			t.Errorf("err = %v, want errBoom returned as is", err)
		}
		got, err := s.Account(ctx, a.ID)
		must(t, "Account", err)
		if d := diff(a, got); d != "" {
			t.Errorf("aborted update changed the account (-want +got):\n%s", d)
		}
		if evs := eventsAfter(t, s, before); len(evs) != 0 {
			t.Errorf("aborted update appended events %+v", evs)
		}
	}},
	{"ConcurrentUpdates", func(t *testing.T, s identity.Store) {
		a := newAccount(nil, "Root")
		a.Extra = map[string]any{"n": float64(0)}
		must(t, "CreateAccount", s.CreateAccount(t.Context(), a))
		concurrentIncrements(t, func(ctx context.Context) error {
			_, err := s.UpdateAccount(ctx, a.ID, func(cur *identity.Account) error {
				return increment(cur.Extra)
			})
			return err
		})
		got, err := s.Account(t.Context(), a.ID)
		must(t, "Account", err)
		if got.Extra["n"] != float64(updaters) {
			t.Errorf("counter = %v after %d concurrent increments, want %d", got.Extra["n"], updaters, updaters)
		}
	}},
	{"Delete", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := createAccount(t, s, nil, "Root")
		child := createAccount(t, s, root, "Child")
		u := createUser(t, s, child, "alice")
		k := createKey(t, s, child, identity.KeyKindAccount)
		named := createKey(t, s, child, identity.KeyKindNamed)

		before := lastSeq(t, s)
		wantErr(t, "DeleteAccount with children", s.DeleteAccount(ctx, root.ID), identity.ErrHasChildren)
		if _, err := s.Account(ctx, root.ID); err != nil {
			t.Fatalf("refused delete removed the account: %v", err)
		}
		if evs := eventsAfter(t, s, before); len(evs) != 0 {
			t.Errorf("refused delete appended events %+v", evs)
		}

		must(t, "DeleteAccount", s.DeleteAccount(ctx, child.ID))
		_, err := s.Account(ctx, child.ID)
		wantErr(t, "Account", err, identity.ErrNotFound)
		_, err = s.User(ctx, child.ID, u.ID)
		wantErr(t, "User of deleted account", err, identity.ErrNotFound)
		_, err = s.UserByUsername(ctx, child.ID, "alice")
		wantErr(t, "UserByUsername of deleted account", err, identity.ErrNotFound)
		for _, key := range []*identity.APIKey{k, named} {
			_, err = s.APIKeyByHash(ctx, key.Hash)
			wantErr(t, "APIKeyByHash of deleted account", err, identity.ErrNotFound)
			_, err = s.APIKey(ctx, child.ID, key.ID)
			wantErr(t, "APIKey of deleted account", err, identity.ErrNotFound)
		}
		_, err = s.AccountKey(ctx, child.ID)
		wantErr(t, "AccountKey of deleted account", err, identity.ErrNotFound)

		ev := findEvent(eventsAfter(t, s, before), identity.EventAccount, child.ID)
		if ev == nil || ev.Cutoff.IsZero() {
			t.Errorf("delete event = %+v, want an account event with a Cutoff", ev)
		}
		wantErr(t, "second DeleteAccount", s.DeleteAccount(ctx, child.ID), identity.ErrNotFound)
		must(t, "DeleteAccount of the now childless root", s.DeleteAccount(ctx, root.ID))
	}},
	{"DeleteExactlyOnce", func(t *testing.T, s identity.Store) {
		root := createAccount(t, s, nil, "Root")
		createUser(t, s, root, "alice")
		exactlyOnce(t, func(ctx context.Context) error { return s.DeleteAccount(ctx, root.ID) })
	}},
	{"ChildrenAndDescendants", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "OtherRoot")
		createAccount(t, s, other, "OtherChild")
		var children, all []string
		var grandchildrenOfFirst []string
		var first *identity.Account
		var leaf string // a great-grandchild: all[0] may have children
		for i := 0; i < 3; i++ {
			c := createAccount(t, s, root, fmt.Sprintf("Child%d", i))
			children = append(children, c.ID)
			all = append(all, c.ID)
			if first == nil {
				first = c
			}
			for j := 0; j < 2; j++ {
				g := createAccount(t, s, c, fmt.Sprintf("Grandchild%d%d", i, j))
				all = append(all, g.ID)
				if c == first {
					grandchildrenOfFirst = append(grandchildrenOfFirst, g.ID)
				}
				gg := createAccount(t, s, g, fmt.Sprintf("GreatGrandchild%d%d", i, j))
				all = append(all, gg.ID)
				leaf = gg.ID
				if c == first {
					grandchildrenOfFirst = append(grandchildrenOfFirst, gg.ID)
				}
			}
		}
		children, all, grandchildrenOfFirst = sortedIDs(children...), sortedIDs(all...), sortedIDs(grandchildrenOfFirst...)

		childrenOf := func(id string) pager {
			return func(ctx context.Context, p identity.Page) ([]string, string, error) {
				items, next, err := s.Children(ctx, id, p)
				return accountIDs(items), next, err
			}
		}
		descendantsOf := func(id string) pager {
			return func(ctx context.Context, p identity.Page) ([]string, string, error) {
				items, next, err := s.Descendants(ctx, id, p)
				return accountIDs(items), next, err
			}
		}
		for _, size := range []int{1, 2, 3, 4, 100} {
			t.Run(fmt.Sprintf("Size%d", size), func(t *testing.T) {
				checkPages(t, "Children(root)", childrenOf(root.ID), size, children)
				checkPages(t, "Descendants(root)", descendantsOf(root.ID), size, all)
				checkPages(t, "Descendants(first child)", descendantsOf(first.ID), size, grandchildrenOfFirst)
			})
		}
		checkPages(t, "Children(leaf)", childrenOf(leaf), 10, nil)

		items, _, err := s.Descendants(ctx, root.ID, identity.Page{})
		must(t, "Descendants", err)
		for _, a := range items {
			want, err := s.Account(ctx, a.ID)
			must(t, "Account", err)
			if d := diff(want, a); d != "" {
				t.Errorf("Descendants item differs from Account (-want +got):\n%s", d)
			}
		}
		items, _, err = s.Children(ctx, root.ID, identity.Page{})
		must(t, "Children", err)
		if d := diff(children, accountIDs(items)); d != "" {
			t.Errorf("Children with the default page (-want +got):\n%s", d)
		}
	}},
}

// updaters is how many goroutines race to update one row.
const updaters = 20

// increment adds one to extra["n"], the counter the concurrency tests race
// on.
func increment(extra map[string]any) error {
	n, ok := extra["n"].(float64)
	if !ok {
		return fmt.Errorf("counter is %T, want float64", extra["n"])
	}
	extra["n"] = n + 1
	return nil
}

// concurrentIncrements runs update from updaters goroutines at once and
// fails t on any error: a Store must serialise them, not refuse them.
func concurrentIncrements(t *testing.T, update func(ctx context.Context) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, updaters)
	start := make(chan struct{})
	for i := 0; i < updaters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- update(t.Context())
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
}

// exactlyOnce runs del from 10 goroutines at once and checks that exactly
// one succeeds and every other one gets ErrNotFound, the property that makes
// a delete safe to use as a single-use check.
func exactlyOnce(t *testing.T, del func(ctx context.Context) error) {
	t.Helper()
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- del(t.Context())
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, identity.ErrNotFound):
			t.Errorf("concurrent delete: err = %v, want nil or ErrNotFound", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent deletes succeeded, want exactly 1", ok, n)
	}
}
