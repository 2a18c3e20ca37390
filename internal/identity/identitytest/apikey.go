package identitytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

var apiKeyTests = []subtest{
	{"RoundTrip", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		named := newKey(a, identity.KeyKindNamed)
		named.LastUsedAt = oddTime
		named.LastUsedIP = "192.0.2.1"
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, named))
		if named.Revision == "" || named.Created.IsZero() {
			t.Fatalf("CreateAPIKey did not set Revision/Created: %+v", named)
		}
		acct := createKey(t, s, a, identity.KeyKindAccount)
		for _, want := range []*identity.APIKey{named, acct} {
			got, err := s.APIKey(ctx, a.ID, want.ID)
			must(t, "APIKey", err)
			if d := diff(want, got); d != "" {
				t.Errorf("APIKey %s (-want +got):\n%s", want.Kind, d)
			}
			checkUTC(t, "APIKey", got.Created, got.ExpiresAt, got.RevokedAt, got.LastUsedAt)
			got, err = s.APIKeyByHash(ctx, want.Hash)
			must(t, "APIKeyByHash", err)
			if d := diff(want, got); d != "" {
				t.Errorf("APIKeyByHash %s (-want +got):\n%s", want.Kind, d)
			}
		}
		got, err := s.AccountKey(ctx, a.ID)
		must(t, "AccountKey", err)
		if d := diff(acct, got); d != "" {
			t.Errorf("AccountKey (-want +got):\n%s", d)
		}
	}},
	{"NotFound", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		k := createKey(t, s, a, identity.KeyKindNamed)
		createKey(t, s, other, identity.KeyKindNamed)
		tests := []struct {
			name string
			call func() error
		}{
			{"APIKey", func() error { _, err := s.APIKey(ctx, a.ID, identity.NewID()); return err }},
			{"APIKeyInOtherAccount", func() error { _, err := s.APIKey(ctx, other.ID, k.ID); return err }},
			{"APIKeyByHash", func() error { _, err := s.APIKeyByHash(ctx, make([]byte, 32)); return err }},
			{"AccountKeyWithOnlyNamedKeys", func() error { _, err := s.AccountKey(ctx, a.ID); return err }},
			{"AccountKeyOfMissingAccount", func() error { _, err := s.AccountKey(ctx, identity.NewID()); return err }},
			{"UpdateAPIKey", func() error {
				_, err := s.UpdateAPIKey(ctx, a.ID, identity.NewID(), func(*identity.APIKey) error { return nil })
				return err
			}},
			{"UpdateAPIKeyInOtherAccount", func() error {
				_, err := s.UpdateAPIKey(ctx, other.ID, k.ID, func(*identity.APIKey) error { return nil })
				return err
			}},
			{"CreateAPIKeyInMissingAccount", func() error {
				return s.CreateAPIKey(ctx, newKey(&identity.Account{ID: identity.NewID()}, identity.KeyKindNamed))
			}},
			{"ReplaceAccountKeyInMissingAccount", func() error {
				return s.ReplaceAccountKey(ctx, newKey(&identity.Account{ID: identity.NewID()}, identity.KeyKindAccount))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.name, tt.call(), identity.ErrNotFound) })
		}
	}},
	{"HashUnique", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		k := createKey(t, s, a, identity.KeyKindNamed)
		dup := newKey(other, identity.KeyKindNamed)
		dup.Hash = k.Hash
		err := s.CreateAPIKey(ctx, dup)
		if identity.ErrorCode(err) != identity.EConflict {
			t.Errorf("CreateAPIKey with a used hash: err = %v, want code %q", err, identity.EConflict)
		}
		_, err = s.APIKey(ctx, other.ID, dup.ID)
		wantErr(t, "APIKey of refused create", err, identity.ErrNotFound)
	}},
	{"ReplaceAccountKey", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		named := createKey(t, s, a, identity.KeyKindNamed)

		first := newKey(a, identity.KeyKindAccount)
		must(t, "ReplaceAccountKey with no key yet", s.ReplaceAccountKey(ctx, first))
		got, err := s.AccountKey(ctx, a.ID)
		must(t, "AccountKey", err)
		if d := diff(first, got); d != "" {
			t.Errorf("AccountKey (-want +got):\n%s", d)
		}

		before := lastSeq(t, s)
		second := newKey(a, identity.KeyKindAccount)
		must(t, "ReplaceAccountKey", s.ReplaceAccountKey(ctx, second))
		got, err = s.AccountKey(ctx, a.ID)
		must(t, "AccountKey", err)
		if d := diff(second, got); d != "" {
			t.Errorf("AccountKey after replace (-want +got):\n%s", d)
		}
		old, err := s.APIKeyByHash(ctx, first.Hash)
		must(t, "APIKeyByHash of the replaced key", err)
		if old.RevokedAt.IsZero() {
			t.Errorf("replaced key RevokedAt is zero, want set")
		}
		if old.Revision == first.Revision {
			t.Errorf("replaced key kept Revision %q", old.Revision)
		}
		checkUTC(t, "replaced key", old.RevokedAt)
		ev := findEvent(eventsAfter(t, s, before), identity.EventAPIKey, first.ID)
		switch {
		case ev == nil:
			t.Errorf("no event for the replaced key %s", first.ID)
		case ev.Cutoff.IsZero():
			t.Errorf("replace event %+v has no Cutoff", ev)
		case !sameMS(ev.Cutoff, old.RevokedAt):
			t.Errorf("replace event Cutoff %v, want the old key's RevokedAt %v", ev.Cutoff, old.RevokedAt)
		}
		if k, err := s.APIKey(ctx, a.ID, named.ID); err != nil || !k.RevokedAt.IsZero() {
			t.Errorf("named key after ReplaceAccountKey: %+v, %v; want untouched", k, err)
		}
	}},
	{"AccountKeyIgnoresRevoked", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		k := createKey(t, s, a, identity.KeyKindAccount)
		_, err := s.UpdateAPIKey(ctx, a.ID, k.ID, func(cur *identity.APIKey) error {
			cur.RevokedAt = oddTime.Add(-time.Hour)
			return nil
		})
		must(t, "UpdateAPIKey", err)
		_, err = s.AccountKey(ctx, a.ID)
		wantErr(t, "AccountKey with only a revoked key", err, identity.ErrNotFound)
		got, err := s.APIKeyByHash(ctx, k.Hash)
		must(t, "APIKeyByHash finds revoked keys", err)
		if got.RevokedAt.IsZero() {
			t.Errorf("APIKeyByHash RevokedAt is zero")
		}
	}},
	{"Update", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		k := createKey(t, s, a, identity.KeyKindNamed)
		want := *k
		want.Name = "renamed"
		want.Scopes = []string{"*"}
		want.AllowedCIDRs = []string{"192.0.2.0/24"}
		want.ExpiresAt = time.Time{}
		want.LastUsedAt = oddTime
		want.LastUsedIP = "2001:db8::1"
		before := lastSeq(t, s)
		got, err := s.UpdateAPIKey(ctx, a.ID, k.ID, func(cur *identity.APIKey) error {
			if d := diff(k, cur); d != "" {
				t.Errorf("fn got (-want +got):\n%s", d)
			}
			cur.Name, cur.Scopes, cur.AllowedCIDRs = want.Name, want.Scopes, want.AllowedCIDRs
			cur.ExpiresAt, cur.LastUsedAt, cur.LastUsedIP = want.ExpiresAt, want.LastUsedAt, want.LastUsedIP
			return nil
		})
		must(t, "UpdateAPIKey", err)
		if got.Revision == "" || got.Revision == k.Revision {
			t.Errorf("Revision %q after update, was %q: want a new value", got.Revision, k.Revision)
		}
		want.Revision = got.Revision
		if d := diff(&want, got); d != "" {
			t.Errorf("UpdateAPIKey result (-want +got):\n%s", d)
		}
		read, err := s.APIKey(ctx, a.ID, k.ID)
		must(t, "APIKey", err)
		if d := diff(&want, read); d != "" {
			t.Errorf("APIKey after update (-want +got):\n%s", d)
		}
		evs := eventsAfter(t, s, before)
		if len(evs) != 1 || evs[0].Kind != identity.EventAPIKey || evs[0].ID != k.ID || !evs[0].Cutoff.IsZero() {
			t.Errorf("events after a plain update = %+v, want one api_key event without Cutoff", evs)
		}

		before = lastSeq(t, s)
		_, err = s.UpdateAPIKey(ctx, a.ID, k.ID, func(cur *identity.APIKey) error {
			cur.RevokedAt = oddTime
			return nil
		})
		must(t, "UpdateAPIKey revoke", err)
		evs = eventsAfter(t, s, before)
		if len(evs) != 1 || evs[0].Kind != identity.EventAPIKey || evs[0].ID != k.ID || !sameMS(evs[0].Cutoff, oddTime) {
			t.Errorf("events after revoking = %+v, want one api_key event with Cutoff %v", evs, oddTime)
		}

		before = lastSeq(t, s)
		_, err = s.UpdateAPIKey(ctx, a.ID, k.ID, func(cur *identity.APIKey) error {
			cur.Name = "nope"
			return errBoom
		})
		if err != errBoom {
			t.Errorf("err = %v, want errBoom returned as is", err)
		}
		if evs := eventsAfter(t, s, before); len(evs) != 0 {
			t.Errorf("aborted update appended events %+v", evs)
		}
		read, err = s.APIKey(ctx, a.ID, k.ID)
		must(t, "APIKey", err)
		if read.Name != "renamed" {
			t.Errorf("aborted update wrote Name %q", read.Name)
		}
	}},
	{"ConcurrentUpdates", func(t *testing.T, s identity.Store) {
		// APIKey has no Extra, so the counter lives in the Name; what is
		// checked is the same: no update is lost.
		a := createAccount(t, s, nil, "Root")
		k := newKey(a, identity.KeyKindNamed)
		k.Name = "0"
		must(t, "CreateAPIKey", s.CreateAPIKey(t.Context(), k))
		concurrentIncrements(t, func(ctx context.Context) error {
			_, err := s.UpdateAPIKey(ctx, a.ID, k.ID, func(cur *identity.APIKey) error {
				var n int
				if _, err := fmt.Sscan(cur.Name, &n); err != nil {
					return err
				}
				cur.Name = fmt.Sprint(n + 1)
				return nil
			})
			return err
		})
		got, err := s.APIKey(t.Context(), a.ID, k.ID)
		must(t, "APIKey", err)
		if got.Name != fmt.Sprint(updaters) {
			t.Errorf("counter = %s after %d concurrent increments, want %d", got.Name, updaters, updaters)
		}
	}},
	{"List", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		a := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "Other")
		createKey(t, s, other, identity.KeyKindNamed)
		ids := []string{createKey(t, s, a, identity.KeyKindAccount).ID}
		for i := 0; i < 5; i++ {
			ids = append(ids, createKey(t, s, a, identity.KeyKindNamed).ID)
		}
		revoked := newKey(a, identity.KeyKindNamed)
		revoked.RevokedAt = oddTime
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, revoked))
		ids = sortedIDs(append(ids, revoked.ID)...)
		list := func(ctx context.Context, p identity.Page) ([]string, string, error) {
			items, next, err := s.APIKeys(ctx, a.ID, p)
			return keyIDs(items), next, err
		}
		for _, size := range []int{1, 2, 7, 50} {
			checkPages(t, fmt.Sprintf("APIKeys size %d", size), list, size, ids)
		}
		items, _, err := s.APIKeys(ctx, a.ID, identity.Page{})
		must(t, "APIKeys", err)
		for _, k := range items {
			want, err := s.APIKey(ctx, a.ID, k.ID)
			must(t, "APIKey", err)
			if d := diff(want, k); d != "" {
				t.Errorf("APIKeys item differs from APIKey (-want +got):\n%s", d)
			}
		}
	}},
}
