package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/audian/audian/internal/identity"
)

// maxAuditBatch bounds the entries one group commit writes, so that the
// transaction holding the only write connection stays short.
const maxAuditBatch = 256

// errClosed is what AppendAudit returns once the store is closed.
var errClosed = errors.New("store closed")

// auditAppend is one AppendAudit waiting for its commit.
type auditAppend struct {
	e    identity.AuditEntry
	done chan error // buffered: the committer never waits for the caller
}

// auditCommitter writes AppendAudit's entries by group commit: it takes
// the first entry waiting, every other entry already queued behind it (up
// to maxAuditBatch), writes them in one transaction and answers each
// caller once that transaction is committed. Under load, entries queue
// while the previous commit syncs, so a thousand logins a second cost a
// few dozen fsyncs instead of a thousand; alone, an entry waits for
// nothing but its own commit. No caller hears success before its entry is
// durable.
func (db *DB) auditCommitter(queue <-chan auditAppend, stopped chan<- struct{}) {
	defer close(stopped)
	batch := make([]auditAppend, 0, maxAuditBatch)
	for first := range queue {
		batch = append(batch[:0], first)
	more:
		for len(batch) < maxAuditBatch {
			select {
			case a, ok := <-queue:
				if !ok {
					break more
				}
				batch = append(batch, a)
			default:
				break more
			}
		}
		db.commitAudit(batch)
	}
}

// commitAudit writes batch in one transaction and answers its callers. If
// the transaction fails, each entry is tried alone, so that one bad entry
// cannot cost the others their row.
func (db *DB) commitAudit(batch []auditAppend) {
	// The callers' contexts are not the transaction's: the entries are
	// security records, written whatever became of the requests.
	ctx := context.Background()
	db.auditCommits.Add(1)
	err := inTx(ctx, db.write, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, insertAuditSQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := db.clock()
		for _, a := range batch {
			if _, err := stmt.ExecContext(ctx, auditArgs(now, a.e)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, a := range batch {
			a.done <- err
		}
		return
	}
	for _, a := range batch {
		a.done <- inTx(ctx, db.write, func(tx *sql.Tx) error { return insertAudit(ctx, tx, db.clock(), a.e) })
	}
}

// AppendAudit appends e by group commit with the entries other goroutines
// append at the same moment, and returns once e is committed. When ctx
// ends first it returns ctx's error; the entry may still be written.
func (db *DB) AppendAudit(ctx context.Context, e identity.AuditEntry) (err error) {
	defer wrap(&err, "sqlite.AppendAudit")
	a := auditAppend{e: e, done: make(chan error, 1)}
	db.auditMu.RLock()
	if db.auditQueue == nil {
		db.auditMu.RUnlock()
		return errClosed
	}
	select {
	case db.auditQueue <- a:
		db.auditMu.RUnlock()
	case <-ctx.Done():
		db.auditMu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-a.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startAuditCommitter starts the group committer of AppendAudit.
func (db *DB) startAuditCommitter() {
	q := make(chan auditAppend, maxAuditBatch)
	db.auditQueue, db.auditStopped = q, make(chan struct{})
	go db.auditCommitter(q, db.auditStopped)
}

// stopAuditCommitter refuses new entries, lets the committer write those
// already queued, and waits for it.
func (db *DB) stopAuditCommitter() {
	db.auditMu.Lock()
	q := db.auditQueue
	db.auditQueue = nil
	db.auditMu.Unlock()
	if q != nil {
		close(q)
		<-db.auditStopped
	}
}
