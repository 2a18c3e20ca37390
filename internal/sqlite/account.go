package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

const accountCols = `id, parent_id, path, name, realm, timezone, language, enabled, system, extra,
	tokens_valid_after, revision, created, modified`

// accountColsA is accountCols of the table aliased a.
const accountColsA = `a.id, a.parent_id, a.path, a.name, a.realm, a.timezone, a.language, a.enabled, a.system,
	a.extra, a.tokens_valid_after, a.revision, a.created, a.modified`

// The account queries of hot or client-controlled paths; plans_test.go
// checks that each is served by an index. A partial index (WHERE x is not empty)
// serves a query only when the query restates its condition, which is why
// the lookups by name and realm say it again.
const (
	qAccount     = `SELECT ` + accountCols + ` FROM accounts WHERE id = ?`
	qRealmTaken  = `SELECT 1 FROM accounts WHERE realm_lower = ? AND realm_lower <> '' AND id <> ?`
	qNameTaken   = `SELECT 1 FROM accounts WHERE name_norm = ? AND name_norm <> '' AND id <> ?`
	qChildren    = `SELECT ` + accountCols + ` FROM accounts WHERE parent_id = ? AND id > ? ORDER BY id LIMIT ?`
	qDescendants = `SELECT ` + accountColsA + ` FROM account_tree t JOIN accounts a ON a.id = t.id
		WHERE t.ancestor_id = ? AND t.id > ? ORDER BY t.id LIMIT ?`
	// qChildrenCounted reads each child's subtree size, which the writes
	// below it keep, so that a page costs the same whatever the subtrees.
	qChildrenCounted = `SELECT ` + accountColsA + `, a.descendants
		FROM accounts a WHERE a.parent_id = ? AND a.id > ? ORDER BY a.id LIMIT ?`
	qAccountsByName = `SELECT ` + accountCols + ` FROM accounts WHERE name_norm = ? AND name_norm <> '' ORDER BY id LIMIT ?`
	qAccountByRealm = `SELECT ` + accountCols + ` FROM accounts WHERE realm_lower = ? AND realm_lower <> ''`
)

// scanAccount reads one row of accountCols, followed by the columns of
// more, when given.
func scanAccount(row scanner, more ...any) (*identity.Account, error) {
	var (
		a                      identity.Account
		path, extra            string
		tva, created, modified int64
	)
	dest := append([]any{&a.ID, &a.ParentID, &path, &a.Name, &a.Realm, &a.Timezone, &a.Language, &a.Enabled, &a.System,
		&extra, &tva, &a.Revision, &created, &modified}, more...)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(extra), &a.Extra); err != nil {
		return nil, err
	}
	a.Tree = treeOf(path)
	a.TokensValidAfter, a.Created, a.Modified = fromMS(tva), fromMS(created), fromMS(modified)
	return &a, nil
}

// treeOf returns the ancestors' ids recorded in a path, root first.
func treeOf(path string) []string {
	ids := strings.Split(strings.Trim(path, "/"), "/")
	return ids[:len(ids)-1]
}

// CreateAccount stores a new account. Its Tree is recomputed from the
// parent inside the transaction, so it can never disagree with the stored
// hierarchy.
func (db *DB) CreateAccount(ctx context.Context, a *identity.Account) (err error) {
	defer wrap(&err, "sqlite.CreateAccount")
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.createAccount(ctx, tx, a)
	})
}

func (db *DB) createAccount(ctx context.Context, tx *sql.Tx, a *identity.Account) error {
	if a.ID == "" {
		a.ID = identity.NewID()
	}
	path := "/" + a.ID + "/"
	if a.ParentID != "" {
		var parent string
		err := tx.QueryRowContext(ctx, `SELECT path FROM accounts WHERE id = ?`, a.ParentID).Scan(&parent)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.ErrNotFound
		}
		if err != nil {
			return err
		}
		path = parent + a.ID + "/"
	}
	if err := checkAccountUnique(ctx, tx, a); err != nil {
		return err
	}
	extra, err := marshal(a.Extra)
	if err != nil {
		return err
	}
	now := db.clock()
	rev := nextRevision("")
	_, err = tx.ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`, name_norm, realm_lower)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.ParentID, path, a.Name, a.Realm, a.Timezone, a.Language, a.Enabled, a.System, extra,
		ms(a.TokensValidAfter), rev, ms(now), ms(now), identity.NormalizeName(a.Name), strings.ToLower(a.Realm))
	if err != nil {
		return err
	}
	if a.ParentID != "" {
		// The new account is below its parent and all the parent's
		// ancestors.
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_tree (ancestor_id, id)
			SELECT ancestor_id, ?1 FROM account_tree WHERE id = ?2 UNION ALL SELECT ?2, ?1`, a.ID, a.ParentID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET descendants = descendants + 1
			WHERE id IN (SELECT ancestor_id FROM account_tree WHERE id = ?)`, a.ID); err != nil {
			return err
		}
	}
	if err := appendEvent(ctx, tx, now, identity.EventAccount, a.ID, time.Time{}, time.Time{}); err != nil {
		return err
	}
	a.Tree = treeOf(path)
	a.TokensValidAfter = norm(a.TokensValidAfter)
	a.Revision, a.Created, a.Modified = rev, now, now
	return nil
}

// checkAccountUnique returns ErrRealmTaken or ErrNameTaken when another
// account uses a's realm or name. Checking here, rather than decoding which
// unique index failed, names the field for the client; the indexes remain
// as the guarantee.
func checkAccountUnique(ctx context.Context, tx *sql.Tx, a *identity.Account) error {
	if realm := strings.ToLower(a.Realm); realm != "" {
		taken, err := exists(ctx, tx, qRealmTaken, realm, a.ID)
		if err != nil {
			return err
		}
		if taken {
			return identity.ErrRealmTaken
		}
	}
	if name := identity.NormalizeName(a.Name); name != "" {
		taken, err := exists(ctx, tx, qNameTaken, name, a.ID)
		if err != nil {
			return err
		}
		if taken {
			return identity.ErrNameTaken
		}
	}
	return nil
}

// Account returns the account id.
func (db *DB) Account(ctx context.Context, id string) (_ *identity.Account, err error) {
	defer wrap(&err, "sqlite.Account")
	return scanAccount(db.queryRow(ctx, qAccount, id))
}

// UpdateAccount applies fn to the account inside a write transaction. The
// hierarchy (ID, ParentID, Tree) and Created are the store's and are kept
// whatever fn does.
func (db *DB) UpdateAccount(ctx context.Context, id string, fn func(*identity.Account) error) (_ *identity.Account, err error) {
	defer wrap(&err, "sqlite.UpdateAccount")
	var a *identity.Account
	err = db.update(ctx, func(tx *sql.Tx) error {
		old, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		if err != nil {
			return err
		}
		a, err = scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return fnError{err}
		}
		a.ID, a.ParentID, a.Tree, a.Created = old.ID, old.ParentID, old.Tree, old.Created
		if err := checkAccountUnique(ctx, tx, a); err != nil {
			return err
		}
		extra, err := marshal(a.Extra)
		if err != nil {
			return err
		}
		now := db.clock()
		a.Revision, a.Modified = nextRevision(old.Revision), now
		a.TokensValidAfter = norm(a.TokensValidAfter)
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET name = ?, name_norm = ?, realm = ?, realm_lower = ?,
			timezone = ?, language = ?, enabled = ?, system = ?, extra = ?, tokens_valid_after = ?,
			revision = ?, modified = ? WHERE id = ?`,
			a.Name, identity.NormalizeName(a.Name), a.Realm, strings.ToLower(a.Realm), a.Timezone, a.Language,
			a.Enabled, a.System, extra, ms(a.TokensValidAfter), a.Revision, ms(now), id)
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, now, identity.EventAccount, id, changedCutoff(old.TokensValidAfter, a.TokensValidAfter), time.Time{})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// DeleteAccount removes a childless account; the foreign keys remove its
// users and keys. Each of them gets an event with a Cutoff, so that caches
// keyed by user or key drop them as well as those keyed by account.
func (db *DB) DeleteAccount(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlite.DeleteAccount")
	return db.update(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if !found {
			return identity.ErrNotFound
		}
		hasChildren, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE parent_id = ? LIMIT 1`, id)
		if err != nil {
			return err
		}
		if hasChildren {
			return identity.ErrHasChildren
		}
		now := db.clock()
		type subject struct {
			kind identity.EventKind
			id   string
		}
		var gone []subject
		// The account's OAuth applications and every grant made to them
		// go too: their tokens may belong to users of other accounts, which
		// the account's cutoff does not reach.
		rows, err := tx.QueryContext(ctx, `SELECT 'user', id FROM users WHERE account_id = ?1
			UNION ALL SELECT 'api_key', id FROM api_keys WHERE account_id = ?1
			UNION ALL SELECT 'api_key', id FROM oauth_apps WHERE account_id = ?1
			UNION ALL SELECT 'api_key', g.id FROM oauth_grants g JOIN oauth_apps a ON a.id = g.app_id WHERE a.account_id = ?1`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s subject
			if err := rows.Scan(&s.kind, &s.id); err != nil {
				return err
			}
			gone = append(gone, s)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET descendants = descendants - 1
			WHERE id IN (SELECT ancestor_id FROM account_tree WHERE id = ?)`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = ?`, id); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, now, identity.EventAccount, id, now, time.Time{}); err != nil {
			return err
		}
		for _, s := range gone {
			if err := appendEvent(ctx, tx, now, s.kind, s.id, now, time.Time{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Children lists the direct children of id.
func (db *DB) Children(ctx context.Context, id string, p identity.Page) (_ []*identity.Account, _ string, err error) {
	defer wrap(&err, "sqlite.Children")
	after, limit := pageArgs(p)
	return db.accounts(ctx, p, qChildren, id, after, limit)
}

// Descendants lists every account below id from account_tree, whose
// primary key holds them in id order: a page reads the page, however large
// the subtree.
func (db *DB) Descendants(ctx context.Context, id string, p identity.Page) (_ []*identity.Account, _ string, err error) {
	defer wrap(&err, "sqlite.Descendants")
	after, limit := pageArgs(p)
	return db.accounts(ctx, p, qDescendants, id, after, limit)
}

// accounts runs a list query fetched with pageArgs and cuts it to the page.
func (db *DB) accounts(ctx context.Context, p identity.Page, query string, args ...any) ([]*identity.Account, string, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []*identity.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(a *identity.Account) string { return a.ID })
	return items, next, nil
}

// ChildrenCounted lists the children of id with their subtree sizes, read
// with them and capped at limit.
func (db *DB) ChildrenCounted(ctx context.Context, id string, p identity.Page, limit int) (_ []identity.ChildCount, _ string, err error) {
	defer wrap(&err, "sqlite.ChildrenCounted")
	after, n := pageArgs(p)
	rows, err := db.query(ctx, qChildrenCounted, id, after, n)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []identity.ChildCount
	for rows.Next() {
		var count int
		a, err := scanAccount(rows, &count)
		if err != nil {
			return nil, "", err
		}
		items = append(items, identity.ChildCount{Account: a, Descendants: min(count, max(limit, 0))})
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(c identity.ChildCount) string { return c.Account.ID })
	return items, next, nil
}
