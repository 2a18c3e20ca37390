package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

const userCols = `id, account_id, username, email, first_name, last_name, priv_level, enabled,
	require_password_update, presence_id, timezone, language, extra, password_hash, md5_lookup,
	md5_hash, sha1_lookup, sha1_hash, tokens_valid_after, revision, created, modified`

// The user queries of hot or client-controlled paths; plans_test.go checks
// that each is served by an index, with custom and generic plans alike.
// users_account_username_key is partial (username not empty): a generic plan
// cannot know that $2 is not empty, so the queries by username restate the
// condition, or PostgreSQL scans every user of the account.
const (
	qUser             = `SELECT ` + userCols + ` FROM users WHERE account_id = $1 AND id = $2`
	qUserByUsername   = `SELECT ` + userCols + ` FROM users WHERE account_id = $1 AND username = $2 AND username <> ''`
	qUserByMD5Lookup  = `SELECT ` + userCols + ` FROM users WHERE account_id = $1 AND md5_lookup = $2 ORDER BY id LIMIT 1`
	qUserBySHA1Lookup = `SELECT ` + userCols + ` FROM users WHERE account_id = $1 AND sha1_lookup = $2 ORDER BY id LIMIT 1`
	qUsers            = `SELECT ` + userCols + ` FROM users WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`
)

func scanUser(row pgx.Row) (*identity.User, error) {
	var u identity.User
	var extra []byte
	var tva *time.Time
	c := &u.Credentials
	if err := row.Scan(&u.ID, &u.AccountID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.PrivLevel,
		&u.Enabled, &u.RequirePasswordUpdate, &u.PresenceID, &u.Timezone, &u.Language, &extra,
		&c.Password, &c.MD5Lookup, &c.MD5Hash, &c.SHA1Lookup, &c.SHA1Hash, &tva, &u.Revision, &u.Created, &u.Modified); err != nil {
		return nil, err
	}
	if err := unmarshalJSON(extra, &u.Extra); err != nil {
		return nil, err
	}
	u.TokensValidAfter = fromNull(tva)
	u.Created, u.Modified = normTime(u.Created), normTime(u.Modified)
	return &u, nil
}

// normUser brings the fields a caller may set into stored form; usernames
// are stored lower-case so that uniqueness and lookup ignore case.
func normUser(u *identity.User) {
	u.Username = identity.NormalizeUsername(u.Username)
	u.TokensValidAfter = normTime(u.TokensValidAfter)
}

// prepareUser readies a new user for insertion at now.
func prepareUser(u *identity.User, now time.Time) {
	if u.ID == "" {
		u.ID = identity.NewID()
	}
	normUser(u)
	u.Revision, u.Created, u.Modified = nextRevision(""), now, now
}

func insertUser(ctx context.Context, tx pgx.Tx, u *identity.User) error {
	extra, err := jsonOrNull(u.Extra, u.Extra == nil)
	if err != nil {
		return err
	}
	c := u.Credentials
	_, err = tx.Exec(ctx, `INSERT INTO users (id, account_id, username, email, first_name, last_name, priv_level,
		enabled, require_password_update, presence_id, timezone, language, extra, password_hash, md5_lookup,
		md5_hash, sha1_lookup, sha1_hash, tokens_valid_after, revision, created, modified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		u.ID, u.AccountID, u.Username, u.Email, u.FirstName, u.LastName, u.PrivLevel,
		u.Enabled, u.RequirePasswordUpdate, u.PresenceID, u.Timezone, u.Language, extra, c.Password, c.MD5Lookup,
		c.MD5Hash, c.SHA1Lookup, c.SHA1Hash, nullTime(u.TokensValidAfter), u.Revision, u.Created, u.Modified)
	return err
}

// CreateUser stores u; a missing account surfaces as the foreign key
// violation, translated to ErrNotFound.
func (db *DB) CreateUser(ctx context.Context, u *identity.User) (err error) {
	defer wrap(&err, "postgres: create user")
	c := *u
	prepareUser(&c, db.clock())
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := insertUser(ctx, tx, &c); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventUser, ID: c.ID})
	})
	if err != nil {
		return err
	}
	*u = c
	return nil
}

// User returns the user id of account accountID.
func (db *DB) User(ctx context.Context, accountID, id string) (_ *identity.User, err error) {
	defer wrap(&err, "postgres: user %q in account %q", id, accountID)
	return scanUser(db.pool.QueryRow(ctx, qUser, accountID, id))
}

// UserByUsername finds a user by username, compared in stored (lower-case)
// form. An empty username never matches: such users cannot log in.
func (db *DB) UserByUsername(ctx context.Context, accountID, username string) (_ *identity.User, err error) {
	defer wrap(&err, "postgres: user %q in account %q", username, accountID)
	username = identity.NormalizeUsername(username)
	if username == "" {
		return nil, identity.ErrNotFound
	}
	return scanUser(db.pool.QueryRow(ctx, qUserByUsername, accountID, username))
}

// UserByCredentialLookup finds a user by md5 ("md5") or sha1 ("sha")
// lookup value. An empty lookup or another method never matches, so users
// without such credentials cannot be found through them.
func (db *DB) UserByCredentialLookup(ctx context.Context, accountID, method, lookup string) (_ *identity.User, err error) {
	defer wrap(&err, "postgres: user by %s lookup in account %q", method, accountID)
	var query string
	switch method {
	case "md5":
		query = qUserByMD5Lookup
	case "sha":
		query = qUserBySHA1Lookup
	default:
		return nil, identity.ErrNotFound
	}
	if lookup == "" {
		return nil, identity.ErrNotFound
	}
	return scanUser(db.pool.QueryRow(ctx, query, accountID, lookup))
}

// UpdateUser applies fn to the user under a row lock. The event carries a
// Cutoff when fn moved TokensValidAfter.
func (db *DB) UpdateUser(ctx context.Context, accountID, id string, fn func(*identity.User) error) (_ *identity.User, err error) {
	var u *identity.User
	err = db.update(ctx, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE account_id = $1 AND id = $2 FOR UPDATE`, accountID, id))
		if err != nil {
			return err
		}
		oldRev, oldTVA, oldCreated := old.Revision, old.TokensValidAfter, old.Created
		if err := fn(old); err != nil {
			return fnError{err}
		}
		u = old
		if u.ID != id || u.AccountID != accountID {
			return errIDChanged
		}
		normUser(u)
		u.Created, u.Revision, u.Modified = oldCreated, nextRevision(oldRev), db.clock()
		extra, err := jsonOrNull(u.Extra, u.Extra == nil)
		if err != nil {
			return err
		}
		c := u.Credentials
		_, err = tx.Exec(ctx, `UPDATE users SET username = $3, email = $4, first_name = $5, last_name = $6,
			priv_level = $7, enabled = $8, require_password_update = $9, presence_id = $10, timezone = $11,
			language = $12, extra = $13, password_hash = $14, md5_lookup = $15, md5_hash = $16, sha1_lookup = $17,
			sha1_hash = $18, tokens_valid_after = $19, revision = $20, modified = $21
			WHERE account_id = $1 AND id = $2`,
			accountID, id, u.Username, u.Email, u.FirstName, u.LastName,
			u.PrivLevel, u.Enabled, u.RequirePasswordUpdate, u.PresenceID, u.Timezone,
			u.Language, extra, c.Password, c.MD5Lookup, c.MD5Hash, c.SHA1Lookup,
			c.SHA1Hash, nullTime(u.TokensValidAfter), u.Revision, u.Modified)
		if err != nil {
			return err
		}
		e := identity.Event{Kind: identity.EventUser, ID: id}
		if !u.TokensValidAfter.Equal(oldTVA) {
			e.Cutoff = u.TokensValidAfter
		}
		return db.appendEvents(ctx, tx, e)
	}, "postgres: update user %q in account %q", id, accountID)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes the user; only one of several concurrent calls finds
// the row, so it succeeds exactly once.
func (db *DB) DeleteUser(ctx context.Context, accountID, id string) (err error) {
	defer wrap(&err, "postgres: delete user %q in account %q", id, accountID)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE account_id = $1 AND id = $2`, accountID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return identity.ErrNotFound
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventUser, ID: id, Cutoff: db.clock()})
	})
}

// Users lists the users of an account; a missing account has none.
func (db *DB) Users(ctx context.Context, accountID string, p identity.Page) (_ []*identity.User, _ string, err error) {
	defer wrap(&err, "postgres: users of account %q", accountID)
	limit := p.Limit()
	rows, err := db.pool.Query(ctx, qUsers,
		accountID, p.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.User, error) { return scanUser(row) })
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, limit, func(u *identity.User) string { return u.ID })
	return items, next, nil
}
