package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.WebSessionStore = (*DB)(nil)

const webSessionCols = `id, hash, account_id, user_id, created, last_seen, expires_at, client_ip, user_agent`

func scanWebSession(row pgx.Row) (*identity.WebSession, error) {
	var s identity.WebSession
	if err := row.Scan(&s.ID, &s.Hash, &s.AccountID, &s.UserID, &s.Created, &s.LastSeen, &s.ExpiresAt, &s.ClientIP, &s.UserAgent); err != nil {
		return nil, err
	}
	s.Created, s.LastSeen, s.ExpiresAt = normTime(s.Created), normTime(s.LastSeen), normTime(s.ExpiresAt)
	return &s, nil
}

// CreateWebSession stores s for an existing user; see
// identity.WebSessionStore. The INSERT ... SELECT finds the user and
// writes in one statement, so that a user deleted meanwhile leaves no
// session behind (the foreign key would refuse it anyway).
func (db *DB) CreateWebSession(ctx context.Context, s *identity.WebSession) (err error) {
	defer wrap(&err, "postgres: create web session")
	if err := s.Validate(); err != nil {
		return err
	}
	now := db.clock()
	expires := normTime(s.ExpiresAt)
	tag, err := db.pool.Exec(ctx, `INSERT INTO web_sessions (`+webSessionCols+`)
		SELECT $1, $2, $3, $4, $5, $5, $6, $7, $8 FROM users WHERE account_id = $3 AND id = $4`,
		s.ID, s.Hash, s.AccountID, s.UserID, now, expires, s.ClientIP, s.UserAgent)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	s.Created, s.LastSeen, s.ExpiresAt = now, now, expires
	return nil
}

// WebSessionByHash returns the session whose hash is hash.
func (db *DB) WebSessionByHash(ctx context.Context, hash []byte) (_ *identity.WebSession, err error) {
	defer wrap(&err, "postgres: web session by hash")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	return scanWebSession(db.pool.QueryRow(ctx, `SELECT `+webSessionCols+` FROM web_sessions WHERE hash = $1`, hash))
}

// TouchWebSession moves the session's LastSeen forward to at, in one
// statement: GREATEST keeps the latest of racing touches.
func (db *DB) TouchWebSession(ctx context.Context, hash []byte, at time.Time) (err error) {
	defer wrap(&err, "postgres: touch web session")
	if len(hash) == 0 {
		return identity.ErrNotFound
	}
	tag, err := db.pool.Exec(ctx, `UPDATE web_sessions SET last_seen = GREATEST(last_seen, $2) WHERE hash = $1`, hash, normTime(at))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// DeleteWebSession removes one session of the user. Of racing DELETEs
// only the first to commit finds the row.
func (db *DB) DeleteWebSession(ctx context.Context, accountID, userID, id string) (err error) {
	defer wrap(&err, "postgres: delete web session %q", id)
	tag, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE id = $1 AND account_id = $2 AND user_id = $3`, id, accountID, userID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// DeleteUserWebSessions removes the user's sessions but except.
func (db *DB) DeleteUserWebSessions(ctx context.Context, accountID, userID, except string) (_ int, err error) {
	defer wrap(&err, "postgres: delete web sessions of user %q", userID)
	tag, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE account_id = $1 AND user_id = $2 AND id <> $3`, accountID, userID, except)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// WebSessions lists the user's sessions, newest first.
func (db *DB) WebSessions(ctx context.Context, accountID, userID string) (_ []*identity.WebSession, err error) {
	defer wrap(&err, "postgres: web sessions of user %q", userID)
	rows, err := db.pool.Query(ctx, `SELECT `+webSessionCols+` FROM web_sessions
		WHERE account_id = $1 AND user_id = $2 ORDER BY created DESC, id LIMIT $3`, accountID, userID, identity.MaxWebSessionsPerUser)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.WebSession, error) { return scanWebSession(row) })
}

// PruneWebSessions deletes the sessions past their absolute end.
func (db *DB) PruneWebSessions(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "postgres: prune web sessions")
	tag, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= $1`, normTime(before))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
