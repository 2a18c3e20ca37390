package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.OAuthStore = (*DB)(nil)

const oauthAppCols = `id, account_id, doc, revision, created, modified`

func scanOAuthApp(row scanner) (*identity.OAuthApp, error) {
	var (
		a                 identity.OAuthApp
		id, acct, doc     string
		rev               string
		created, modified int64
	)
	err := row.Scan(&id, &acct, &doc, &rev, &created, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, err
	}
	a.ID, a.AccountID, a.Revision = id, acct, rev
	a.Created, a.Modified = fromMS(created), fromMS(modified)
	a.PrevSecretUntil = norm(a.PrevSecretUntil)
	return &a, nil
}

// CreateOAuthApp stores a in its account.
func (db *DB) CreateOAuthApp(ctx context.Context, a *identity.OAuthApp) (err error) {
	defer wrap(&err, "sqlite.CreateOAuthApp")
	if a.ID == "" {
		a.ID = identity.NewID()
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, a.AccountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		now := db.clock()
		a.Created, a.Modified, a.Revision = now, now, nextRevision("")
		a.PrevSecretUntil = norm(a.PrevSecretUntil)
		doc, err := marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_apps (`+oauthAppCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			a.ID, a.AccountID, doc, a.Revision, ms(now), ms(now)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, now, identity.EventAPIKey, a.ID, time.Time{}, time.Time{})
	})
}

// OAuthApp returns the application with client_id id.
func (db *DB) OAuthApp(ctx context.Context, id string) (_ *identity.OAuthApp, err error) {
	defer wrap(&err, "sqlite.OAuthApp")
	return scanOAuthApp(db.read.QueryRowContext(ctx, `SELECT `+oauthAppCols+` FROM oauth_apps WHERE id = ?`, id))
}

// OAuthApps lists an account's applications.
func (db *DB) OAuthApps(ctx context.Context, accountID string, p identity.Page) (_ []*identity.OAuthApp, _ string, err error) {
	defer wrap(&err, "sqlite.OAuthApps")
	after, limit := pageArgs(p)
	rows, err := db.read.QueryContext(ctx, `SELECT `+oauthAppCols+` FROM oauth_apps
		WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?`, accountID, after, limit)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []*identity.OAuthApp
	for rows.Next() {
		a, err := scanOAuthApp(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(a *identity.OAuthApp) string { return a.ID })
	return items, next, nil
}

// UpdateOAuthApp runs fn on the stored application.
func (db *DB) UpdateOAuthApp(ctx context.Context, id string, fn func(*identity.OAuthApp) error) (_ *identity.OAuthApp, err error) {
	defer wrap(&err, "sqlite.UpdateOAuthApp")
	var out *identity.OAuthApp
	err = db.update(ctx, func(tx *sql.Tx) error {
		a, err := scanOAuthApp(tx.QueryRowContext(ctx, `SELECT `+oauthAppCols+` FROM oauth_apps WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return fnError{err}
		}
		if a.ID != id {
			return errors.New("update function changed an id")
		}
		now := db.clock()
		a.Modified, a.Revision = now, nextRevision(a.Revision)
		a.PrevSecretUntil = norm(a.PrevSecretUntil)
		doc, err := marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_apps SET doc = ?, revision = ?, modified = ? WHERE id = ?`,
			doc, a.Revision, ms(now), id); err != nil {
			return err
		}
		out = a
		return appendEvent(ctx, tx, now, identity.EventAPIKey, id, time.Time{}, time.Time{})
	})
	return out, err
}

// DeleteOAuthApp removes the application; the foreign keys take its grants,
// tickets and refresh tokens with it. Its id and every grant id get a
// cutoff, which revokes the tokens they issued.
func (db *DB) DeleteOAuthApp(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteOAuthApp")
	return db.update(ctx, func(tx *sql.Tx) error {
		grants, err := stringsOf(ctx, tx, `SELECT id FROM oauth_grants WHERE app_id = ?`, id)
		if err != nil {
			return err
		}
		if err := db.revokeFamilies(ctx, tx, `SELECT access_jti, access_expires FROM oauth_refresh WHERE app_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_apps WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrNotFound
		}
		now := db.clock()
		if err := appendEvent(ctx, tx, now, identity.EventAPIKey, id, now, time.Time{}); err != nil {
			return err
		}
		for _, g := range grants {
			if err := appendEvent(ctx, tx, now, identity.EventAPIKey, g, now, time.Time{}); err != nil {
				return err
			}
		}
		return nil
	})
}

func stringsOf(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// revokeFamilies appends a token event for every live access token that
// query (selecting access_jti, access_expires) names.
func (db *DB) revokeFamilies(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	type tok struct {
		jti string
		exp int64
	}
	var toks []tok
	for rows.Next() {
		var t tok
		if err := rows.Scan(&t.jti, &t.exp); err != nil {
			rows.Close()
			return err
		}
		toks = append(toks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := db.clock()
	for _, t := range toks {
		if t.jti == "" || fromMS(t.exp).Before(now) {
			continue
		}
		if err := appendEvent(ctx, tx, now, identity.EventToken, t.jti, time.Time{}, fromMS(t.exp)); err != nil {
			return err
		}
	}
	return nil
}

const oauthGrantCols = `id, account_id, user_id, app_id, scopes, created, modified`

func scanOAuthGrant(row scanner) (*identity.OAuthGrant, error) {
	var (
		g                 identity.OAuthGrant
		scopes            string
		created, modified int64
	)
	err := row.Scan(&g.ID, &g.AccountID, &g.UserID, &g.AppID, &scopes, &created, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &g.Scopes); err != nil {
		return nil, err
	}
	g.Created, g.Modified = fromMS(created), fromMS(modified)
	return &g, nil
}

// SaveOAuthGrant creates or replaces the grant of a user to an application.
func (db *DB) SaveOAuthGrant(ctx context.Context, g *identity.OAuthGrant) (err error) {
	defer wrap(&err, "sqlite.SaveOAuthGrant")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE account_id = ? AND id = ?`, g.AccountID, g.UserID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		scopes, err := marshal(g.Scopes)
		if err != nil {
			return err
		}
		now := db.clock()
		old, err := scanOAuthGrant(tx.QueryRowContext(ctx, `SELECT `+oauthGrantCols+` FROM oauth_grants
			WHERE user_id = ? AND app_id = ?`, g.UserID, g.AppID))
		switch {
		case err == nil:
			g.ID, g.Created, g.Modified = old.ID, old.Created, now
			_, err = tx.ExecContext(ctx, `UPDATE oauth_grants SET scopes = ?, modified = ? WHERE id = ?`, scopes, ms(now), g.ID)
		case errors.Is(err, identity.ErrNotFound):
			g.ID, g.Created, g.Modified = identity.NewID(), now, now
			_, err = tx.ExecContext(ctx, `INSERT INTO oauth_grants (`+oauthGrantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				g.ID, g.AccountID, g.UserID, g.AppID, scopes, ms(now), ms(now))
		}
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, now, identity.EventAPIKey, g.ID, time.Time{}, time.Time{})
	})
}

// OAuthGrant returns the grant of userID to appID.
func (db *DB) OAuthGrant(ctx context.Context, userID, appID string) (_ *identity.OAuthGrant, err error) {
	defer wrap(&err, "sqlite.OAuthGrant")
	return scanOAuthGrant(db.read.QueryRowContext(ctx, `SELECT `+oauthGrantCols+` FROM oauth_grants
		WHERE user_id = ? AND app_id = ?`, userID, appID))
}

// OAuthGrants lists a user's grants.
func (db *DB) OAuthGrants(ctx context.Context, accountID, userID string, p identity.Page) (_ []*identity.OAuthGrant, _ string, err error) {
	defer wrap(&err, "sqlite.OAuthGrants")
	after, limit := pageArgs(p)
	rows, err := db.read.QueryContext(ctx, `SELECT `+oauthGrantCols+` FROM oauth_grants
		WHERE account_id = ? AND user_id = ? AND id > ? ORDER BY id LIMIT ?`, accountID, userID, after, limit)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []*identity.OAuthGrant
	for rows.Next() {
		g, err := scanOAuthGrant(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, g)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(g *identity.OAuthGrant) string { return g.ID })
	return items, next, nil
}

// DeleteOAuthGrant removes a grant with its refresh tokens, revoking what
// it issued.
func (db *DB) DeleteOAuthGrant(ctx context.Context, accountID, userID, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteOAuthGrant")
	return db.update(ctx, func(tx *sql.Tx) error {
		if err := db.revokeFamilies(ctx, tx, `SELECT access_jti, access_expires FROM oauth_refresh WHERE grant_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_grants WHERE id = ? AND account_id = ? AND user_id = ?`, id, accountID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrNotFound
		}
		now := db.clock()
		return appendEvent(ctx, tx, now, identity.EventAPIKey, id, now, time.Time{})
	})
}

const oauthTicketCols = `id, kind, app_id, code_hash, user_code, data, expires_at, used_at, created`

func scanOAuthTicket(row scanner) (*identity.OAuthTicket, error) {
	var (
		t                      identity.OAuthTicket
		userCode               sql.NullString
		expires, used, created int64
	)
	err := row.Scan(&t.ID, &t.Kind, &t.AppID, &t.CodeHash, &userCode, &t.Data, &expires, &used, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t.UserCode = userCode.String
	t.ExpiresAt, t.UsedAt, t.Created = fromMS(expires), fromMS(used), fromMS(created)
	return &t, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateOAuthTicket stores t and prunes expired tickets.
func (db *DB) CreateOAuthTicket(ctx context.Context, t *identity.OAuthTicket) (err error) {
	defer wrap(&err, "sqlite.CreateOAuthTicket")
	if t.ID == "" {
		t.ID = identity.NewID()
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		now := db.clock()
		// Expired tickets are useless; pruning here bounds the table by
		// the rate tickets are made at, with no background job.
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_tickets WHERE expires_at < ?`, ms(now)); err != nil {
			return err
		}
		t.Created, t.ExpiresAt, t.UsedAt = now, norm(t.ExpiresAt), norm(t.UsedAt)
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tickets (`+oauthTicketCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Kind, t.AppID, nullBytes(t.CodeHash), nullString(t.UserCode), t.Data, ms(t.ExpiresAt), ms(t.UsedAt), ms(now))
		return err
	})
}

func (db *DB) liveTicket(t *identity.OAuthTicket, err error) (*identity.OAuthTicket, error) {
	if err != nil {
		return nil, err
	}
	if !db.clock().Before(t.ExpiresAt) {
		return nil, identity.ErrNotFound
	}
	return t, nil
}

// OAuthTicket returns an unexpired ticket.
func (db *DB) OAuthTicket(ctx context.Context, id string) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "sqlite.OAuthTicket")
	return db.liveTicket(scanOAuthTicket(db.read.QueryRowContext(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets WHERE id = ?`, id)))
}

// OAuthTicketByCode returns an unexpired ticket by its code hash.
func (db *DB) OAuthTicketByCode(ctx context.Context, kind string, hash []byte) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "sqlite.OAuthTicketByCode")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	return db.liveTicket(scanOAuthTicket(db.read.QueryRowContext(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets
		WHERE code_hash = ? AND kind = ?`, hash, kind)))
}

// OAuthTicketByUserCode returns an unexpired device ticket by user code.
func (db *DB) OAuthTicketByUserCode(ctx context.Context, code string) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "sqlite.OAuthTicketByUserCode")
	if code == "" {
		return nil, identity.ErrNotFound
	}
	return db.liveTicket(scanOAuthTicket(db.read.QueryRowContext(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets
		WHERE user_code = ? AND kind = ?`, code, identity.TicketDevice)))
}

// UpdateOAuthTicket runs fn on an unexpired ticket.
func (db *DB) UpdateOAuthTicket(ctx context.Context, id string, fn func(*identity.OAuthTicket) error) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "sqlite.UpdateOAuthTicket")
	var out *identity.OAuthTicket
	err = db.update(ctx, func(tx *sql.Tx) error {
		t, err := db.liveTicket(scanOAuthTicket(tx.QueryRowContext(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets WHERE id = ?`, id)))
		if err != nil {
			return err
		}
		usedAt := t.UsedAt
		if err := fn(t); err != nil {
			return fnError{err}
		}
		if t.ID != id {
			return errors.New("update function changed an id")
		}
		// UsedAt only ever changes through UseOAuthTicket.
		t.UsedAt, t.ExpiresAt = usedAt, norm(t.ExpiresAt)
		_, err = tx.ExecContext(ctx, `UPDATE oauth_tickets SET code_hash = ?, user_code = ?, data = ?, expires_at = ? WHERE id = ?`,
			nullBytes(t.CodeHash), nullString(t.UserCode), t.Data, ms(t.ExpiresAt), id)
		out = t
		return err
	})
	return out, err
}

// UseOAuthTicket marks the ticket used, once.
func (db *DB) UseOAuthTicket(ctx context.Context, id string, now time.Time) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "sqlite.UseOAuthTicket")
	var out *identity.OAuthTicket
	var used bool
	err = db.update(ctx, func(tx *sql.Tx) error {
		t, err := scanOAuthTicket(tx.QueryRowContext(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if !now.Before(t.ExpiresAt) {
			return identity.ErrNotFound
		}
		out = t
		if !t.UsedAt.IsZero() {
			used = true
			return nil
		}
		t.UsedAt = norm(now)
		_, err = tx.ExecContext(ctx, `UPDATE oauth_tickets SET used_at = ? WHERE id = ? AND used_at = 0`, ms(t.UsedAt), id)
		return err
	})
	if err == nil && used {
		return out, identity.ErrTicketUsed
	}
	return out, err
}

// DeleteOAuthTicket removes a ticket.
func (db *DB) DeleteOAuthTicket(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteOAuthTicket")
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_tickets WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrNotFound
		}
		return nil
	})
}

const oauthRefreshCols = `hash, family_id, grant_id, app_id, account_id, user_id, scopes, auth_time, access_jti,
	access_expires, expires_at, used_at, created`

func scanOAuthRefresh(row scanner) (*identity.OAuthRefresh, error) {
	var (
		r                                       identity.OAuthRefresh
		scopes                                  string
		authTime, accessExp, exp, used, created int64
	)
	err := row.Scan(&r.Hash, &r.FamilyID, &r.GrantID, &r.AppID, &r.AccountID, &r.UserID, &scopes, &authTime,
		&r.AccessJTI, &accessExp, &exp, &used, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &r.Scopes); err != nil {
		return nil, err
	}
	r.AuthTime, r.AccessExpires, r.ExpiresAt = fromMS(authTime), fromMS(accessExp), fromMS(exp)
	r.UsedAt, r.Created = fromMS(used), fromMS(created)
	return &r, nil
}

func (db *DB) insertRefresh(ctx context.Context, tx *sql.Tx, r *identity.OAuthRefresh) error {
	scopes, err := marshal(r.Scopes)
	if err != nil {
		return err
	}
	now := db.clock()
	r.Created, r.UsedAt = now, time.Time{}
	r.AuthTime, r.AccessExpires, r.ExpiresAt = norm(r.AuthTime), norm(r.AccessExpires), norm(r.ExpiresAt)
	_, err = tx.ExecContext(ctx, `INSERT INTO oauth_refresh (`+oauthRefreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Hash, r.FamilyID, r.GrantID, r.AppID, r.AccountID, r.UserID, scopes, ms(r.AuthTime), r.AccessJTI,
		ms(r.AccessExpires), ms(r.ExpiresAt), 0, ms(now))
	return err
}

// CreateOAuthRefresh stores the first token of a family.
func (db *DB) CreateOAuthRefresh(ctx context.Context, r *identity.OAuthRefresh) (err error) {
	defer wrap(&err, "sqlite.CreateOAuthRefresh")
	return db.update(ctx, func(tx *sql.Tx) error { return db.insertRefresh(ctx, tx, r) })
}

// OAuthRefresh returns an unexpired refresh token by hash.
func (db *DB) OAuthRefresh(ctx context.Context, hash []byte) (_ *identity.OAuthRefresh, err error) {
	defer wrap(&err, "sqlite.OAuthRefresh")
	r, err := scanOAuthRefresh(db.read.QueryRowContext(ctx, `SELECT `+oauthRefreshCols+` FROM oauth_refresh WHERE hash = ?`, hash))
	if err != nil {
		return nil, err
	}
	if !db.clock().Before(r.ExpiresAt) {
		return nil, identity.ErrNotFound
	}
	return r, nil
}

// RotateOAuthRefresh uses old and stores next in its family; a second use
// of old revokes the family.
func (db *DB) RotateOAuthRefresh(ctx context.Context, old []byte, next *identity.OAuthRefresh, now time.Time) (_ *identity.OAuthRefresh, err error) {
	defer wrap(&err, "sqlite.RotateOAuthRefresh")
	var out *identity.OAuthRefresh
	reused := false
	err = db.update(ctx, func(tx *sql.Tx) error {
		r, err := scanOAuthRefresh(tx.QueryRowContext(ctx, `SELECT `+oauthRefreshCols+` FROM oauth_refresh WHERE hash = ?`, old))
		if err != nil {
			return err
		}
		if !now.Before(r.ExpiresAt) {
			return identity.ErrNotFound
		}
		out = r
		if !r.UsedAt.IsZero() {
			reused = true
			return db.revokeFamily(ctx, tx, r.FamilyID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_refresh SET used_at = ? WHERE hash = ?`, ms(now), old); err != nil {
			return err
		}
		next.FamilyID, next.GrantID = r.FamilyID, r.GrantID
		return db.insertRefresh(ctx, tx, next)
	})
	if err == nil && reused {
		return out, identity.ErrRefreshReused
	}
	return out, err
}

func (db *DB) revokeFamily(ctx context.Context, tx *sql.Tx, family string) error {
	if err := db.revokeFamilies(ctx, tx, `SELECT access_jti, access_expires FROM oauth_refresh WHERE family_id = ?`, family); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM oauth_refresh WHERE family_id = ?`, family)
	return err
}

// RevokeOAuthFamily removes a family and revokes its access tokens.
func (db *DB) RevokeOAuthFamily(ctx context.Context, familyID string) (err error) {
	defer wrap(&err, "sqlite.RevokeOAuthFamily")
	return db.update(ctx, func(tx *sql.Tx) error { return db.revokeFamily(ctx, tx, familyID) })
}
