package identitytest

import (
	"context"
	"testing"

	"github.com/audian/audian/internal/identity"
)

// restrictionStore returns s as an identity.TokenRestrictionStore, failing
// t when the backend does not implement it.
func restrictionStore(t *testing.T, s identity.Store) identity.TokenRestrictionStore {
	t.Helper()
	rs, ok := any(s).(identity.TokenRestrictionStore)
	if !ok {
		t.Fatalf("%T does not implement identity.TokenRestrictionStore", s)
	}
	return rs
}

// restrictionsDoc has its rule keys out of alphabetical order, and odd
// spacing, so that a backend which re-encodes the document (jsonb would)
// fails the byte-for-byte round trip.
const restrictionsDoc = `{"cb_user_auth": {"_": {"users": [{"rules": {"*": ["GET"], "#": ["_"], "/": ["PUT"]}}]}}}`

// TokenRestrictionTests is the conformance group for
// identity.TokenRestrictionStore.
var tokenRestrictionTests = []subtest{
	{"RoundTrip", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		rs := restrictionStore(t, s)
		a := createAccount(t, s, nil, "Restricted")
		got, err := rs.TokenRestrictions(ctx, a.ID)
		must(t, "TokenRestrictions before any", err)
		if got != nil {
			t.Fatalf("TokenRestrictions of a fresh account = %q, want nil", got)
		}
		must(t, "SetTokenRestrictions", rs.SetTokenRestrictions(ctx, a.ID, []byte(restrictionsDoc)))
		got, err = rs.TokenRestrictions(ctx, a.ID)
		must(t, "TokenRestrictions", err)
		if string(got) != restrictionsDoc {
			t.Errorf("TokenRestrictions = %s, want the stored bytes %s", got, restrictionsDoc)
		}
		must(t, "SetTokenRestrictions replace", rs.SetTokenRestrictions(ctx, a.ID, []byte(`{}`)))
		if got, _ := rs.TokenRestrictions(ctx, a.ID); string(got) != `{}` {
			t.Errorf("after replace: %s, want {}", got)
		}
		must(t, "SetTokenRestrictions remove", rs.SetTokenRestrictions(ctx, a.ID, nil))
		if got, err := rs.TokenRestrictions(ctx, a.ID); err != nil || got != nil {
			t.Errorf("after remove: %q, %v; want nil, nil", got, err)
		}
		must(t, "SetTokenRestrictions remove twice", rs.SetTokenRestrictions(ctx, a.ID, nil))
	}},
	{"PerAccount", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		rs := restrictionStore(t, s)
		a := createAccount(t, s, nil, "A")
		b := createAccount(t, s, a, "B")
		must(t, "Set A", rs.SetTokenRestrictions(ctx, a.ID, []byte(restrictionsDoc)))
		if got, err := rs.TokenRestrictions(ctx, b.ID); err != nil || got != nil {
			t.Errorf("the child sees its parent's restrictions: %q, %v", got, err)
		}
	}},
	{"UnknownAccount", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		rs := restrictionStore(t, s)
		_, err := rs.TokenRestrictions(ctx, identity.NewID())
		wantErr(t, "TokenRestrictions of an unknown account", err, identity.ErrNotFound)
		wantErr(t, "SetTokenRestrictions on an unknown account",
			rs.SetTokenRestrictions(ctx, identity.NewID(), []byte(`{}`)), identity.ErrNotFound)
		wantErr(t, "remove on an unknown account",
			rs.SetTokenRestrictions(ctx, identity.NewID(), nil), identity.ErrNotFound)
	}},
	{"Events", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		rs := restrictionStore(t, s)
		a := createAccount(t, s, nil, "Evented")
		for _, doc := range [][]byte{[]byte(restrictionsDoc), nil} {
			seq := lastSeq(t, s)
			must(t, "SetTokenRestrictions", rs.SetTokenRestrictions(ctx, a.ID, doc))
			evs := eventsAfter(t, s, seq)
			if len(evs) != 1 || evs[0].Kind != identity.EventAccount || evs[0].ID != a.ID || !evs[0].Cutoff.IsZero() {
				t.Errorf("SetTokenRestrictions(%q) events = %+v, want one account event without cutoff", doc, evs)
			}
		}
		seq := lastSeq(t, s)
		_ = rs.SetTokenRestrictions(ctx, identity.NewID(), []byte(`{}`))
		if evs := eventsAfter(t, s, seq); len(evs) != 0 {
			t.Errorf("a failed SetTokenRestrictions appended %+v", evs)
		}
	}},
	{"GoWithAccount", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		rs := restrictionStore(t, s)
		a := createAccount(t, s, nil, "Doomed")
		must(t, "SetTokenRestrictions", rs.SetTokenRestrictions(ctx, a.ID, []byte(restrictionsDoc)))
		must(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID))
		_, err := rs.TokenRestrictions(ctx, a.ID)
		wantErr(t, "TokenRestrictions of a deleted account", err, identity.ErrNotFound)
	}},
	{"Canceled", func(t *testing.T, s identity.Store) {
		rs := restrictionStore(t, s)
		a := createAccount(t, s, nil, "Canceled")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := rs.SetTokenRestrictions(ctx, a.ID, []byte(`{}`)); err == nil {
			t.Error("SetTokenRestrictions with a canceled context succeeded")
		}
	}},
}
