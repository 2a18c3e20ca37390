package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.WebSessionStore = (*DB)(nil)

const webSessionCols = `id, hash, account_id, user_id, created, last_seen, expires_at, client_ip, user_agent`

func scanWebSession(row scanner) (*identity.WebSession, error) {
	var s identity.WebSession
	var created, seen, expires int64
	err := row.Scan(&s.ID, &s.Hash, &s.AccountID, &s.UserID, &created, &seen, &expires, &s.ClientIP, &s.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.Created, s.LastSeen, s.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return &s, nil
}

// CreateWebSession stores s for an existing user; see
// identity.WebSessionStore.
func (db *DB) CreateWebSession(ctx context.Context, s *identity.WebSession) (err error) {
	defer wrap(&err, "sqlite.CreateWebSession")
	if err := s.Validate(); err != nil {
		return err
	}
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE account_id = ? AND id = ?`, s.AccountID, s.UserID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		now := db.clock()
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_sessions (`+webSessionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, s.Hash, s.AccountID, s.UserID, ms(now), ms(now), ms(s.ExpiresAt),
			s.ClientIP, s.UserAgent); err != nil {
			return err
		}
		s.Created, s.LastSeen, s.ExpiresAt = now, now, norm(s.ExpiresAt)
		return nil
	})
}

// WebSessionByHash returns the session whose hash is hash.
func (db *DB) WebSessionByHash(ctx context.Context, hash []byte) (_ *identity.WebSession, err error) {
	defer wrap(&err, "sqlite.WebSessionByHash")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	return scanWebSession(db.read.QueryRowContext(ctx, `SELECT `+webSessionCols+` FROM web_sessions WHERE hash = ?`, hash))
}

// TouchWebSession moves the session's LastSeen forward to at.
func (db *DB) TouchWebSession(ctx context.Context, hash []byte, at time.Time) (err error) {
	defer wrap(&err, "sqlite.TouchWebSession")
	if len(hash) == 0 {
		return identity.ErrNotFound
	}
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM web_sessions WHERE hash = ?`, hash)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE web_sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?`, ms(at), hash, ms(at))
		return err
	})
}

// DeleteWebSession removes one session of the user. The single write
// connection serialises racing deletes; only the first finds the row.
func (db *DB) DeleteWebSession(ctx context.Context, accountID, userID, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteWebSession")
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE id = ? AND account_id = ? AND user_id = ?`, id, accountID, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return identity.ErrNotFound
		}
		return nil
	})
}

// DeleteUserWebSessions removes the user's sessions but except.
func (db *DB) DeleteUserWebSessions(ctx context.Context, accountID, userID, except string) (n int, err error) {
	defer wrap(&err, "sqlite.DeleteUserWebSessions")
	err = inTx(ctx, db.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE account_id = ? AND user_id = ? AND id <> ?`, accountID, userID, except)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		n = int(m)
		return err
	})
	return n, err
}

// WebSessions lists the user's sessions, newest first.
func (db *DB) WebSessions(ctx context.Context, accountID, userID string) (_ []*identity.WebSession, err error) {
	defer wrap(&err, "sqlite.WebSessions")
	rows, err := db.read.QueryContext(ctx, `SELECT `+webSessionCols+` FROM web_sessions
		WHERE account_id = ? AND user_id = ? ORDER BY created DESC, id LIMIT ?`, accountID, userID, identity.MaxWebSessionsPerUser)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*identity.WebSession
	for rows.Next() {
		s, err := scanWebSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PruneWebSessions deletes the sessions past their absolute end.
func (db *DB) PruneWebSessions(ctx context.Context, before time.Time) (n int, err error) {
	defer wrap(&err, "sqlite.PruneWebSessions")
	err = inTx(ctx, db.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, ms(before))
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		n = int(m)
		return err
	})
	return n, err
}
