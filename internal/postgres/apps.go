package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

var _ identity.AppsStore = (*DB)(nil)

const appCols = `id, name, document, created, modified`

func scanApp(row pgx.Row) (*identity.App, error) {
	var a identity.App
	var doc string
	if err := row.Scan(&a.ID, &a.Name, &doc, &a.Created, &a.Modified); err != nil {
		return nil, err
	}
	a.Doc, a.Created, a.Modified = []byte(doc), normTime(a.Created), normTime(a.Modified)
	return &a, nil
}

// lockCatalogue is the advisory lock that serializes catalogue writes, so
// that MaxApps holds under concurrent imports.
const lockCatalogue = 0x61707073 // "apps"

// PutApp creates or replaces a catalogue app with its files.
func (db *DB) PutApp(ctx context.Context, a *identity.App, files []identity.AppFile) (err error) {
	defer wrap(&err, "postgres: put app %q", a.ID)
	c := *a
	now := db.clock()
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockCatalogue); err != nil {
			return err
		}
		var taken int
		err := tx.QueryRow(ctx, `SELECT count(*) FROM apps WHERE name = $1 AND id <> $2`, c.Name, c.ID).Scan(&taken)
		if err != nil {
			return err
		}
		if taken > 0 {
			return identity.ErrAppNameTaken
		}
		var created time.Time
		err = tx.QueryRow(ctx, `SELECT created FROM apps WHERE id = $1`, c.ID).Scan(&created)
		switch {
		case err == nil:
			c.Created = normTime(created)
		case errors.Is(err, pgx.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM apps`).Scan(&n); err != nil {
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
		if _, err := tx.Exec(ctx, `INSERT INTO apps (id, name, document, created, modified) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, document = excluded.document, modified = excluded.modified`,
			c.ID, c.Name, string(c.Doc), c.Created, c.Modified); err != nil {
			return uniqueAs(err, "apps_name_key", identity.ErrAppNameTaken)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM app_files WHERE app_id = $1`, c.ID); err != nil {
			return err
		}
		for _, f := range files {
			if _, err := tx.Exec(ctx, `INSERT INTO app_files (app_id, name, content_type, data) VALUES ($1, $2, $3, $4)`,
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
	defer wrap(&err, "postgres: app %q", id)
	return scanApp(db.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1`, id))
}

// Apps returns the whole catalogue in name order.
func (db *DB) Apps(ctx context.Context) (_ []*identity.App, err error) {
	defer wrap(&err, "postgres: apps")
	rows, err := db.pool.Query(ctx, `SELECT `+appCols+` FROM apps ORDER BY name LIMIT $1`, identity.MaxApps)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*identity.App, error) { return scanApp(r) })
}

// DeleteApp removes an app; its files and installs go with it.
func (db *DB) DeleteApp(ctx context.Context, id string) (err error) {
	defer wrap(&err, "postgres: delete app %q", id)
	tag, err := db.pool.Exec(ctx, `DELETE FROM apps WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// AppFile returns one file of an app.
func (db *DB) AppFile(ctx context.Context, appID, name string) (_ *identity.AppFile, err error) {
	defer wrap(&err, "postgres: file %q of app %q", name, appID)
	f := identity.AppFile{Name: name}
	if err := db.pool.QueryRow(ctx, `SELECT content_type, data FROM app_files WHERE app_id = $1 AND name = $2`,
		appID, name).Scan(&f.ContentType, &f.Data); err != nil {
		return nil, err
	}
	return &f, nil
}

// AppInstalls returns the apps installed on the account.
func (db *DB) AppInstalls(ctx context.Context, accountID string) (_ []*identity.AppInstall, err error) {
	defer wrap(&err, "postgres: app installs of %q", accountID)
	var out []*identity.AppInstall
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1`, accountID).Scan(&one); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT account_id, app_id, document, created, modified FROM app_installs
			WHERE account_id = $1 ORDER BY app_id`, accountID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*identity.AppInstall, error) {
			var in identity.AppInstall
			var doc string
			if err := r.Scan(&in.AccountID, &in.AppID, &doc, &in.Created, &in.Modified); err != nil {
				return nil, err
			}
			in.Doc, in.Created, in.Modified = []byte(doc), normTime(in.Created), normTime(in.Modified)
			return &in, nil
		})
		return err
	})
	return out, err
}

// InstallApp records an app installed on an account.
func (db *DB) InstallApp(ctx context.Context, in *identity.AppInstall) (err error) {
	defer wrap(&err, "postgres: install app %q", in.AppID)
	c := *in
	c.Created = db.clock()
	c.Modified = c.Created
	tag, err := db.pool.Exec(ctx, `INSERT INTO app_installs (account_id, app_id, document, created, modified)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, app_id) DO NOTHING`,
		c.AccountID, c.AppID, string(c.Doc), c.Created, c.Modified)
	if err != nil {
		return err // an unknown account or app is a foreign key violation: ErrNotFound
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrAppInstalled
	}
	*in = c
	return nil
}

// UpdateAppInstall replaces the record of an installed app.
func (db *DB) UpdateAppInstall(ctx context.Context, in *identity.AppInstall) (err error) {
	defer wrap(&err, "postgres: update install of app %q", in.AppID)
	now := db.clock()
	var created time.Time
	err = db.pool.QueryRow(ctx, `UPDATE app_installs SET document = $1, modified = $2 WHERE account_id = $3 AND app_id = $4
		RETURNING created`, string(in.Doc), now, in.AccountID, in.AppID).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.ErrAppNotInstalled
	}
	if err != nil {
		return err
	}
	in.Created, in.Modified = normTime(created), now
	return nil
}

// UninstallApp removes an app from an account exactly once.
func (db *DB) UninstallApp(ctx context.Context, accountID, appID string) (err error) {
	defer wrap(&err, "postgres: uninstall app %q", appID)
	tag, err := db.pool.Exec(ctx, `DELETE FROM app_installs WHERE account_id = $1 AND app_id = $2`, accountID, appID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrAppNotInstalled
	}
	return nil
}

// AppBlacklist returns the apps blacklisted for the account.
func (db *DB) AppBlacklist(ctx context.Context, accountID string) (_ []string, err error) {
	defer wrap(&err, "postgres: app blacklist of %q", accountID)
	var doc *string
	if err := db.pool.QueryRow(ctx, `SELECT b.app_ids FROM accounts a
		LEFT JOIN app_blacklists b ON b.account_id = a.id WHERE a.id = $1`, accountID).Scan(&doc); err != nil || doc == nil {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal([]byte(*doc), &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// SetAppBlacklist replaces the account's blacklist.
func (db *DB) SetAppBlacklist(ctx context.Context, accountID string, appIDs []string) (err error) {
	defer wrap(&err, "postgres: set app blacklist of %q", accountID)
	if appIDs == nil {
		appIDs = []string{}
	}
	doc, err := json.Marshal(appIDs)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO app_blacklists (account_id, app_ids) VALUES ($1, $2)
			ON CONFLICT (account_id) DO UPDATE SET app_ids = excluded.app_ids`, accountID, string(doc))
		return err
	})
}
