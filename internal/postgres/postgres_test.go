package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/identity/identitytest"
	"github.com/audian/audian/internal/postgres"
)

// testDSN names the database this run created, "" when PostgreSQL tests
// are skipped.
var testDSN string

// TestMain creates a database of its own for the run, so that runs never
// see each other's data, and drops it at the end.
func TestMain(m *testing.M) {
	base := os.Getenv("AUDIAN_TEST_POSTGRES_DSN")
	if base == "" {
		os.Exit(m.Run())
	}
	name := "audian_test_" + randomHex(6)
	if err := adminExec(base, "CREATE DATABASE "+name); err != nil {
		fmt.Fprintf(os.Stderr, "create test database: %v\n", err)
		os.Exit(1)
	}
	testDSN = withParams(base, name, "")
	code := m.Run()
	if err := adminExec(base, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "drop test database: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// adminExec runs one statement on the database AUDIAN_TEST_POSTGRES_DSN
// names.
func adminExec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// withParams returns dsn pointing at database dbname and, when schema is
// set, with search_path set to it; it handles both DSN forms pgx accepts.
func withParams(dsn, dbname, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			panic(err)
		}
		u.Path = "/" + dbname
		q := u.Query()
		if schema != "" {
			q.Set("search_path", schema)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	// Later keys override earlier ones in the key=value form.
	dsn += " dbname=" + dbname
	if schema != "" {
		dsn += " search_path=" + schema
	}
	return dsn
}

// newSchema creates an empty schema in the run's database and returns a
// DSN whose connections use it, so that every store starts empty.
func newSchema(t *testing.T) string {
	t.Helper()
	if testDSN == "" {
		t.Skip("AUDIAN_TEST_POSTGRES_DSN not set: skipping PostgreSQL tests")
	}
	schema := "s_" + randomHex(8)
	if err := adminExec(testDSN, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return withParams(testDSN, dbName(t), schema)
}

// dbName returns the database name of testDSN.
func dbName(t *testing.T) string {
	cfg, err := pgx.ParseConfig(testDSN)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// open opens a DB on dsn, closed when the test ends.
func open(t *testing.T, dsn string, opts ...postgres.Option) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStore runs the conformance suite. Without a PostgreSQL server every
// case skips on its own (newSchema), so that `go test -v` lists them.
func TestStore(t *testing.T) {
	identitytest.TestStore(t, func(t *testing.T) identity.Store {
		return open(t, newSchema(t))
	})
}

// TestOpenConcurrently starts several processes' worth of Open on one
// empty schema at once: the advisory lock must let exactly one migrate and
// the others find the schema ready.
func TestOpenConcurrently(t *testing.T) {
	dsn := newSchema(t)
	const n = 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(t.Context(), dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	// A reopen applies nothing and still works.
	db := open(t, dsn)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestWithClock checks that the store takes its times from the clock it is
// given, normalized to UTC microseconds.
func TestWithClock(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", -7*3600))
	db := open(t, newSchema(t), postgres.WithClock(func() time.Time { return now }))
	a := &identity.Account{ID: identity.NewID(), Name: "Clocked", Enabled: true}
	if err := db.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	want := now.UTC().Truncate(time.Microsecond)
	if !a.Created.Equal(want) || a.Created.Location() != time.UTC || a.Created != a.Modified {
		t.Errorf("Created/Modified = %v/%v, want %v", a.Created, a.Modified, want)
	}
	got, err := db.Account(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if got.Created != want {
		t.Errorf("read Created = %v, want %v", got.Created, want)
	}
	if !strings.HasPrefix(a.Revision, "1-") || len(a.Revision) != 2+16 {
		t.Errorf("Revision = %q, want 1-<16 hex>", a.Revision)
	}
	got, err = db.UpdateAccount(t.Context(), a.ID, func(*identity.Account) error { return nil })
	if err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	if !strings.HasPrefix(got.Revision, "2-") {
		t.Errorf("Revision after update = %q, want 2-<16 hex>", got.Revision)
	}
}

// TestErrorsKeepContext checks that errors carry the function's context
// and still match the identity sentinels.
func TestErrorsKeepContext(t *testing.T) {
	db := open(t, newSchema(t))
	id := identity.NewID()
	_, err := db.Account(t.Context(), id)
	if !errors.Is(err, identity.ErrNotFound) || identity.ErrorCode(err) != identity.ENotFound {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), id) {
		t.Errorf("err = %q, want it to name the account", err)
	}
}

// TestTwoNodes opens two DBs on one database, as two server processes
// would, and checks that each sees the other's writes and events and that
// Listen on one wakes for a write through the other.
func TestTwoNodes(t *testing.T) {
	dsn := newSchema(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := t.Context()

	wakes := make(chan struct{}, 1)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Listen(lctx, func() {
			select {
			case wakes <- struct{}{}:
			default:
			}
		})
	}()
	waitWake := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case err := <-done:
			t.Fatalf("%s: Listen returned early: %v", what, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wake within 10s", what)
		}
	}
	waitWake("initial wake once listening")

	acct := &identity.Account{ID: identity.NewID(), Name: "Node A", Enabled: true}
	if err := a.CreateAccount(ctx, acct); err != nil {
		t.Fatalf("CreateAccount on a: %v", err)
	}
	waitWake("wake after a write on the other node")
	got, err := b.Account(ctx, acct.ID)
	if err != nil || got.Revision != acct.Revision {
		t.Fatalf("Account on b = %+v, %v; want the account written by a", got, err)
	}
	evs, err := b.Events(ctx, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Kind != identity.EventAccount || evs[0].ID != acct.ID {
		t.Fatalf("Events on b = %+v, %v; want a's account event", evs, err)
	}

	// And the other way round, through an update serialized across nodes.
	if _, err := b.UpdateAccount(ctx, acct.ID, func(x *identity.Account) error { x.Language = "de-de"; return nil }); err != nil {
		t.Fatalf("UpdateAccount on b: %v", err)
	}
	got, err = a.Account(ctx, acct.ID)
	if err != nil || got.Language != "de-de" {
		t.Fatalf("Account on a = %+v, %v; want b's update", got, err)
	}
	evs, err = a.Events(ctx, evs[0].Seq, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != acct.ID {
		t.Fatalf("Events on a = %+v, %v; want b's update event", evs, err)
	}

	stop()
	if err := <-done; err != nil {
		t.Errorf("Listen after its context ended = %v, want nil", err)
	}
}

// TestEventsNeverSkipped races writers on two nodes against a follower
// that polls Events as fast as it can. Sequence numbers are drawn at insert
// and transactions commit in any order, so without serialized event inserts
// the follower could move past a number that commits later and miss it.
func TestEventsNeverSkipped(t *testing.T) {
	dsn := newSchema(t)
	nodes := []*postgres.DB{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	const writers, perWriter = 8, 25

	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := nodes[w%len(nodes)]
			for i := 0; i < perWriter; i++ {
				if err := db.RevokeToken(ctx, fmt.Sprintf("w%d-%d", w, i), time.Now().Add(time.Hour)); err != nil {
					t.Errorf("RevokeToken: %v", err)
					return
				}
			}
		}()
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()

	seen := map[string]bool{}
	var after int64
	follow := func() {
		evs, err := nodes[1].Events(ctx, after, 1000)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		for _, e := range evs {
			seen[e.ID] = true
			after = e.Seq
		}
	}
	for running := true; running; {
		select {
		case <-writing:
			running = false
		default:
		}
		follow()
	}
	follow()
	if len(seen) != writers*perWriter {
		t.Errorf("follower saw %d of %d events: some were skipped", len(seen), writers*perWriter)
	}
}

// TestDeleteRacesCreateChild races DeleteAccount against CreateAccount of
// a child: exactly one may win, and the loser must get the error that
// explains why (ErrHasChildren or ErrNotFound), never a driver error.
func TestDeleteRacesCreateChild(t *testing.T) {
	db := open(t, newSchema(t))
	ctx := t.Context()
	for i := 0; i < 20; i++ {
		parent := &identity.Account{ID: identity.NewID(), Name: "Parent " + randomHex(4), Enabled: true}
		if err := db.CreateAccount(ctx, parent); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		child := &identity.Account{ID: identity.NewID(), ParentID: parent.ID, Name: "Child " + randomHex(4), Enabled: true}
		var createErr, deleteErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); createErr = db.CreateAccount(ctx, child) }()
		go func() { defer wg.Done(); deleteErr = db.DeleteAccount(ctx, parent.ID) }()
		wg.Wait()
		switch {
		case createErr == nil && errors.Is(deleteErr, identity.ErrHasChildren):
		case deleteErr == nil && errors.Is(createErr, identity.ErrNotFound):
		default:
			t.Fatalf("create child: %v; delete parent: %v; want exactly one to win", createErr, deleteErr)
		}
	}
}
