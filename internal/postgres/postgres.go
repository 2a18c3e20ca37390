package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/audian/audian/internal/identity"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock classes, the first half of the two-int advisory lock key.
// The second half is derived from the schema name (see DB.lockKey), so that
// deployments living in different schemas of one database do not contend.
const (
	lockMigrate   int32 = 0x61756401 // "aud\x01"
	lockEvents    int32 = 0x61756402
	lockBootstrap int32 = 0x61756403
)

// notifyChannel is the LISTEN/NOTIFY channel that announces new events.
const notifyChannel = "audian_events"

// DB is an identity.Store backed by a PostgreSQL connection pool. It is
// safe for concurrent use, also by several processes on one database.
type DB struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	lockKey int32
}

var _ identity.Store = (*DB)(nil)

// Option configures Open.
type Option func(*DB)

// WithClock makes the DB take Created, Modified, cutoffs and event times
// from now instead of time.Now, so that tests control time.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// Open connects to the database named by dsn (a URL or key=value string as
// pgx accepts, including runtime parameters such as search_path) and brings
// its schema up to date before returning.
func Open(ctx context.Context, dsn string, opts ...Option) (_ *DB, err error) {
	defer wrap(&err, "postgres: open")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db := &DB{pool: pool, now: time.Now}
	for _, o := range opts {
		o(db)
	}
	if err := db.init(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// init derives the lock key from the schema tables are created in and
// applies pending migrations.
func (db *DB) init(ctx context.Context) error {
	var schema string
	if err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	// current_schema() is NULL when no schema of search_path exists; the
	// scan above then fails, which is the right outcome: there is nowhere
	// to create tables.
	h := fnv.New32a()
	h.Write([]byte(schema))
	db.lockKey = int32(h.Sum32())
	if err := db.migrate(ctx); err != nil {
		return err
	}
	return db.ensureAuditPartitions(ctx, db.clock())
}

// migrate applies, in name order, every embedded migration not yet recorded
// in schema_migrations. The advisory lock is taken before looking, so a
// process that waited for another one finds its work done.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockMigrate, db.lockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version text PRIMARY KEY,
			applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		done := map[string]bool{}
		for _, v := range applied {
			done[v] = true
		}
		for _, name := range names {
			version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
			if done[version] {
				continue
			}
			sql, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			// Without arguments pgx uses the simple protocol, which
			// accepts a file of several statements.
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
				return err
			}
		}
		if done[unicodeNames] {
			return nil
		}
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
// the key it had. It runs once per database, under the migration lock.
func renameKeys(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, name, name_norm FROM accounts WHERE name ~ '[^ -~]'`)
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
		if _, err := tx.Exec(ctx, `UPDATE accounts SET name_norm = $2 WHERE id = $1
			AND NOT EXISTS (SELECT 1 FROM accounts WHERE name_norm = $2 AND name_norm <> '' AND id <> $1)`, r.id, r.key); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, unicodeNames)
	return err
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Listen calls wake once it listens, and then once for every notification
// that events were appended, by this process or any other, until ctx ends;
// it then returns nil. It returns the error that broke the connection
// otherwise, and the caller decides whether to listen again.
//
// The first call covers events appended before LISTEN took effect. wake
// runs on Listen's goroutine and must not block: a non-blocking send on a
// channel with a buffer of one is enough, since a wake only means "poll
// Events now" and several may be merged.
func (db *DB) Listen(ctx context.Context, wake func()) (err error) {
	defer wrap(&err, "postgres: listen")
	// A dedicated connection, not one of the pool: LISTEN is a session
	// state, and a connection interrupted by ctx is simply closed.
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return ctxDone(ctx, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return ctxDone(ctx, err)
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return ctxDone(ctx, err)
		}
		wake()
	}
}

// ctxDone returns nil when err is due to ctx ending, and err otherwise.
func ctxDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// appendEvents inserts evs, the audit entry of ctx if any (auditEvents),
// and notifies listeners. It must be the last statement group of a write
// transaction.
//
// Sequence numbers come from a bigserial, which is assigned at insert and
// not at commit: without care, a transaction could take seq 7, another take
// seq 8 and commit first, and a follower that read 8 would then ask for
// events after 8 and never see 7. The transaction-scoped advisory lock
// taken here is held from before the seq is drawn until commit, so event
// inserts commit in seq order: once seq n is visible, every smaller seq is
// visible too or was rolled back. Taking it last keeps it held only for
// the moment of insert and commit; its holder never waits for a row lock,
// so it cannot deadlock with writers holding row locks.
func (db *DB) appendEvents(ctx context.Context, tx pgx.Tx, evs ...identity.Event) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockEvents, db.lockKey); err != nil {
		return err
	}
	created := db.clock()
	var seq int64
	for _, e := range evs {
		err := tx.QueryRow(ctx, `INSERT INTO events (kind, subject, cutoff, expires, created)
			VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
			string(e.Kind), e.ID, nullTime(e.Cutoff), nullTime(e.Expires), created).Scan(&seq)
		if err != nil {
			return err
		}
	}
	if err := db.auditEvents(ctx, tx, evs); err != nil {
		return err
	}
	// NOTIFY is delivered at commit, and not at all on rollback.
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, strconv.FormatInt(seq, 10))
	return err
}

const qEvents = `SELECT seq, kind, subject, cutoff, expires, created FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`

// Events returns up to limit events with Seq > after, in Seq order. A limit
// of 0 or less means DefaultPageSize.
func (db *DB) Events(ctx context.Context, after int64, limit int) (_ []identity.Event, err error) {
	defer wrap(&err, "postgres: events after %d", after)
	if limit <= 0 {
		limit = identity.DefaultPageSize
	}
	rows, err := db.pool.Query(ctx, qEvents, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (identity.Event, error) {
		var e identity.Event
		var kind string
		var cutoff, expires, created *time.Time
		if err := row.Scan(&e.Seq, &kind, &e.ID, &cutoff, &expires, &created); err != nil {
			return e, err
		}
		e.Kind = identity.EventKind(kind)
		e.Cutoff, e.Expires, e.Created = fromNull(cutoff), fromNull(expires), fromNull(created)
		return e, nil
	})
}

// PruneEvents deletes events created before t and returns how many.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune events")
	tag, err := db.pool.Exec(ctx, `DELETE FROM events WHERE created < $1`, before)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// RevokeToken records the revocation as an event only: the feed is kept at
// least as long as the longest token lifetime, which is as long as the
// revocation matters.
func (db *DB) RevokeToken(ctx context.Context, jti string, expires time.Time) (err error) {
	defer wrap(&err, "postgres: revoke token %q", jti)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventToken, ID: jti, Expires: normTime(expires)})
	})
}

// clock returns the Store's current time in the form it stores.
func (db *DB) clock() time.Time { return normTime(db.now()) }

// normTime returns t in UTC at PostgreSQL's microsecond precision (Truncate
// also drops the monotonic reading), so that what a caller holds after a
// write equals what a later read returns.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// nullTime maps the zero time to SQL NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return normTime(t)
}

// fromNull maps SQL NULL to the zero time.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return normTime(*t)
}

// nextRevision returns the revision of the write that follows prev ("" for
// a create): "<n>-<16 hex>", n counting the writes of the row. Row locks
// already make n unique while the row lives; the random part keeps a row
// deleted and created again under the same id from repeating a revision a
// client may still hold.
func nextRevision(prev string) string {
	n, _, _ := strings.Cut(prev, "-")
	i, _ := strconv.Atoi(n)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("postgres: crypto/rand failed: " + err.Error())
	}
	return strconv.Itoa(i+1) + "-" + hex.EncodeToString(b[:])
}

// translate maps a driver error to the identity error the Store contract
// names, by SQLSTATE code and constraint name, never by message. Other
// errors are returned unchanged.
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "23505": // unique_violation
		switch pgErr.ConstraintName {
		case "accounts_realm_lower_key":
			return identity.ErrRealmTaken
		case "accounts_name_norm_key":
			return identity.ErrNameTaken
		case "users_account_username_key":
			return identity.ErrUsernameTaken
		}
		return fmt.Errorf("%w: %s", identity.ErrConflict, pgErr.ConstraintName)
	case "23503": // foreign_key_violation: the referenced row is gone
		return identity.ErrNotFound
	}
	return err
}

// isForeignKeyViolation reports whether err is SQLSTATE 23503.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// wrap translates *errp and adds the context of the calling function. It
// wraps with %w, so errors.Is and errors.As still find identity errors.
func wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	*errp = fmt.Errorf(format+": %w", append(args, translate(*errp))...)
}

// fnError marks an error returned by an update's fn, which the Store
// contract says is returned as is.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// update runs the read-modify-write body in a transaction and returns fn's
// error unwrapped, or any other error translated and wrapped with context.
func (db *DB) update(ctx context.Context, body func(tx pgx.Tx) error, format string, args ...any) error {
	err := pgx.BeginFunc(ctx, db.pool, body)
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	wrap(&err, format, args...)
	return err
}

// errIDChanged reports an fn that changed an id, which the contract forbids.
var errIDChanged = errors.New("update function changed an id")

// pageOf trims a result fetched with LIMIT size+1 and returns the cursor of
// the next page, "" when this is the last one.
func pageOf[T any](items []T, size int, id func(T) string) ([]T, string) {
	if len(items) <= size {
		return items, ""
	}
	items = items[:size]
	return items, id(items[size-1])
}
