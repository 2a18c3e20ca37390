package identitytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// keyUseTests cover RecordKeyUse: batched usage stamps that keep the
// latest use, ignore keys that are gone, and stay out of the change feed.
var keyUseTests = []subtest{
	{"RecordsLatest", testRecordKeyUse},
	{"NoEventNoRevision", testRecordKeyUseQuiet},
	{"UnknownKeysAndEmptyBatches", testRecordKeyUseUnknown},
	{"CanceledContext", testRecordKeyUseCanceled},
}

// keyUseStore returns s as an identity.KeyUseStore, failing t when the
// backend does not implement it.
func keyUseStore(t *testing.T, s identity.Store) identity.KeyUseStore {
	t.Helper()
	ks, ok := s.(identity.KeyUseStore)
	if !ok {
		t.Fatalf("%T does not implement identity.KeyUseStore", s)
	}
	return ks
}

func testRecordKeyUse(t *testing.T, s identity.Store) {
	ctx := t.Context()
	ks := keyUseStore(t, s)
	a := createAccount(t, s, nil, "used")
	k1 := createKey(t, s, a, identity.KeyKindNamed)
	k2 := createKey(t, s, a, identity.KeyKindNamed)
	base := time.Now().UTC().Truncate(time.Second)
	// One batch with two uses of k1 out of order: the later one wins.
	must(t, "RecordKeyUse", ks.RecordKeyUse(ctx, []identity.KeyUse{
		{KeyID: k1.ID, At: base.Add(2 * time.Second), IP: "192.0.2.2"},
		{KeyID: k1.ID, At: base.Add(time.Second), IP: "192.0.2.1"},
		{KeyID: k2.ID, At: oddTime, IP: "2001:db8::1"},
	}))
	for _, tc := range []struct {
		key    *identity.APIKey
		wantAt time.Time
		wantIP string
	}{
		{k1, base.Add(2 * time.Second), "192.0.2.2"},
		{k2, oddTime, "2001:db8::1"},
	} {
		got, err := s.APIKey(ctx, a.ID, tc.key.ID)
		must(t, "APIKey", err)
		if !sameMS(got.LastUsedAt, tc.wantAt) || got.LastUsedIP != tc.wantIP {
			t.Errorf("key %s: last use %v from %q, want %v from %q", tc.key.Name, got.LastUsedAt, got.LastUsedIP, tc.wantAt, tc.wantIP)
		}
		checkUTC(t, "LastUsedAt", got.LastUsedAt)
	}
	// A later batch with an older use (another process flushing late)
	// must not move the stamp back.
	must(t, "RecordKeyUse", ks.RecordKeyUse(ctx, []identity.KeyUse{{KeyID: k1.ID, At: base, IP: "192.0.2.9"}}))
	got, err := s.APIKey(ctx, a.ID, k1.ID)
	must(t, "APIKey", err)
	if !sameMS(got.LastUsedAt, base.Add(2*time.Second)) || got.LastUsedIP != "192.0.2.2" {
		t.Errorf("an older use overwrote the newer: %v from %q", got.LastUsedAt, got.LastUsedIP)
	}
	must(t, "RecordKeyUse", ks.RecordKeyUse(ctx, []identity.KeyUse{{KeyID: k1.ID, At: base.Add(time.Minute), IP: "192.0.2.3"}}))
	got, err = s.APIKey(ctx, a.ID, k1.ID)
	must(t, "APIKey", err)
	if !sameMS(got.LastUsedAt, base.Add(time.Minute)) || got.LastUsedIP != "192.0.2.3" {
		t.Errorf("a newer use was not recorded: %v from %q", got.LastUsedAt, got.LastUsedIP)
	}
}

func testRecordKeyUseQuiet(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "quiet")
	k := createKey(t, s, a, identity.KeyKindNamed)
	before, err := s.APIKey(ctx, a.ID, k.ID)
	must(t, "APIKey", err)
	seq := lastSeq(t, s)
	must(t, "RecordKeyUse", keyUseStore(t, s).RecordKeyUse(ctx, []identity.KeyUse{{KeyID: k.ID, At: time.Now(), IP: "192.0.2.1"}}))
	if evs := eventsAfter(t, s, seq); len(evs) != 0 {
		t.Errorf("RecordKeyUse appended %d events; a usage stamp must not reach the change feed", len(evs))
	}
	after, err := s.APIKey(ctx, a.ID, k.ID)
	must(t, "APIKey", err)
	if after.Revision != before.Revision {
		t.Errorf("RecordKeyUse changed the revision %q -> %q: a client's If-Match would fail on every use", before.Revision, after.Revision)
	}
	// The rest of the key is untouched.
	after.LastUsedAt, after.LastUsedIP = before.LastUsedAt, before.LastUsedIP
	if d := diff(before, after); d != "" {
		t.Errorf("RecordKeyUse changed more than the usage stamp (-before +after):\n%s", d)
	}
}

func testRecordKeyUseUnknown(t *testing.T, s identity.Store) {
	ctx := t.Context()
	ks := keyUseStore(t, s)
	must(t, "RecordKeyUse(nil)", ks.RecordKeyUse(ctx, nil))
	a := createAccount(t, s, nil, "gone")
	k := createKey(t, s, a, identity.KeyKindNamed)
	must(t, "RecordKeyUse with an unknown key", ks.RecordKeyUse(ctx, []identity.KeyUse{
		{KeyID: identity.NewID(), At: time.Now(), IP: "192.0.2.1"},
		{KeyID: k.ID, At: time.Now(), IP: "192.0.2.2"},
	}))
	got, err := s.APIKey(ctx, a.ID, k.ID)
	must(t, "APIKey", err)
	if got.LastUsedIP != "192.0.2.2" {
		t.Errorf("a batch with an unknown key did not record the known one: ip %q", got.LastUsedIP)
	}
	must(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID))
	must(t, "RecordKeyUse after the key's account is gone", ks.RecordKeyUse(ctx, []identity.KeyUse{{KeyID: k.ID, At: time.Now(), IP: "192.0.2.3"}}))
}

func testRecordKeyUseCanceled(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "canceled")
	k := createKey(t, s, a, identity.KeyKindNamed)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := keyUseStore(t, s).RecordKeyUse(ctx, []identity.KeyUse{{KeyID: k.ID, At: time.Now(), IP: "192.0.2.1"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RecordKeyUse with a canceled context: err = %v, want context.Canceled", err)
	}
}
