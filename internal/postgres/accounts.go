package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

const accountCols = `id, COALESCE(parent_id, ''), path, name, realm, timezone, language,
	enabled, system, extra, tokens_valid_after, revision, created, modified`

// accountColsA is accountCols of the table aliased a.
const accountColsA = `a.id, COALESCE(a.parent_id, ''), a.path, a.name, a.realm, a.timezone, a.language,
	a.enabled, a.system, a.extra, a.tokens_valid_after, a.revision, a.created, a.modified`

// The account queries of hot or client-controlled paths; plans_test.go
// checks that each is served by an index, with custom and generic plans
// alike. The lookups by name and realm restate the condition of their
// partial unique indexes (x is not empty), which a generic plan cannot infer from
// a parameter.
const (
	qAccount     = `SELECT ` + accountCols + ` FROM accounts WHERE id = $1`
	qChildren    = `SELECT ` + accountCols + ` FROM accounts WHERE parent_id = $1 AND id > $2 ORDER BY id LIMIT $3`
	qDescendants = `SELECT ` + accountColsA + ` FROM account_tree t JOIN accounts a ON a.id = t.id
		WHERE t.ancestor_id = $1 AND t.id > $2 ORDER BY t.id LIMIT $3`
	// qChildrenCounted reads each child's subtree size, which the writes
	// below it keep, so that a page costs the same whatever the subtrees.
	qChildrenCounted = `SELECT ` + accountColsA + `, a.descendants
		FROM accounts a WHERE a.parent_id = $1 AND a.id > $2 ORDER BY a.id LIMIT $3`
	qAccountsByName = `SELECT ` + accountCols + ` FROM accounts WHERE name_norm = $1 AND name_norm <> '' ORDER BY id LIMIT $2`
	qAccountByRealm = `SELECT ` + accountCols + ` FROM accounts WHERE realm_lower = $1 AND realm_lower <> ''`
)

// scanAccount reads one row selected with accountCols, followed by the
// columns of more, when given. Tree is derived from the stored path.
func scanAccount(row pgx.Row, more ...any) (*identity.Account, error) {
	var a identity.Account
	var path string
	var extra []byte
	var tva *time.Time
	dest := append([]any{&a.ID, &a.ParentID, &path, &a.Name, &a.Realm, &a.Timezone, &a.Language,
		&a.Enabled, &a.System, &extra, &tva, &a.Revision, &a.Created, &a.Modified}, more...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.Tree = treeOf(path)
	if err := unmarshalJSON(extra, &a.Extra); err != nil {
		return nil, err
	}
	a.TokensValidAfter = fromNull(tva)
	a.Created, a.Modified = normTime(a.Created), normTime(a.Modified)
	return &a, nil
}

// treeOf returns the ancestor ids in path '/root/.../self/', or nil for a
// root account.
func treeOf(path string) []string {
	ids := strings.Split(strings.Trim(path, "/"), "/")
	if len(ids) <= 1 {
		return nil
	}
	return ids[:len(ids)-1]
}

// pathOf is the inverse of treeOf.
func pathOf(tree []string, id string) string {
	var b strings.Builder
	b.WriteString("/")
	for _, t := range tree {
		b.WriteString(t + "/")
	}
	return b.String() + id + "/"
}

// jsonOrNull encodes v, or returns nil (SQL NULL) when v is a nil map or
// slice, so that nil and empty stay distinct.
func jsonOrNull(v any, isNil bool) ([]byte, error) {
	if isNil {
		return nil, nil
	}
	return json.Marshal(v)
}

// unmarshalJSON decodes b into v, leaving v untouched for SQL NULL.
func unmarshalJSON(b []byte, v any) error {
	if b == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// normAccount brings the fields a caller may set into stored form.
func normAccount(a *identity.Account) {
	a.TokensValidAfter = normTime(a.TokensValidAfter)
}

// insertAccount stores a, whose Tree, Revision and times are already set.
func insertAccount(ctx context.Context, tx pgx.Tx, a *identity.Account) error {
	extra, err := jsonOrNull(a.Extra, a.Extra == nil)
	if err != nil {
		return err
	}
	var parent any
	if a.ParentID != "" {
		parent = a.ParentID
	}
	_, err = tx.Exec(ctx, `INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower,
		timezone, language, enabled, system, extra, tokens_valid_after, revision, created, modified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		a.ID, parent, pathOf(a.Tree, a.ID), a.Name, identity.NormalizeName(a.Name), a.Realm, strings.ToLower(a.Realm),
		a.Timezone, a.Language, a.Enabled, a.System, extra, nullTime(a.TokensValidAfter), a.Revision, a.Created, a.Modified)
	if err != nil || a.ParentID == "" {
		return err
	}
	// The new account is below its parent and all the parent's ancestors.
	_, err = tx.Exec(ctx, `INSERT INTO account_tree (ancestor_id, id)
		SELECT ancestor_id, $1 FROM account_tree WHERE id = $2 UNION ALL SELECT $2, $1`, a.ID, a.ParentID)
	if err != nil {
		return err
	}
	return addDescendants(ctx, tx, a.ID, 1)
}

// addDescendants adds n to the descendants count of every ancestor of id.
// The ancestors are updated root first, in one order for every writer, so
// that two writers below the same account queue rather than deadlock.
func addDescendants(ctx context.Context, tx pgx.Tx, id string, n int) error {
	_, err := tx.Exec(ctx, `UPDATE accounts a SET descendants = a.descendants + $2
		FROM (SELECT x.id FROM account_tree t JOIN accounts x ON x.id = t.ancestor_id
			WHERE t.id = $1 ORDER BY length(x.path) FOR NO KEY UPDATE OF x) s
		WHERE a.id = s.id`, id, n)
	return err
}

// Bootstrap creates the first account, forced to be a root system account,
// with its admin user and account key, in one transaction. An advisory
// lock makes two processes bootstrapping at once see each other.
func (db *DB) Bootstrap(ctx context.Context, a *identity.Account, u *identity.User, k *identity.APIKey) (err error) {
	defer wrap(&err, "postgres: bootstrap")
	ca := *a
	if ca.ID == "" {
		ca.ID = identity.NewID()
	}
	ca.ParentID, ca.Tree, ca.System = "", nil, true
	now := db.clock()
	normAccount(&ca)
	ca.Revision, ca.Created, ca.Modified = nextRevision(""), now, now
	var cu *identity.User
	if u != nil {
		c := *u
		c.AccountID = ca.ID
		prepareUser(&c, now)
		cu = &c
	}
	var ck *identity.APIKey
	if k != nil {
		c := *k
		c.AccountID = ca.ID
		if c.Kind == "" {
			c.Kind = identity.KeyKindAccount
		}
		prepareAPIKey(&c, now)
		ck = &c
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockBootstrap, db.lockKey); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return identity.ErrBootstrapped
		}
		if err := insertAccount(ctx, tx, &ca); err != nil {
			return err
		}
		evs := []identity.Event{{Kind: identity.EventAccount, ID: ca.ID}}
		if cu != nil {
			if err := insertUser(ctx, tx, cu); err != nil {
				return err
			}
			evs = append(evs, identity.Event{Kind: identity.EventUser, ID: cu.ID})
		}
		if ck != nil {
			if err := insertAPIKey(ctx, tx, ck); err != nil {
				return err
			}
			evs = append(evs, identity.Event{Kind: identity.EventAPIKey, ID: ck.ID})
		}
		return db.appendEvents(ctx, tx, evs...)
	})
	if err != nil {
		return err
	}
	*a = ca
	if cu != nil {
		*u = *cu
	}
	if ck != nil {
		*k = *ck
	}
	return nil
}

// CreateAccount stores a. Its Tree is computed from the parent's stored
// path, whatever the caller put there, and written back into a with the
// revision and times.
func (db *DB) CreateAccount(ctx context.Context, a *identity.Account) (err error) {
	defer wrap(&err, "postgres: create account")
	c := *a
	if c.ID == "" {
		c.ID = identity.NewID()
	}
	now := db.clock()
	normAccount(&c)
	c.Tree = nil
	c.Revision, c.Created, c.Modified = nextRevision(""), now, now
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if c.ParentID != "" {
			// FOR KEY SHARE keeps the parent from being deleted until
			// this transaction ends.
			var path string
			err := tx.QueryRow(ctx, `SELECT path FROM accounts WHERE id = $1 FOR KEY SHARE`, c.ParentID).Scan(&path)
			if err != nil {
				return err
			}
			c.Tree = append(treeOf(path), c.ParentID)
		}
		if err := insertAccount(ctx, tx, &c); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAccount, ID: c.ID})
	})
	if err != nil {
		return err
	}
	*a = c
	return nil
}

// Account returns the account with id.
func (db *DB) Account(ctx context.Context, id string) (_ *identity.Account, err error) {
	defer wrap(&err, "postgres: account %q", id)
	return scanAccount(db.pool.QueryRow(ctx, qAccount, id))
}

// UpdateAccount applies fn to the account under a row lock. The event
// carries a Cutoff when fn moved TokensValidAfter.
func (db *DB) UpdateAccount(ctx context.Context, id string, fn func(*identity.Account) error) (_ *identity.Account, err error) {
	var a *identity.Account
	err = db.update(ctx, func(tx pgx.Tx) error {
		old, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		oldRev, oldTVA, oldParent, oldTree, oldCreated := old.Revision, old.TokensValidAfter, old.ParentID, old.Tree, old.Created
		old.Tree = append([]string(nil), oldTree...)
		if err := fn(old); err != nil {
			return fnError{err}
		}
		a = old
		if a.ID != id || a.ParentID != oldParent {
			return errIDChanged
		}
		normAccount(a)
		a.Tree, a.Created = oldTree, oldCreated
		a.Revision, a.Modified = nextRevision(oldRev), db.clock()
		extra, err := jsonOrNull(a.Extra, a.Extra == nil)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET name = $2, name_norm = $3, realm = $4, realm_lower = $5,
			timezone = $6, language = $7, enabled = $8, system = $9, extra = $10, tokens_valid_after = $11,
			revision = $12, modified = $13 WHERE id = $1`,
			id, a.Name, identity.NormalizeName(a.Name), a.Realm, strings.ToLower(a.Realm), a.Timezone, a.Language,
			a.Enabled, a.System, extra, nullTime(a.TokensValidAfter), a.Revision, a.Modified)
		if err != nil {
			return err
		}
		e := identity.Event{Kind: identity.EventAccount, ID: id}
		if !a.TokensValidAfter.Equal(oldTVA) {
			e.Cutoff = a.TokensValidAfter
		}
		return db.appendEvents(ctx, tx, e)
	}, "postgres: update account %q", id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// DeleteAccount removes the account; users and keys go with it through ON
// DELETE CASCADE, and the account's Cutoff event covers their tokens.
func (db *DB) DeleteAccount(ctx context.Context, id string) (err error) {
	defer wrap(&err, "postgres: delete account %q", id)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Lock first and look for children in a later statement: a
		// CreateAccount holding the parent FOR KEY SHARE has committed by
		// the time the lock is granted, and only a new statement's
		// snapshot sees its child.
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, id).Scan(new(int)); err != nil {
			return err
		}
		var children bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE parent_id = $1)`, id).Scan(&children); err != nil {
			return err
		}
		if children {
			return identity.ErrHasChildren
		}
		if err := addDescendants(ctx, tx, id, -1); err != nil {
			return err
		}
		// The account's OAuth applications and every grant made to them
		// go too: their tokens may belong to users of other accounts, which
		// the account's cutoff does not reach.
		rows, err := tx.Query(ctx, `SELECT id FROM oauth_apps WHERE account_id = $1
			UNION ALL SELECT g.id FROM oauth_grants g JOIN oauth_apps a ON a.id = g.app_id WHERE a.account_id = $1`, id)
		if err != nil {
			return err
		}
		revoked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		now := db.clock()
		evs := []identity.Event{{Kind: identity.EventAccount, ID: id, Cutoff: now}}
		for _, s := range revoked {
			evs = append(evs, identity.Event{Kind: identity.EventAPIKey, ID: s, Cutoff: now})
		}
		if _, err := tx.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, id); err != nil {
			// The parent_id foreign key is the last word should a child
			// appear anyway.
			if isForeignKeyViolation(err) {
				return identity.ErrHasChildren
			}
			return err
		}
		return db.appendEvents(ctx, tx, evs...)
	})
}

// Children lists the direct children of id; a missing account has none.
func (db *DB) Children(ctx context.Context, id string, p identity.Page) (_ []*identity.Account, _ string, err error) {
	defer wrap(&err, "postgres: children of %q", id)
	return db.accountList(ctx, p, qChildren, id)
}

// Descendants lists every account below id from account_tree, whose
// primary key holds them in id order: a page reads the page, however large
// the subtree. A missing account has none.
func (db *DB) Descendants(ctx context.Context, id string, p identity.Page) (_ []*identity.Account, _ string, err error) {
	defer wrap(&err, "postgres: descendants of %q", id)
	return db.accountList(ctx, p, qDescendants, id)
}

// accountList returns one page of query, which takes the id, the cursor
// and the limit as $1, $2 and $3.
func (db *DB) accountList(ctx context.Context, p identity.Page, query, id string) ([]*identity.Account, string, error) {
	limit := p.Limit()
	rows, err := db.pool.Query(ctx, query, id, p.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.Account, error) { return scanAccount(row) })
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, limit, func(a *identity.Account) string { return a.ID })
	return items, next, nil
}

// ChildrenCounted lists the children of id with their subtree sizes, read
// with them and capped at limit.
func (db *DB) ChildrenCounted(ctx context.Context, id string, p identity.Page, limit int) (_ []identity.ChildCount, _ string, err error) {
	defer wrap(&err, "postgres: children of %q with counts", id)
	size := p.Limit()
	rows, err := db.pool.Query(ctx, qChildrenCounted, id, p.After, size+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (identity.ChildCount, error) {
		var n int
		a, err := scanAccount(row, &n)
		return identity.ChildCount{Account: a, Descendants: min(n, max(limit, 0))}, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, size, func(c identity.ChildCount) string { return c.Account.ID })
	return items, next, nil
}
