package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/audian/audian/internal/identity"
)

const userCols = `id, account_id, username, email, first_name, last_name, priv_level, enabled,
	require_password_update, presence_id, timezone, language, extra, password, md5_lookup, md5_hash,
	sha1_lookup, sha1_hash, tokens_valid_after, revision, created, modified`

// The user queries of hot or client-controlled paths; plans_test.go checks
// that each is served by an index. users_username is partial (username <>
// empty), so the queries by username restate that condition: without it
// SQLite cannot use the index and reads every user of the account, for
// known and unknown usernames alike.
const (
	qUser             = `SELECT ` + userCols + ` FROM users WHERE account_id = ? AND id = ?`
	qUserByUsername   = `SELECT ` + userCols + ` FROM users WHERE account_id = ? AND username = ? AND username <> ''`
	qUsernameTaken    = `SELECT 1 FROM users WHERE account_id = ? AND username = ? AND username <> '' AND id <> ?`
	qUserByMD5Lookup  = `SELECT ` + userCols + ` FROM users WHERE account_id = ? AND md5_lookup = ? LIMIT 1`
	qUserBySHA1Lookup = `SELECT ` + userCols + ` FROM users WHERE account_id = ? AND sha1_lookup = ? LIMIT 1`
	qUsers            = `SELECT ` + userCols + ` FROM users WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?`
)

// scanUser reads one row of userCols.
func scanUser(row scanner) (*identity.User, error) {
	var (
		u                      identity.User
		extra                  string
		tva, created, modified int64
	)
	c := &u.Credentials
	err := row.Scan(&u.ID, &u.AccountID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.PrivLevel, &u.Enabled,
		&u.RequirePasswordUpdate, &u.PresenceID, &u.Timezone, &u.Language, &extra, &c.Password, &c.MD5Lookup, &c.MD5Hash,
		&c.SHA1Lookup, &c.SHA1Hash, &tva, &u.Revision, &created, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(extra), &u.Extra); err != nil {
		return nil, err
	}
	u.TokensValidAfter, u.Created, u.Modified = fromMS(tva), fromMS(created), fromMS(modified)
	return &u, nil
}

// CreateUser stores a new user. The username is stored in its normalised
// (lower-case) form, so that "Bob" and "bob" can never be two users.
func (db *DB) CreateUser(ctx context.Context, u *identity.User) (err error) {
	defer wrap(&err, "sqlite.CreateUser")
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.createUser(ctx, tx, u)
	})
}

func (db *DB) createUser(ctx context.Context, tx *sql.Tx, u *identity.User) error {
	if u.ID == "" {
		u.ID = identity.NewID()
	}
	found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, u.AccountID)
	if err != nil {
		return err
	}
	if !found {
		return identity.ErrNotFound
	}
	u.Username = identity.NormalizeUsername(u.Username)
	if err := checkUsernameUnique(ctx, tx, u); err != nil {
		return err
	}
	extra, err := marshal(u.Extra)
	if err != nil {
		return err
	}
	now := db.clock()
	rev := nextRevision("")
	c := u.Credentials
	_, err = tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.AccountID, u.Username, u.Email, u.FirstName, u.LastName, u.PrivLevel, u.Enabled,
		u.RequirePasswordUpdate, u.PresenceID, u.Timezone, u.Language, extra, c.Password, c.MD5Lookup, c.MD5Hash,
		c.SHA1Lookup, c.SHA1Hash, ms(u.TokensValidAfter), rev, ms(now), ms(now))
	if err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, now, identity.EventUser, u.ID, time.Time{}, time.Time{}); err != nil {
		return err
	}
	u.TokensValidAfter = norm(u.TokensValidAfter)
	u.Revision, u.Created, u.Modified = rev, now, now
	return nil
}

// checkUsernameUnique returns ErrUsernameTaken when another user of u's
// account has u's username.
func checkUsernameUnique(ctx context.Context, tx *sql.Tx, u *identity.User) error {
	if u.Username == "" {
		return nil
	}
	taken, err := exists(ctx, tx, qUsernameTaken, u.AccountID, u.Username, u.ID)
	if err != nil {
		return err
	}
	if taken {
		return identity.ErrUsernameTaken
	}
	return nil
}

// User returns the user id of accountID.
func (db *DB) User(ctx context.Context, accountID, id string) (_ *identity.User, err error) {
	defer wrap(&err, "sqlite.User")
	return scanUser(db.queryRow(ctx, qUser, accountID, id))
}

// UserByUsername returns the user of accountID with username, compared in
// its normalised form. The empty username belongs to no one.
func (db *DB) UserByUsername(ctx context.Context, accountID, username string) (_ *identity.User, err error) {
	defer wrap(&err, "sqlite.UserByUsername")
	username = identity.NormalizeUsername(username)
	if username == "" {
		return nil, identity.ErrNotFound
	}
	return scanUser(db.queryRow(ctx, qUserByUsername, accountID, username))
}

// UserByCredentialLookup finds a user by its md5 ("md5") or sha1 ("sha")
// lookup value. An empty lookup matches no one: users without such
// credentials store it empty.
func (db *DB) UserByCredentialLookup(ctx context.Context, accountID, method, lookup string) (_ *identity.User, err error) {
	defer wrap(&err, "sqlite.UserByCredentialLookup")
	var query string
	switch method {
	case "md5":
		query = qUserByMD5Lookup
	case "sha":
		query = qUserBySHA1Lookup
	default:
		return nil, identity.Errorf(identity.EInvalid, "unknown credential method %q", method)
	}
	if lookup == "" {
		return nil, identity.ErrNotFound
	}
	return scanUser(db.queryRow(ctx, query, accountID, lookup))
}

// UpdateUser applies fn to the user inside a write transaction. ID,
// AccountID and Created are the store's and are kept whatever fn does. A
// change of TokensValidAfter appends an event whose Cutoff is the new
// instant, which is how other processes learn that the user's tokens died.
func (db *DB) UpdateUser(ctx context.Context, accountID, id string, fn func(*identity.User) error) (_ *identity.User, err error) {
	defer wrap(&err, "sqlite.UpdateUser")
	var u *identity.User
	err = db.update(ctx, func(tx *sql.Tx) error {
		const q = `SELECT ` + userCols + ` FROM users WHERE account_id = ? AND id = ?`
		old, err := scanUser(tx.QueryRowContext(ctx, q, accountID, id))
		if err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRowContext(ctx, q, accountID, id))
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return fnError{err}
		}
		u.ID, u.AccountID, u.Created = old.ID, old.AccountID, old.Created
		u.Username = identity.NormalizeUsername(u.Username)
		if err := checkUsernameUnique(ctx, tx, u); err != nil {
			return err
		}
		extra, err := marshal(u.Extra)
		if err != nil {
			return err
		}
		now := db.clock()
		u.Revision, u.Modified = nextRevision(old.Revision), now
		u.TokensValidAfter = norm(u.TokensValidAfter)
		c := u.Credentials
		_, err = tx.ExecContext(ctx, `UPDATE users SET username = ?, email = ?, first_name = ?, last_name = ?,
			priv_level = ?, enabled = ?, require_password_update = ?, presence_id = ?, timezone = ?, language = ?,
			extra = ?, password = ?, md5_lookup = ?, md5_hash = ?, sha1_lookup = ?, sha1_hash = ?,
			tokens_valid_after = ?, revision = ?, modified = ? WHERE id = ?`,
			u.Username, u.Email, u.FirstName, u.LastName, u.PrivLevel, u.Enabled, u.RequirePasswordUpdate,
			u.PresenceID, u.Timezone, u.Language, extra, c.Password, c.MD5Lookup, c.MD5Hash, c.SHA1Lookup, c.SHA1Hash,
			ms(u.TokensValidAfter), u.Revision, ms(now), id)
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, now, identity.EventUser, id, changedCutoff(old.TokensValidAfter, u.TokensValidAfter), time.Time{})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes the user. Only the transaction whose DELETE removed
// the row succeeds, so the delete succeeds exactly once however many race.
func (db *DB) DeleteUser(ctx context.Context, accountID, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteUser")
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return identity.ErrNotFound
		}
		now := db.clock()
		return appendEvent(ctx, tx, now, identity.EventUser, id, now, time.Time{})
	})
}

// Users lists the users of accountID.
func (db *DB) Users(ctx context.Context, accountID string, p identity.Page) (_ []*identity.User, _ string, err error) {
	defer wrap(&err, "sqlite.Users")
	after, limit := pageArgs(p)
	rows, err := db.query(ctx, qUsers, accountID, after, limit)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []*identity.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(u *identity.User) string { return u.ID })
	return items, next, nil
}
