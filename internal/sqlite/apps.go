package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/audian/audian/internal/identity"
)

var _ identity.AppsStore = (*DB)(nil)

func scanApp(row scanner) (*identity.App, error) {
	var a identity.App
	var doc string
	var created, modified int64
	if err := row.Scan(&a.ID, &a.Name, &doc, &created, &modified); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, identity.ErrNotFound
		}
		return nil, err
	}
	a.Doc, a.Created, a.Modified = []byte(doc), fromMS(created), fromMS(modified)
	return &a, nil
}

// PutApp creates or replaces a catalogue app with its files.
func (db *DB) PutApp(ctx context.Context, a *identity.App, files []identity.AppFile) (err error) {
	defer wrap(&err, "sqlite.PutApp")
	c := *a
	now := db.clock()
	err = db.update(ctx, func(tx *sql.Tx) error {
		taken, err := exists(ctx, tx, `SELECT 1 FROM apps WHERE name = ? AND id <> ?`, c.Name, c.ID)
		if err != nil {
			return err
		}
		if taken {
			return identity.ErrAppNameTaken
		}
		old, err := scanApp(tx.QueryRowContext(ctx, `SELECT id, name, document, created, modified FROM apps WHERE id = ?`, c.ID))
		switch {
		case err == nil:
			c.Created = old.Created
		case errors.Is(err, identity.ErrNotFound):
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM apps`).Scan(&n); err != nil {
				return err
			}
			if n >= identity.MaxApps {
				return identity.ErrTooManyApps
			}
			c.Created = now
		default:
			return err
		}
		c.Modified = now
		if _, err := tx.ExecContext(ctx, `INSERT INTO apps (id, name, document, created, modified) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, document = excluded.document, modified = excluded.modified`,
			c.ID, c.Name, string(c.Doc), ms(c.Created), ms(c.Modified)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_files WHERE app_id = ?`, c.ID); err != nil {
			return err
		}
		for _, f := range files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO app_files (app_id, name, content_type, data) VALUES (?, ?, ?, ?)`,
				c.ID, f.Name, f.ContentType, f.Data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	*a = c
	return nil
}

// App returns one catalogue app.
func (db *DB) App(ctx context.Context, id string) (_ *identity.App, err error) {
	defer wrap(&err, "sqlite.App")
	return scanApp(db.read.QueryRowContext(ctx, `SELECT id, name, document, created, modified FROM apps WHERE id = ?`, id))
}

// Apps returns the whole catalogue in name order.
func (db *DB) Apps(ctx context.Context) (_ []*identity.App, err error) {
	defer wrap(&err, "sqlite.Apps")
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, document, created, modified FROM apps ORDER BY name LIMIT ?`, identity.MaxApps)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*identity.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteApp removes an app, its files and its installs.
func (db *DB) DeleteApp(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteApp")
	return db.update(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM app_files WHERE app_id = ?`, `DELETE FROM app_installs WHERE app_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return deleteOne(ctx, tx, identity.ErrNotFound, `DELETE FROM apps WHERE id = ?`, id)
	})
}

// deleteOne runs a DELETE and returns missing when it removed nothing.
func deleteOne(ctx context.Context, tx *sql.Tx, missing error, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return missing
	}
	return nil
}

// AppFile returns one file of an app.
func (db *DB) AppFile(ctx context.Context, appID, name string) (_ *identity.AppFile, err error) {
	defer wrap(&err, "sqlite.AppFile")
	f := identity.AppFile{Name: name}
	err = db.read.QueryRowContext(ctx, `SELECT content_type, data FROM app_files WHERE app_id = ? AND name = ?`,
		appID, name).Scan(&f.ContentType, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// AppInstalls returns the apps installed on the account.
func (db *DB) AppInstalls(ctx context.Context, accountID string) (_ []*identity.AppInstall, err error) {
	defer wrap(&err, "sqlite.AppInstalls")
	return inReadTx(ctx, db.read, func(tx *sql.Tx) ([]*identity.AppInstall, error) {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, accountID)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, identity.ErrNotFound
		}
		rows, err := tx.QueryContext(ctx, `SELECT account_id, app_id, document, created, modified FROM app_installs
			WHERE account_id = ? ORDER BY app_id`, accountID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []*identity.AppInstall
		for rows.Next() {
			var in identity.AppInstall
			var doc string
			var created, modified int64
			if err := rows.Scan(&in.AccountID, &in.AppID, &doc, &created, &modified); err != nil {
				return nil, err
			}
			in.Doc, in.Created, in.Modified = []byte(doc), fromMS(created), fromMS(modified)
			out = append(out, &in)
		}
		return out, rows.Err()
	})
}

// inReadTx runs fn in a read transaction, so that its queries see one
// snapshot.
func inReadTx[T any](ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) (T, error)) (T, error) {
	var out T
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// InstallApp records an app installed on an account.
func (db *DB) InstallApp(ctx context.Context, in *identity.AppInstall) (err error) {
	defer wrap(&err, "sqlite.InstallApp")
	c := *in
	c.Created = db.clock()
	c.Modified = c.Created
	err = db.update(ctx, func(tx *sql.Tx) error {
		for _, q := range [][2]string{{`SELECT 1 FROM accounts WHERE id = ?`, c.AccountID}, {`SELECT 1 FROM apps WHERE id = ?`, c.AppID}} {
			found, err := exists(ctx, tx, q[0], q[1])
			if err != nil {
				return err
			}
			if !found {
				return identity.ErrNotFound
			}
		}
		installed, err := exists(ctx, tx, `SELECT 1 FROM app_installs WHERE account_id = ? AND app_id = ?`, c.AccountID, c.AppID)
		if err != nil {
			return err
		}
		if installed {
			return identity.ErrAppInstalled
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO app_installs (account_id, app_id, document, created, modified) VALUES (?, ?, ?, ?, ?)`,
			c.AccountID, c.AppID, string(c.Doc), ms(c.Created), ms(c.Modified))
		return err
	})
	if err != nil {
		return err
	}
	*in = c
	return nil
}

// UpdateAppInstall replaces the record of an installed app.
func (db *DB) UpdateAppInstall(ctx context.Context, in *identity.AppInstall) (err error) {
	defer wrap(&err, "sqlite.UpdateAppInstall")
	now := db.clock()
	var created int64
	err = db.update(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE app_installs SET document = ?, modified = ? WHERE account_id = ? AND app_id = ?
			RETURNING created`, string(in.Doc), ms(now), in.AccountID, in.AppID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.ErrAppNotInstalled
		}
		return err
	})
	if err != nil {
		return err
	}
	in.Created, in.Modified = fromMS(created), now
	return nil
}

// UninstallApp removes an app from an account exactly once.
func (db *DB) UninstallApp(ctx context.Context, accountID, appID string) (err error) {
	defer wrap(&err, "sqlite.UninstallApp")
	return db.update(ctx, func(tx *sql.Tx) error {
		return deleteOne(ctx, tx, identity.ErrAppNotInstalled, `DELETE FROM app_installs WHERE account_id = ? AND app_id = ?`, accountID, appID)
	})
}

// AppBlacklist returns the apps blacklisted for the account.
func (db *DB) AppBlacklist(ctx context.Context, accountID string) (_ []string, err error) {
	defer wrap(&err, "sqlite.AppBlacklist")
	var doc sql.NullString
	err = db.read.QueryRowContext(ctx, `SELECT b.app_ids FROM accounts a
		LEFT JOIN app_blacklists b ON b.account_id = a.id WHERE a.id = ?`, accountID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil || !doc.Valid {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal([]byte(doc.String), &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// SetAppBlacklist replaces the account's blacklist.
func (db *DB) SetAppBlacklist(ctx context.Context, accountID string, appIDs []string) (err error) {
	defer wrap(&err, "sqlite.SetAppBlacklist")
	if appIDs == nil {
		appIDs = []string{}
	}
	doc, err := marshal(appIDs)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, accountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO app_blacklists (account_id, app_ids) VALUES (?, ?)
			ON CONFLICT (account_id) DO UPDATE SET app_ids = excluded.app_ids`, accountID, doc)
		return err
	})
}
