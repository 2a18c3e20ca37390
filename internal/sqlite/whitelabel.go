package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/audian/audian/internal/identity"
)

var _ identity.WhitelabelStore = (*DB)(nil)

const whitelabelCols = `account_id, COALESCE(domain, ''), document, revision, created, modified`

func scanWhitelabel(row scanner) (*identity.Whitelabel, error) {
	var w identity.Whitelabel
	var doc string
	var created, modified int64
	if err := row.Scan(&w.AccountID, &w.Domain, &doc, &w.Revision, &created, &modified); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, identity.ErrNotFound
		}
		return nil, err
	}
	w.Doc, w.Created, w.Modified = []byte(doc), fromMS(created), fromMS(modified)
	return &w, nil
}

// Whitelabel returns the account's own branding.
func (db *DB) Whitelabel(ctx context.Context, accountID string) (_ *identity.Whitelabel, err error) {
	defer wrap(&err, "sqlite.Whitelabel")
	return scanWhitelabel(db.read.QueryRowContext(ctx, `SELECT `+whitelabelCols+` FROM whitelabels WHERE account_id = ?`, accountID))
}

// WhitelabelByDomain returns the branding that claims domain.
func (db *DB) WhitelabelByDomain(ctx context.Context, domain string) (_ *identity.Whitelabel, err error) {
	defer wrap(&err, "sqlite.WhitelabelByDomain")
	d := identity.NormalizeDomain(domain)
	if d == "" {
		return nil, identity.ErrNotFound
	}
	return scanWhitelabel(db.read.QueryRowContext(ctx, `SELECT `+whitelabelCols+` FROM whitelabels WHERE domain = ?`, d))
}

// SetWhitelabel creates or replaces the account's branding.
func (db *DB) SetWhitelabel(ctx context.Context, w *identity.Whitelabel, create bool) (err error) {
	defer wrap(&err, "sqlite.SetWhitelabel")
	c := *w
	c.Domain = identity.NormalizeDomain(w.Domain)
	err = db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, c.AccountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		if c.Domain != "" {
			taken, err := exists(ctx, tx, `SELECT 1 FROM whitelabels WHERE domain = ? AND account_id <> ?`, c.Domain, c.AccountID)
			if err != nil {
				return err
			}
			if taken {
				return identity.ErrDomainTaken
			}
		}
		old, err := scanWhitelabel(tx.QueryRowContext(ctx, `SELECT `+whitelabelCols+` FROM whitelabels WHERE account_id = ?`, c.AccountID))
		switch {
		case err == nil && create:
			return identity.ErrConflict
		case err == nil:
			c.Created = old.Created
			c.Revision = nextRevision(old.Revision)
		case errors.Is(err, identity.ErrNotFound):
			c.Created = db.clock()
			c.Revision = nextRevision("")
		default:
			return err
		}
		c.Modified = db.clock()
		var domain any
		if c.Domain != "" {
			domain = c.Domain
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO whitelabels (account_id, domain, document, revision, created, modified)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET domain = excluded.domain,
			document = excluded.document, revision = excluded.revision, modified = excluded.modified`,
			c.AccountID, domain, string(c.Doc), c.Revision, ms(c.Created), ms(c.Modified))
		return err
	})
	if err != nil {
		return err
	}
	*w = c
	return nil
}

// DeleteWhitelabel removes the account's branding and its files.
func (db *DB) DeleteWhitelabel(ctx context.Context, accountID string) (err error) {
	defer wrap(&err, "sqlite.DeleteWhitelabel")
	return db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM whitelabel_files WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM whitelabels WHERE account_id = ?`, accountID)
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

// WhitelabelFile returns one file of the account's branding.
func (db *DB) WhitelabelFile(ctx context.Context, accountID, name string) (_ *identity.WhitelabelFile, err error) {
	defer wrap(&err, "sqlite.WhitelabelFile")
	var f identity.WhitelabelFile
	var modified int64
	err = db.read.QueryRowContext(ctx, `SELECT content_type, data, modified FROM whitelabel_files
		WHERE account_id = ? AND name = ?`, accountID, name).Scan(&f.ContentType, &f.Data, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	f.Modified = fromMS(modified)
	return &f, nil
}

// SetWhitelabelFile stores one file of an existing branding.
func (db *DB) SetWhitelabelFile(ctx context.Context, accountID, name string, f *identity.WhitelabelFile) (err error) {
	defer wrap(&err, "sqlite.SetWhitelabelFile")
	now := db.clock()
	err = db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM whitelabels WHERE account_id = ?`, accountID)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO whitelabel_files (account_id, name, content_type, data, modified)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, name) DO UPDATE SET content_type = excluded.content_type,
			data = excluded.data, modified = excluded.modified`, accountID, name, f.ContentType, f.Data, ms(now))
		return err
	})
	if err == nil {
		f.Modified = now
	}
	return err
}
