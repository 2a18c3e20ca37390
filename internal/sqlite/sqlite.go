// Package sqlite implements identity.Store on SQLite through the pure Go
// driver modernc.org/sqlite, so that a single audian binary needs no cgo and
// no database server.
//
// The database runs in WAL mode with two connection pools: writes go
// through a pool of exactly one connection and start with BEGIN IMMEDIATE,
// so that every write transaction (an Update with its read-modify-write
// included) holds the write lock from its first statement and concurrent
// writers queue instead of failing with SQLITE_BUSY; reads use a pool of
// several query-only connections, which WAL lets run beside the writer.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/audian/audian/internal/identity"
)

var _ identity.Store = (*DB)(nil)

// DB is an identity.Store backed by one SQLite database file.
type DB struct {
	write *sql.DB    // one connection; every write transaction is BEGIN IMMEDIATE
	read  *sql.DB    // query-only connections
	stmts *stmtCache // prepared statements of read

	// The group commit of small writes (groupcommit.go); groupQueue is
	// nil once the store is closed.
	groupMu      sync.RWMutex
	groupQueue   chan groupWrite
	groupStopped chan struct{}
	groupCommits atomic.Int64 // group commits so far, for tests
	now          func() time.Time
}

// Option configures Open.
type Option func(*DB)

// WithClock makes the store take every time it writes (Created, Modified,
// revocation instants, event times) from now instead of time.Now, so that
// tests can fix it.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// busyTimeout bounds how long a connection waits for a lock held by another
// process sharing the file; inside one process the single write connection
// already serialises writers.
const busyTimeout = 10 * time.Second

// Open opens (creating it if needed) the database at path and applies every
// migration it has not seen yet.
func Open(ctx context.Context, path string, opts ...Option) (_ *DB, err error) {
	defer wrap(&err, "sqlite.Open")
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("invalid database path %q", path)
	}
	db := &DB{now: time.Now}
	for _, o := range opts {
		o(db)
	}
	// synchronous=FULL makes every committed transaction survive a power
	// loss, not only a process crash: a revocation that was acknowledged
	// must not come back.
	params := "_pragma=busy_timeout(" + strconv.Itoa(int(busyTimeout/time.Millisecond)) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	db.write, err = sql.Open("sqlite", path+"?"+params+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.write.SetMaxOpenConns(1)
	// The one write connection is kept open for the life of the store, so
	// that its pragmas and page cache are not rebuilt on every write.
	db.write.SetConnMaxIdleTime(0)
	db.write.SetConnMaxLifetime(0)
	if err := migrate(ctx, db.write); err != nil {
		db.write.Close()
		return nil, err
	}
	db.read, err = sql.Open("sqlite", path+"?"+params+"&_query_only=1")
	if err != nil {
		db.write.Close()
		return nil, err
	}
	db.stmts = newStmtCache(db.read)
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := db.read.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.startGroupCommitter()
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stopGroupCommitter()
	if db.stmts != nil {
		db.stmts.close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping reports whether both pools answer.
func (db *DB) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "sqlite.Ping")
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	return db.read.PingContext(ctx)
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, in file name order, every embedded migration that
// schema_migrations does not list, each in its own transaction together
// with its row in schema_migrations, so that a migration is applied whole
// or not at all. BEGIN IMMEDIATE makes two processes opening a new file at
// once apply each migration once.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		script, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = inTx(ctx, db, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(script)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return inTx(ctx, db, func(tx *sql.Tx) error {
		return renameKeys(ctx, tx)
	})
}

// unicodeNames is the version under which renameKeys records that it ran.
const unicodeNames = "0006_unicode_names"

// renameKeys gives every account whose name is not plain ASCII the key
// identity.NormalizeName computes today: keys were ASCII-only before, so
// "日本" had none and could not sign in. ASCII names keep their keys, so
// only the others are read. A new key that another account already holds
// is left alone: that account keeps the name, and the renamed one keeps
// the key it had. It runs once per database.
func renameKeys(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, unicodeNames).Scan(&n); err != nil || n > 0 {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name, name_norm FROM accounts WHERE name GLOB '*[^ -~]*'`)
	if err != nil {
		return err
	}
	type rekey struct{ id, key string }
	var todo []rekey
	for rows.Next() {
		var id, name, old string
		if err := rows.Scan(&id, &name, &old); err != nil {
			rows.Close()
			return err
		}
		if key := identity.NormalizeName(name); key != old {
			todo = append(todo, rekey{id, key})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET name_norm = ? WHERE id = ?
			AND NOT EXISTS (SELECT 1 FROM accounts WHERE name_norm = ? AND name_norm <> '' AND id <> ?)`, r.key, r.id, r.key, r.id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, unicodeNames, time.Now().UnixMilli())
	return err
}

// inTx runs fn in a transaction of db and commits it when fn returns nil.
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// update runs fn in a write transaction, with the audit entry of ctx
// when it has one (see auditedTx).
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.auditedTx(ctx, fn)
}

// clock returns the store's current time as it will read back: UTC,
// millisecond precision.
func (db *DB) clock() time.Time { return db.now().UTC().Truncate(time.Millisecond) }

// fnError carries an error returned by a caller's update function through
// the transaction, so that wrap can hand it back exactly as the caller
// returned it, as the Store contract requires.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// wrap adds op to an error once, at the boundary of an exported method. It
// leaves identity errors and the caller's own update errors as they are, so
// that errors.Is against the identity sentinels and against the caller's
// value keep working, and translates constraint violations the checks
// inside the transaction did not foresee by their code.
func wrap(errp *error, op string) {
	err := *errp
	if err == nil {
		return
	}
	var fe fnError
	if errors.As(err, &fe) {
		*errp = fe.err
		return
	}
	var ie *identity.Error
	if errors.As(err, &ie) {
		*errp = ie
		return
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			*errp = &identity.Error{Code: identity.EConflict, Message: "already exists", Err: fmt.Errorf("%s: %w", op, err)}
			return
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			*errp = identity.ErrNotFound
			return
		}
	}
	*errp = fmt.Errorf("%s: %w", op, err)
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// ms converts t to the stored form: unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts a stored time back, in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// norm returns t as it reads back from the database.
func norm(t time.Time) time.Time { return fromMS(ms(t)) }

// nextRevision returns the revision after rev: the write count plus one and
// fresh random digits, so that two writers that both counted to n still
// produce different revisions.
func nextRevision(rev string) string {
	n, _ := strconv.Atoi(strings.SplitN(rev, "-", 2)[0])
	var b [8]byte
	rand.Read(b[:])
	return strconv.Itoa(n+1) + "-" + hex.EncodeToString(b[:])
}

// marshal returns the JSON text of v for a TEXT column.
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// appendEvent adds an event to the feed inside tx, the transaction of the
// write it reports.
func appendEvent(ctx context.Context, tx *sql.Tx, now time.Time, kind identity.EventKind, id string, cutoff, expires time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (kind, subject, cutoff, expires, created) VALUES (?, ?, ?, ?, ?)`,
		string(kind), id, ms(cutoff), ms(expires), ms(now))
	return err
}

// changedCutoff returns the Cutoff of the event for a write that moved a
// TokensValidAfter or RevokedAt instant from before to after: after when it
// changed to a non-zero instant, zero otherwise.
func changedCutoff(before, after time.Time) time.Time {
	if ms(before) == ms(after) {
		return time.Time{}
	}
	return after
}

// exists reports whether query, run in tx, returns a row.
func exists(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// pageArgs returns the After cursor and the number of rows to fetch for p:
// one more than the page, to learn whether another page follows.
func pageArgs(p identity.Page) (after string, limit int) {
	return p.After, p.Limit() + 1
}

// cut trims ids (fetched with pageArgs) to the page and returns the next
// cursor: the last id of the page when more remain, "" otherwise.
func cut[T any](items []T, p identity.Page, id func(T) string) ([]T, string) {
	if len(items) <= p.Limit() {
		return items, ""
	}
	items = items[:p.Limit()]
	return items, id(items[len(items)-1])
}
