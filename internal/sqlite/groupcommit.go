package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/audian/audian/internal/identity"
)

// maxGroup bounds the writes one group commit runs, so that the
// transaction holding the only write connection stays short.
const maxGroup = 256

// errClosed is what a grouped write returns once the store is closed.
var errClosed = errors.New("store closed")

// groupWrite is one small write waiting for its commit.
type groupWrite struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error // buffered: the committer never waits for the caller
}

// groupCommitter runs the small writes of every login (its audit entry,
// the address it came from) by group commit: it takes the first write
// waiting, every other write already queued behind it (up to maxGroup),
// runs them in one transaction and answers each caller once that
// transaction is committed. Under load, writes queue while the previous
// commit syncs, so a thousand logins a second cost a few dozen fsyncs
// instead of thousands; alone, a write waits for nothing but its own
// commit. No caller hears success before its write is durable.
func (db *DB) groupCommitter(queue <-chan groupWrite, stopped chan<- struct{}) {
	defer close(stopped)
	batch := make([]groupWrite, 0, maxGroup)
	for first := range queue {
		batch = append(batch[:0], first)
	more:
		for len(batch) < maxGroup {
			select {
			case w, ok := <-queue:
				if !ok {
					break more
				}
				batch = append(batch, w)
			default:
				break more
			}
		}
		db.commitGroup(batch)
	}
}

// commitGroup runs batch in one transaction and answers its callers. If
// the transaction fails, each write is tried alone, so that one bad write
// cannot cost the others theirs.
func (db *DB) commitGroup(batch []groupWrite) {
	// The callers' contexts are not the transaction's: these are security
	// records, written whatever became of the requests.
	ctx := context.Background()
	db.groupCommits.Add(1)
	err := inTx(ctx, db.write, func(tx *sql.Tx) error {
		for _, w := range batch {
			if err := w.fn(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	for _, w := range batch {
		w.done <- inTx(ctx, db.write, func(tx *sql.Tx) error { return w.fn(ctx, tx) })
	}
}

// grouped runs fn by group commit with the small writes other goroutines
// make at the same moment, and returns once it is committed. fn must
// touch only its own rows: it shares a transaction with strangers. When
// ctx ends first, grouped returns ctx's error; the write may still happen.
func (db *DB) grouped(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	w := groupWrite{fn: fn, done: make(chan error, 1)}
	db.groupMu.RLock()
	if db.groupQueue == nil {
		db.groupMu.RUnlock()
		return errClosed
	}
	select {
	case db.groupQueue <- w:
		db.groupMu.RUnlock()
	case <-ctx.Done():
		db.groupMu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AppendAudit appends e by group commit (see groupCommitter) and returns
// once e is committed.
func (db *DB) AppendAudit(ctx context.Context, e identity.AuditEntry) (err error) {
	defer wrap(&err, "sqlite.AppendAudit")
	return db.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return insertAudit(ctx, tx, db.clock(), e)
	})
}

// startGroupCommitter starts the group committer.
func (db *DB) startGroupCommitter() {
	q := make(chan groupWrite, maxGroup)
	db.groupQueue, db.groupStopped = q, make(chan struct{})
	go db.groupCommitter(q, db.groupStopped)
}

// stopGroupCommitter refuses new writes, lets the committer run those
// already queued, and waits for it.
func (db *DB) stopGroupCommitter() {
	db.groupMu.Lock()
	q := db.groupQueue
	db.groupQueue = nil
	db.groupMu.Unlock()
	if q != nil {
		close(q)
		<-db.groupStopped
	}
}
