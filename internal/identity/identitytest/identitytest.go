// Package identitytest is the conformance suite every identity.Store
// backend runs. A backend's own test calls TestStore with a function that
// opens a fresh, empty, migrated store, so that all backends are held to the
// one contract written in identity.Store and to nothing else.
//
// The suite does not control the store's clock: open may return a store on
// the real clock or on a fixed one, and the suite only relies on the
// properties both share (times are set, in UTC, at millisecond precision,
// and consistent with each other).
//
// Where the comments on identity.Store leave a choice open, the suite
// settles it as follows, so that every backend behaves alike:
//   - Create methods fill in the caller's value: Revision, Created and
//     Modified (Created only, for API and signing keys) from the store's
//     clock, with the other times as they will read back.
//   - Times read back in UTC and are compared at millisecond precision.
//   - Empty realms, and empty usernames, never collide; a name or realm
//     freed by a delete can be reused.
//   - Uniqueness errors are the identity sentinels themselves (errors.Is),
//     a duplicate API key hash is an EConflict error, and a record looked up
//     through an account it does not belong to is ErrNotFound.
//   - An empty username or credential lookup value finds no one, and an
//     unknown credential method is an error.
//   - Creates append one event about the new row; a TokensValidAfter change
//     (accounts, users) and a RevokedAt change (UpdateAPIKey) append an event
//     whose Cutoff is the new instant; other updates append one event with
//     no Cutoff. Failed or aborted writes append nothing.
//   - APIKeys lists keys of both kinds, revoked or not; AccountKey returns
//     only an unrevoked account key.
//   - Event sequence numbers are never reused, even after PruneEvents.
//   - A method called with a canceled context returns an error matching
//     context.Canceled.
package identitytest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/audian/audian/internal/identity"
)

// TestStore runs the whole conformance suite. open must return a fresh,
// empty, migrated store for each call and arrange its own cleanup (for
// example with t.Cleanup); the suite calls it once per subtest and never
// closes the store it gets.
func TestStore(t *testing.T, open func(t *testing.T) identity.Store) {
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Bootstrap", bootstrapTests},
		{"Account", accountTests},
		{"User", userTests},
		{"APIKey", apiKeyTests},
		{"SigningKey", signingKeyTests},
		{"Event", eventTests},
		{"Misc", miscTests},
		{"Login", loginTests},
		{"Audit", auditTests},
		{"Limits", limitTests},
		{"TokenRestrictions", tokenRestrictionTests},
		{"KeyUse", keyUseTests},
		{"OAuth", oauthTests},
		{"WebSession", webSessionTests},
		{"Tree", treeTests},
		{"Monster", monsterTests},
		{"LoginAddress", loginAddressTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.fn(t, open(t))
				})
			}
		})
	}
}

// subtest is one case of the suite, run on its own fresh store.
type subtest struct {
	name string
	fn   func(t *testing.T, s identity.Store)
}

// Backends keep times at millisecond precision (SQLite) or finer
// (PostgreSQL keeps microseconds), so values are compared after truncation
// to the millisecond. Empty and nil slices and maps are the same value to a
// client, so either may come back.
var cmpOpts = []cmp.Option{
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
	}),
	cmpopts.EquateEmpty(),
}

// diff returns a readable difference between want and got, "" when equal.
func diff(want, got any) string { return cmp.Diff(want, got, cmpOpts...) }

// sameMS reports whether a and b are the same instant at millisecond
// precision.
func sameMS(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

// oddTime is an instant with sub-millisecond digits in a zone other than
// UTC, to check that stores normalise both.
var oddTime = time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+5", 5*3600))

// wantErr fails t unless errors.Is(err, want).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// must fails t on a non-nil err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checkUTC fails t when a time read back is not in UTC, so that every
// backend renders the same JSON for it.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time #%d %v is in %v, want UTC", what, i, tm, tm.Location())
		}
	}
}

// newAccount returns a valid account, a child of parent when parent is not
// nil, with every field set so that round trips exercise all of them.
func newAccount(parent *identity.Account, name string) *identity.Account {
	a := &identity.Account{
		ID:       identity.NewID(),
		Name:     name + " " + identity.NewID()[:8],
		Realm:    identity.NewRealm("example.com"),
		Timezone: "Europe/Paris",
		Language: "fr-fr",
		Enabled:  true,
		Extra: map[string]any{
			"caller_id": map[string]any{
				"external": map[string]any{"name": "ACME", "number": "+15555550100"},
			},
			"ui_flags": []any{"a", float64(2), true, nil, map[string]any{"x": 1.5}},
			"count":    float64(42),
		},
	}
	if parent != nil {
		a.ParentID = parent.ID
		a.Tree = parent.ChildTree()
	}
	return a
}

// newUser returns a valid user of account with every field set.
func newUser(account *identity.Account, username string) *identity.User {
	return &identity.User{
		ID:                    identity.NewID(),
		AccountID:             account.ID,
		Username:              username,
		Email:                 username + "@example.com",
		FirstName:             "Ada",
		LastName:              "Lovelace",
		PrivLevel:             identity.RoleUser,
		Enabled:               true,
		RequirePasswordUpdate: true,
		PresenceID:            "1001",
		Timezone:              "Europe/London",
		Language:              "en-gb",
		Extra:                 map[string]any{"vm_to_email_enabled": true, "hotdesk": map[string]any{"id": "12"}},
		Credentials: identity.Credentials{
			Password:   "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
			MD5Lookup:  "md5-" + identity.NewID(),
			MD5Hash:    "$argon2id$md5",
			SHA1Lookup: "sha-" + identity.NewID(),
			SHA1Hash:   "$argon2id$sha",
		},
	}
}

// newKey returns a key of account of the given kind with a random secret
// hash.
func newKey(account *identity.Account, kind string) *identity.APIKey {
	var secret [32]byte
	rand.Read(secret[:])
	hash := sha256.Sum256(secret[:])
	k := &identity.APIKey{
		ID:           identity.NewID(),
		AccountID:    account.ID,
		Kind:         kind,
		Name:         "key " + identity.NewID()[:6],
		Prefix:       "aud_" + identity.NewID()[:6],
		Hash:         hash[:],
		Scopes:       []string{"accounts:read", "users:write"},
		AllowedCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"},
		CreatedBy:    identity.NewID(),
		ExpiresAt:    oddTime,
	}
	if kind == identity.KeyKindAccount {
		k.Sealed = []byte("sealed:" + identity.NewID())
		k.Scopes = nil
		k.AllowedCIDRs = nil
		k.ExpiresAt = time.Time{}
	}
	return k
}

// newSigningKey returns a signing key with distinct public and sealed bytes.
func newSigningKey() *identity.SigningKey {
	return &identity.SigningKey{
		ID:        identity.NewID(),
		Algorithm: "RS256",
		Public:    []byte("public:" + identity.NewID()),
		Sealed:    []byte("sealed:" + identity.NewID()),
	}
}

// createAccount stores a new account under parent (nil: a root).
func createAccount(t *testing.T, s identity.Store, parent *identity.Account, name string) *identity.Account {
	t.Helper()
	a := newAccount(parent, name)
	must(t, "CreateAccount", s.CreateAccount(t.Context(), a))
	return a
}

// createUser stores a new user in account.
func createUser(t *testing.T, s identity.Store, account *identity.Account, username string) *identity.User {
	t.Helper()
	u := newUser(account, username)
	must(t, "CreateUser", s.CreateUser(t.Context(), u))
	return u
}

// createKey stores a new key of the given kind in account.
func createKey(t *testing.T, s identity.Store, account *identity.Account, kind string) *identity.APIKey {
	t.Helper()
	k := newKey(account, kind)
	must(t, "CreateAPIKey", s.CreateAPIKey(t.Context(), k))
	return k
}

// lastSeq returns the Seq of the newest event, 0 when there is none, so
// that a test can look at the events its own writes append.
func lastSeq(t *testing.T, s identity.Store) int64 {
	t.Helper()
	var seq int64
	for {
		evs, err := s.Events(t.Context(), seq, 1000)
		must(t, "Events", err)
		if len(evs) == 0 {
			return seq
		}
		seq = evs[len(evs)-1].Seq
	}
}

// eventsAfter returns every event with Seq > after.
func eventsAfter(t *testing.T, s identity.Store, after int64) []identity.Event {
	t.Helper()
	var all []identity.Event
	for {
		evs, err := s.Events(t.Context(), after, 1000)
		must(t, "Events", err)
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		after = evs[len(evs)-1].Seq
	}
}

// findEvent returns the first event of kind about id, or nil.
func findEvent(evs []identity.Event, kind identity.EventKind, id string) *identity.Event {
	for i := range evs {
		if evs[i].Kind == kind && evs[i].ID == id {
			return &evs[i]
		}
	}
	return nil
}

// sortedIDs returns ids in ascending order, the order every list uses.
func sortedIDs(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

// pager is one list method reduced to ids, so that pagination is checked
// the same way for every list.
type pager func(ctx context.Context, p identity.Page) (ids []string, next string, err error)

// checkPages walks list with pages of size and checks the ids, the order and
// the next cursors against want (in ascending order).
func checkPages(t *testing.T, what string, list pager, size int, want []string) {
	t.Helper()
	var got []string
	after := ""
	for i := 0; ; i++ {
		if i > len(want)+1 {
			t.Fatalf("%s: too many pages, got so far %v", what, got)
		}
		ids, next, err := list(t.Context(), identity.Page{Size: size, After: after})
		must(t, what, err)
		if len(ids) > size {
			t.Fatalf("%s: page %d has %d items, want at most %d", what, i, len(ids), size)
		}
		got = append(got, ids...)
		if len(got) < len(want) {
			if len(ids) == 0 || next != ids[len(ids)-1] {
				t.Fatalf("%s: page %d ids %v next %q, want next = last id of the page", what, i, ids, next)
			}
			after = next
			continue
		}
		if next != "" {
			t.Fatalf("%s: last page %d next = %q, want \"\"", what, i, next)
		}
		break
	}
	if d := diff(want, got); d != "" {
		t.Errorf("%s: ids (-want +got):\n%s", what, d)
	}
}

// accountIDs returns the ids of accounts.
func accountIDs(items []*identity.Account) []string {
	ids := make([]string, len(items))
	for i, a := range items {
		ids[i] = a.ID
	}
	return ids
}

// userIDs returns the ids of users.
func userIDs(items []*identity.User) []string {
	ids := make([]string, len(items))
	for i, u := range items {
		ids[i] = u.ID
	}
	return ids
}

// keyIDs returns the ids of keys.
func keyIDs(items []*identity.APIKey) []string {
	ids := make([]string, len(items))
	for i, k := range items {
		ids[i] = k.ID
	}
	return ids
}

// errBoom is returned by update functions to check that it aborts the
// update and comes back unchanged.
var errBoom = errors.New("boom")
