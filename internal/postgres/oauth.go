package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.OAuthStore = (*DB)(nil)

const oauthAppCols = `id, account_id, doc, revision, created, modified`

func scanOAuthApp(row pgx.Row) (*identity.OAuthApp, error) {
	var (
		a                 identity.OAuthApp
		id, acct, rev     string
		doc               string
		created, modified time.Time
	)
	if err := row.Scan(&id, &acct, &doc, &rev, &created, &modified); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, err
	}
	a.ID, a.AccountID, a.Revision = id, acct, rev
	a.Created, a.Modified = normTime(created), normTime(modified)
	a.PrevSecretUntil = normTime(a.PrevSecretUntil)
	return &a, nil
}

// CreateOAuthApp stores a in its account.
func (db *DB) CreateOAuthApp(ctx context.Context, a *identity.OAuthApp) (err error) {
	defer wrap(&err, "postgres: create oauth app")
	if a.ID == "" {
		a.ID = identity.NewID()
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		now := db.clock()
		a.Created, a.Modified, a.Revision = now, now, nextRevision("")
		a.PrevSecretUntil = normTime(a.PrevSecretUntil)
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_apps (`+oauthAppCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.ID, a.AccountID, string(doc), a.Revision, now, now); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAPIKey, ID: a.ID})
	})
}

// OAuthApp returns the application with client_id id.
func (db *DB) OAuthApp(ctx context.Context, id string) (_ *identity.OAuthApp, err error) {
	defer wrap(&err, "postgres: oauth app %q", id)
	return scanOAuthApp(db.pool.QueryRow(ctx, `SELECT `+oauthAppCols+` FROM oauth_apps WHERE id = $1`, id))
}

// OAuthApps lists an account's applications.
func (db *DB) OAuthApps(ctx context.Context, accountID string, p identity.Page) (_ []*identity.OAuthApp, _ string, err error) {
	defer wrap(&err, "postgres: oauth apps of %q", accountID)
	rows, err := db.pool.Query(ctx, `SELECT `+oauthAppCols+` FROM oauth_apps
		WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`, accountID, p.After, p.Limit()+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.OAuthApp, error) { return scanOAuthApp(row) })
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, p.Limit(), func(a *identity.OAuthApp) string { return a.ID })
	return items, next, nil
}

// UpdateOAuthApp runs fn on the stored application, its row locked.
func (db *DB) UpdateOAuthApp(ctx context.Context, id string, fn func(*identity.OAuthApp) error) (_ *identity.OAuthApp, err error) {
	var out *identity.OAuthApp
	err = db.update(ctx, func(tx pgx.Tx) error {
		a, err := scanOAuthApp(tx.QueryRow(ctx, `SELECT `+oauthAppCols+` FROM oauth_apps WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return fnError{err}
		}
		if a.ID != id {
			return errIDChanged
		}
		now := db.clock()
		a.Modified, a.Revision = now, nextRevision(a.Revision)
		a.PrevSecretUntil = normTime(a.PrevSecretUntil)
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_apps SET doc = $1, revision = $2, modified = $3 WHERE id = $4`,
			string(doc), a.Revision, now, id); err != nil {
			return err
		}
		out = a
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAPIKey, ID: id})
	}, "postgres: update oauth app %q", id)
	return out, err
}

// DeleteOAuthApp removes the application; the foreign keys take its grants,
// tickets and refresh tokens with it. Its id and every grant id get a
// cutoff, which revokes the tokens they issued.
func (db *DB) DeleteOAuthApp(ctx context.Context, id string) (err error) {
	defer wrap(&err, "postgres: delete oauth app %q", id)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM oauth_apps WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return err
		}
		now := db.clock()
		evs, err := db.familyRevocations(ctx, tx, `SELECT access_jti, access_expires FROM oauth_refresh WHERE app_id = $1`, id)
		if err != nil {
			return err
		}
		evs = append([]identity.Event{{Kind: identity.EventAPIKey, ID: id, Cutoff: now}}, evs...)
		rows, err := tx.Query(ctx, `SELECT id FROM oauth_grants WHERE app_id = $1`, id)
		if err != nil {
			return err
		}
		grants, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, g := range grants {
			evs = append(evs, identity.Event{Kind: identity.EventAPIKey, ID: g, Cutoff: now})
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_apps WHERE id = $1`, id); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs...)
	})
}

// familyRevocations returns a token event for every live access token
// that query (selecting access_jti, access_expires) names.
func (db *DB) familyRevocations(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]identity.Event, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	now := db.clock()
	var evs []identity.Event
	var jti string
	var exp *time.Time
	_, err = pgx.ForEachRow(rows, []any{&jti, &exp}, func() error {
		if jti != "" && exp != nil && !exp.Before(now) {
			evs = append(evs, identity.Event{Kind: identity.EventToken, ID: jti, Expires: normTime(*exp)})
		}
		return nil
	})
	return evs, err
}

const oauthGrantCols = `id, account_id, user_id, app_id, scopes, created, modified`

func scanOAuthGrant(row pgx.Row) (*identity.OAuthGrant, error) {
	var g identity.OAuthGrant
	var scopes []byte
	if err := row.Scan(&g.ID, &g.AccountID, &g.UserID, &g.AppID, &scopes, &g.Created, &g.Modified); err != nil {
		return nil, err
	}
	if err := unmarshalJSON(scopes, &g.Scopes); err != nil {
		return nil, err
	}
	g.Created, g.Modified = normTime(g.Created), normTime(g.Modified)
	return &g, nil
}

// SaveOAuthGrant creates or replaces the grant of a user to an application.
// The user's row is locked, so that two consents race to one grant.
func (db *DB) SaveOAuthGrant(ctx context.Context, g *identity.OAuthGrant) (err error) {
	defer wrap(&err, "postgres: save oauth grant")
	scopes, err := json.Marshal(g.Scopes)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE account_id = $1 AND id = $2 FOR UPDATE`,
			g.AccountID, g.UserID).Scan(&one); err != nil {
			return err
		}
		now := db.clock()
		old, err := scanOAuthGrant(tx.QueryRow(ctx, `SELECT `+oauthGrantCols+` FROM oauth_grants
			WHERE user_id = $1 AND app_id = $2`, g.UserID, g.AppID))
		switch {
		case err == nil:
			g.ID, g.Created, g.Modified = old.ID, old.Created, now
			_, err = tx.Exec(ctx, `UPDATE oauth_grants SET scopes = $1, modified = $2 WHERE id = $3`, scopes, now, g.ID)
		case errors.Is(err, pgx.ErrNoRows):
			g.ID, g.Created, g.Modified = identity.NewID(), now, now
			_, err = tx.Exec(ctx, `INSERT INTO oauth_grants (`+oauthGrantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				g.ID, g.AccountID, g.UserID, g.AppID, scopes, now, now)
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAPIKey, ID: g.ID})
	})
}

// OAuthGrant returns the grant of userID to appID.
func (db *DB) OAuthGrant(ctx context.Context, userID, appID string) (_ *identity.OAuthGrant, err error) {
	defer wrap(&err, "postgres: oauth grant")
	return scanOAuthGrant(db.pool.QueryRow(ctx, `SELECT `+oauthGrantCols+` FROM oauth_grants
		WHERE user_id = $1 AND app_id = $2`, userID, appID))
}

// OAuthGrants lists a user's grants.
func (db *DB) OAuthGrants(ctx context.Context, accountID, userID string, p identity.Page) (_ []*identity.OAuthGrant, _ string, err error) {
	defer wrap(&err, "postgres: oauth grants of %q", userID)
	rows, err := db.pool.Query(ctx, `SELECT `+oauthGrantCols+` FROM oauth_grants
		WHERE account_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`, accountID, userID, p.After, p.Limit()+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.OAuthGrant, error) { return scanOAuthGrant(row) })
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, p.Limit(), func(g *identity.OAuthGrant) string { return g.ID })
	return items, next, nil
}

// DeleteOAuthGrant removes a grant with its refresh tokens, revoking what
// it issued.
func (db *DB) DeleteOAuthGrant(ctx context.Context, accountID, userID, id string) (err error) {
	defer wrap(&err, "postgres: delete oauth grant %q", id)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM oauth_grants WHERE id = $1 AND account_id = $2 AND user_id = $3 FOR UPDATE`,
			id, accountID, userID).Scan(&one); err != nil {
			return err
		}
		evs, err := db.familyRevocations(ctx, tx, `SELECT access_jti, access_expires FROM oauth_refresh WHERE grant_id = $1`, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_grants WHERE id = $1`, id); err != nil {
			return err
		}
		evs = append([]identity.Event{{Kind: identity.EventAPIKey, ID: id, Cutoff: db.clock()}}, evs...)
		return db.appendEvents(ctx, tx, evs...)
	})
}

const oauthTicketCols = `id, kind, app_id, code_hash, user_code, data, expires_at, used_at, created`

func scanOAuthTicket(row pgx.Row) (*identity.OAuthTicket, error) {
	var t identity.OAuthTicket
	var userCode *string
	var used *time.Time
	if err := row.Scan(&t.ID, &t.Kind, &t.AppID, &t.CodeHash, &userCode, &t.Data, &t.ExpiresAt, &used, &t.Created); err != nil {
		return nil, err
	}
	if userCode != nil {
		t.UserCode = *userCode
	}
	t.ExpiresAt, t.UsedAt, t.Created = normTime(t.ExpiresAt), fromNull(used), normTime(t.Created)
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
	defer wrap(&err, "postgres: create oauth ticket")
	if t.ID == "" {
		t.ID = identity.NewID()
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		now := db.clock()
		// Expired tickets are useless; pruning here bounds the table by
		// the rate tickets are made at, with no background job.
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_tickets WHERE expires_at < $1`, now); err != nil {
			return err
		}
		t.Created, t.ExpiresAt, t.UsedAt = now, normTime(t.ExpiresAt), normTime(t.UsedAt)
		_, err := tx.Exec(ctx, `INSERT INTO oauth_tickets (`+oauthTicketCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.ID, t.Kind, t.AppID, nullBytes(t.CodeHash), nullString(t.UserCode), t.Data, t.ExpiresAt, nullTime(t.UsedAt), now)
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
	defer wrap(&err, "postgres: oauth ticket")
	return db.liveTicket(scanOAuthTicket(db.pool.QueryRow(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets WHERE id = $1`, id)))
}

// OAuthTicketByCode returns an unexpired ticket by its code hash.
func (db *DB) OAuthTicketByCode(ctx context.Context, kind string, hash []byte) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "postgres: oauth ticket by code")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	return db.liveTicket(scanOAuthTicket(db.pool.QueryRow(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets
		WHERE code_hash = $1 AND kind = $2`, hash, kind)))
}

// OAuthTicketByUserCode returns an unexpired device ticket by user code.
func (db *DB) OAuthTicketByUserCode(ctx context.Context, code string) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "postgres: oauth ticket by user code")
	if code == "" {
		return nil, identity.ErrNotFound
	}
	return db.liveTicket(scanOAuthTicket(db.pool.QueryRow(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets
		WHERE user_code = $1 AND kind = $2`, code, identity.TicketDevice)))
}

// UpdateOAuthTicket runs fn on an unexpired ticket, its row locked.
func (db *DB) UpdateOAuthTicket(ctx context.Context, id string, fn func(*identity.OAuthTicket) error) (_ *identity.OAuthTicket, err error) {
	var out *identity.OAuthTicket
	err = db.update(ctx, func(tx pgx.Tx) error {
		t, err := db.liveTicket(scanOAuthTicket(tx.QueryRow(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets WHERE id = $1 FOR UPDATE`, id)))
		if err != nil {
			return err
		}
		usedAt := t.UsedAt
		if err := fn(t); err != nil {
			return fnError{err}
		}
		if t.ID != id {
			return errIDChanged
		}
		// UsedAt only ever changes through UseOAuthTicket.
		t.UsedAt, t.ExpiresAt = usedAt, normTime(t.ExpiresAt)
		_, err = tx.Exec(ctx, `UPDATE oauth_tickets SET code_hash = $1, user_code = $2, data = $3, expires_at = $4 WHERE id = $5`,
			nullBytes(t.CodeHash), nullString(t.UserCode), t.Data, t.ExpiresAt, id)
		out = t
		return err
	}, "postgres: update oauth ticket")
	return out, err
}

// UseOAuthTicket marks the ticket used, once: the row lock orders racing
// callers, and only the first finds used_at NULL.
func (db *DB) UseOAuthTicket(ctx context.Context, id string, now time.Time) (_ *identity.OAuthTicket, err error) {
	defer wrap(&err, "postgres: use oauth ticket")
	var out *identity.OAuthTicket
	used := false
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		t, err := scanOAuthTicket(tx.QueryRow(ctx, `SELECT `+oauthTicketCols+` FROM oauth_tickets WHERE id = $1 FOR UPDATE`, id))
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
		t.UsedAt = normTime(now)
		_, err = tx.Exec(ctx, `UPDATE oauth_tickets SET used_at = $1 WHERE id = $2`, t.UsedAt, id)
		return err
	})
	if err == nil && used {
		return out, identity.ErrTicketUsed
	}
	return out, err
}

// DeleteOAuthTicket removes a ticket.
func (db *DB) DeleteOAuthTicket(ctx context.Context, id string) (err error) {
	defer wrap(&err, "postgres: delete oauth ticket")
	tag, err := db.pool.Exec(ctx, `DELETE FROM oauth_tickets WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	return nil
}

const oauthRefreshCols = `hash, family_id, grant_id, app_id, account_id, user_id, scopes, auth_time, access_jti,
	access_expires, expires_at, used_at, created`

func scanOAuthRefresh(row pgx.Row) (*identity.OAuthRefresh, error) {
	var r identity.OAuthRefresh
	var scopes []byte
	var authTime, accessExp, used *time.Time
	if err := row.Scan(&r.Hash, &r.FamilyID, &r.GrantID, &r.AppID, &r.AccountID, &r.UserID, &scopes, &authTime,
		&r.AccessJTI, &accessExp, &r.ExpiresAt, &used, &r.Created); err != nil {
		return nil, err
	}
	if err := unmarshalJSON(scopes, &r.Scopes); err != nil {
		return nil, err
	}
	r.AuthTime, r.AccessExpires, r.UsedAt = fromNull(authTime), fromNull(accessExp), fromNull(used)
	r.ExpiresAt, r.Created = normTime(r.ExpiresAt), normTime(r.Created)
	return &r, nil
}

func (db *DB) insertRefresh(ctx context.Context, tx pgx.Tx, r *identity.OAuthRefresh) error {
	scopes, err := json.Marshal(r.Scopes)
	if err != nil {
		return err
	}
	now := db.clock()
	r.Created, r.UsedAt = now, time.Time{}
	r.AuthTime, r.AccessExpires, r.ExpiresAt = normTime(r.AuthTime), normTime(r.AccessExpires), normTime(r.ExpiresAt)
	_, err = tx.Exec(ctx, `INSERT INTO oauth_refresh (`+oauthRefreshCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12)`,
		r.Hash, r.FamilyID, r.GrantID, r.AppID, r.AccountID, r.UserID, scopes, nullTime(r.AuthTime), r.AccessJTI,
		nullTime(r.AccessExpires), r.ExpiresAt, now)
	return err
}

// CreateOAuthRefresh stores the first token of a family.
func (db *DB) CreateOAuthRefresh(ctx context.Context, r *identity.OAuthRefresh) (err error) {
	defer wrap(&err, "postgres: create oauth refresh")
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return db.insertRefresh(ctx, tx, r) })
}

// OAuthRefresh returns an unexpired refresh token by hash.
func (db *DB) OAuthRefresh(ctx context.Context, hash []byte) (_ *identity.OAuthRefresh, err error) {
	defer wrap(&err, "postgres: oauth refresh")
	r, err := scanOAuthRefresh(db.pool.QueryRow(ctx, `SELECT `+oauthRefreshCols+` FROM oauth_refresh WHERE hash = $1`, hash))
	if err != nil {
		return nil, err
	}
	if !db.clock().Before(r.ExpiresAt) {
		return nil, identity.ErrNotFound
	}
	return r, nil
}

// RotateOAuthRefresh uses old and stores next in its family; a second use
// of old revokes the family. The row lock orders racing rotations.
func (db *DB) RotateOAuthRefresh(ctx context.Context, old []byte, next *identity.OAuthRefresh, now time.Time) (_ *identity.OAuthRefresh, err error) {
	defer wrap(&err, "postgres: rotate oauth refresh")
	var out *identity.OAuthRefresh
	reused := false
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		r, err := scanOAuthRefresh(tx.QueryRow(ctx, `SELECT `+oauthRefreshCols+` FROM oauth_refresh WHERE hash = $1 FOR UPDATE`, old))
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
		if _, err := tx.Exec(ctx, `UPDATE oauth_refresh SET used_at = $1 WHERE hash = $2`, normTime(now), old); err != nil {
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

func (db *DB) revokeFamily(ctx context.Context, tx pgx.Tx, family string) error {
	evs, err := db.familyRevocations(ctx, tx, `SELECT access_jti, access_expires FROM oauth_refresh WHERE family_id = $1 FOR UPDATE`, family)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM oauth_refresh WHERE family_id = $1`, family); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	return db.appendEvents(ctx, tx, evs...)
}

// RevokeOAuthFamily removes a family and revokes its access tokens.
func (db *DB) RevokeOAuthFamily(ctx context.Context, familyID string) (err error) {
	defer wrap(&err, "postgres: revoke oauth family")
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return db.revokeFamily(ctx, tx, familyID) })
}
