package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/identity/identitytest"
	"github.com/audian/audian/internal/sqlite"
)

// open returns a fresh store in a temporary directory, closed when t ends.
func open(t *testing.T, path string, opts ...sqlite.Option) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	identitytest.TestStore(t, func(t *testing.T) identity.Store {
		return open(t, filepath.Join(t.TempDir(), "audian.db"))
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audian.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := &identity.Account{ID: identity.NewID(), Name: "Durable", Realm: "durable.example.com", Enabled: true}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	u := &identity.User{ID: identity.NewID(), AccountID: a.ID, Username: "alice", FirstName: "A", LastName: "L", PrivLevel: identity.RoleAdmin}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening runs the migrator again; it must find every migration
	// applied and leave the data alone.
	for i := 0; i < 2; i++ {
		db, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		got, err := db.Account(ctx, a.ID)
		if err != nil {
			t.Fatalf("reopen %d: Account: %v", i, err)
		}
		if got.Name != a.Name || got.Revision != a.Revision || !got.Created.Equal(a.Created) {
			t.Errorf("reopen %d: Account = %+v, want %+v", i, got, a)
		}
		if _, err := db.UserByUsername(ctx, a.ID, "alice"); err != nil {
			t.Errorf("reopen %d: UserByUsername: %v", i, err)
		}
		evs, err := db.Events(ctx, 0, 100)
		if err != nil || len(evs) != 2 {
			t.Errorf("reopen %d: Events = %+v, %v; want 2", i, evs, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClock(t *testing.T) {
	ctx := t.Context()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.FixedZone("X", -7*3600))
	db := open(t, filepath.Join(t.TempDir(), "audian.db"), sqlite.WithClock(func() time.Time { return fixed }))
	a := &identity.Account{ID: identity.NewID(), Name: "Clocked", Enabled: true}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	want := fixed.UTC().Truncate(time.Millisecond)
	got, err := db.Account(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Created != want || got.Modified != want {
		t.Errorf("Created, Modified = %v, %v; want %v", got.Created, got.Modified, want)
	}
	evs, err := db.Events(ctx, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Created != want {
		t.Errorf("Events = %+v, %v; want one created at %v", evs, err, want)
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), "x.db?mode=ro"); err == nil {
		t.Error("Open accepted a path with a query")
	}
}
