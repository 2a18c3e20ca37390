package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statement cache. Every query text audian runs is a
// constant or one of a few combinations of constants, so the bound is
// never reached in practice; should it be, further queries are prepared
// for one use and closed.
const maxStmts = 256

// stmtCache keeps one prepared *sql.Stmt per query text of the read pool.
// Parsing and planning a statement cost about a third of a list request's
// CPU when every query was prepared afresh; a *sql.Stmt is prepared once
// on each connection it runs on and reused from then on.
type stmtCache struct {
	pool *sql.DB
	mu   sync.RWMutex
	m    map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

// get returns the cached statement for query, preparing it on first use.
// done must be called when the caller is through with the statement (and
// its rows): it closes statements the cache could not keep.
func (c *stmtCache) get(ctx context.Context, query string) (stmt *sql.Stmt, done func(), err error) {
	c.mu.RLock()
	stmt = c.m[query]
	c.mu.RUnlock()
	if stmt != nil {
		return stmt, noop, nil
	}
	stmt, err = c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, noop, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[query]; old != nil {
		stmt.Close()
		return old, noop, nil
	}
	if len(c.m) >= maxStmts {
		return stmt, func() { stmt.Close() }, nil
	}
	c.m[query] = stmt
	return stmt, noop, nil
}

func noop() {}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// row is a single-row result whose statement may have failed to prepare;
// it satisfies scanner like *sql.Row.
type row struct {
	r    *sql.Row
	err  error
	done func()
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.done()
	return r.r.Scan(dest...)
}

// queryRow runs query on the read pool through the statement cache.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) row {
	stmt, done, err := db.stmts.get(ctx, query)
	if err != nil {
		return row{err: err}
	}
	return row{r: stmt.QueryRowContext(ctx, args...), done: done}
}

// rows is a result set whose statement is released with it.
type rows struct {
	*sql.Rows
	done func()
}

func (r rows) Close() error {
	err := r.Rows.Close()
	r.done()
	return err
}

// query runs query on the read pool through the statement cache. The
// caller closes the rows.
func (db *DB) query(ctx context.Context, query string, args ...any) (rows, error) {
	stmt, done, err := db.stmts.get(ctx, query)
	if err != nil {
		return rows{}, err
	}
	rs, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		done()
		return rows{}, err
	}
	return rows{Rows: rs, done: done}, nil
}
