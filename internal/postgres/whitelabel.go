package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/audian/audian/internal/identity"
)

var _ identity.WhitelabelStore = (*DB)(nil)

const whitelabelCols = `account_id, COALESCE(domain, ''), document, revision, created, modified`

func scanWhitelabel(row pgx.Row) (*identity.Whitelabel, error) {
	var w identity.Whitelabel
	var doc string
	if err := row.Scan(&w.AccountID, &w.Domain, &doc, &w.Revision, &w.Created, &w.Modified); err != nil {
		return nil, err
	}
	w.Doc, w.Created, w.Modified = []byte(doc), normTime(w.Created), normTime(w.Modified)
	return &w, nil
}

// uniqueAs returns target when err is a unique violation of constraint,
// err otherwise: a race the in-transaction check could not see.
func uniqueAs(err error, constraint string, target error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint {
		return target
	}
	return err
}

// lockAccount locks the account row against a concurrent delete for the
// rest of tx, and reports an unknown account as ErrNotFound.
func lockAccount(ctx context.Context, tx pgx.Tx, accountID string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.ErrNotFound
	}
	return err
}

// Whitelabel returns the account's own branding.
func (db *DB) Whitelabel(ctx context.Context, accountID string) (_ *identity.Whitelabel, err error) {
	defer wrap(&err, "postgres: whitelabel of %q", accountID)
	return scanWhitelabel(db.pool.QueryRow(ctx, `SELECT `+whitelabelCols+` FROM whitelabels WHERE account_id = $1`, accountID))
}

// WhitelabelByDomain returns the branding that claims domain.
func (db *DB) WhitelabelByDomain(ctx context.Context, domain string) (_ *identity.Whitelabel, err error) {
	defer wrap(&err, "postgres: whitelabel by domain")
	d := identity.NormalizeDomain(domain)
	if d == "" {
		return nil, identity.ErrNotFound
	}
	return scanWhitelabel(db.pool.QueryRow(ctx, `SELECT `+whitelabelCols+` FROM whitelabels WHERE domain = $1`, d))
}

// SetWhitelabel creates or replaces the account's branding.
func (db *DB) SetWhitelabel(ctx context.Context, w *identity.Whitelabel, create bool) (err error) {
	defer wrap(&err, "postgres: set whitelabel of %q", w.AccountID)
	c := *w
	c.Domain = identity.NormalizeDomain(w.Domain)
	now := db.clock()
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, c.AccountID); err != nil {
			return err
		}
		var rev string
		var created time.Time
		err := tx.QueryRow(ctx, `SELECT revision, created FROM whitelabels WHERE account_id = $1`, c.AccountID).Scan(&rev, &created)
		switch {
		case err == nil && create:
			return identity.ErrConflict
		case err == nil:
			c.Created, c.Revision = normTime(created), nextRevision(rev)
		case errors.Is(err, pgx.ErrNoRows):
			c.Created, c.Revision = now, nextRevision("")
		default:
			return err
		}
		c.Modified = now
		var domain any
		if c.Domain != "" {
			domain = c.Domain
		}
		_, err = tx.Exec(ctx, `INSERT INTO whitelabels (account_id, domain, document, revision, created, modified)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET domain = excluded.domain,
			document = excluded.document, revision = excluded.revision, modified = excluded.modified`,
			c.AccountID, domain, string(c.Doc), c.Revision, c.Created, c.Modified)
		return uniqueAs(err, "whitelabels_domain_key", identity.ErrDomainTaken)
	})
	if err != nil {
		return err
	}
	*w = c
	return nil
}

// DeleteWhitelabel removes the account's branding and its files.
func (db *DB) DeleteWhitelabel(ctx context.Context, accountID string) (err error) {
	defer wrap(&err, "postgres: delete whitelabel of %q", accountID)
	tag, err := db.pool.Exec(ctx, `DELETE FROM whitelabels WHERE account_id = $1`, accountID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// WhitelabelFile returns one file of the account's branding.
func (db *DB) WhitelabelFile(ctx context.Context, accountID, name string) (_ *identity.WhitelabelFile, err error) {
	defer wrap(&err, "postgres: whitelabel file %q of %q", name, accountID)
	var f identity.WhitelabelFile
	if err := db.pool.QueryRow(ctx, `SELECT content_type, data, modified FROM whitelabel_files
		WHERE account_id = $1 AND name = $2`, accountID, name).Scan(&f.ContentType, &f.Data, &f.Modified); err != nil {
		return nil, err
	}
	f.Modified = normTime(f.Modified)
	return &f, nil
}

// SetWhitelabelFile stores one file of an existing branding.
func (db *DB) SetWhitelabelFile(ctx context.Context, accountID, name string, f *identity.WhitelabelFile) (err error) {
	defer wrap(&err, "postgres: set whitelabel file %q of %q", name, accountID)
	now := db.clock()
	// The insert names its branding by foreign key: a branding deleted
	// meanwhile makes it a violation, reported as ErrNotFound.
	tag, err := db.pool.Exec(ctx, `INSERT INTO whitelabel_files (account_id, name, content_type, data, modified)
		SELECT account_id, $2, $3, $4, $5 FROM whitelabels WHERE account_id = $1
		ON CONFLICT (account_id, name) DO UPDATE SET content_type = excluded.content_type,
		data = excluded.data, modified = excluded.modified`, accountID, name, f.ContentType, f.Data, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrNotFound
	}
	f.Modified = now
	return nil
}
