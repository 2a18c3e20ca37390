package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// planCase is a query of a hot or client-controlled path and the index
// that must serve it.
type planCase struct {
	name  string
	query string
	args  []any
	index string // a substring of the plan naming the index
}

// planCases lists the queries the request paths run, by the very
// constants the store uses, with arguments that name rows of fillForPlans.
func planCases(t *testing.T) []planCase {
	audit := func(f identity.AuditFilter, p identity.Page) (string, []any) {
		q, args, err := auditQuery("big", f, p)
		if err != nil {
			t.Fatal(err)
		}
		return q, args
	}
	cases := []planCase{
		{"Account", qAccount, []any{"big"}, "sqlite_autoindex_accounts_1"},
		{"AccountsByName", qAccountsByName, []any{"name 7", 101}, "accounts_name_norm"},
		{"AccountByRealm", qAccountByRealm, []any{"realm7.example.com"}, "accounts_realm_lower"},
		{"RealmTaken", qRealmTaken, []any{"realm7.example.com", "x"}, "accounts_realm_lower"},
		{"NameTaken", qNameTaken, []any{"name 7", "x"}, "accounts_name_norm"},
		{"Children", qChildren, []any{"root", "", 51}, "accounts_parent"},
		{"ChildrenDeepPage", qChildren, []any{"root", "c1500", 51}, "accounts_parent"},
		{"ChildrenCounted", qChildrenCounted, []any{"root", "", 51}, "accounts_parent"},
		{"Descendants", qDescendants, []any{"root", "", 51}, "SEARCH t USING PRIMARY KEY (ancestor_id=? AND id>?)"},
		{"DescendantsDeepPage", qDescendants, []any{"root", "c1500", 51}, "SEARCH t USING PRIMARY KEY (ancestor_id=? AND id>?)"},
		{"User", qUser, []any{"big", "u00100"}, "sqlite_autoindex_users_1"},
		{"UserByUsername", qUserByUsername, []any{"big", "user100"}, "users_username"},
		{"UnknownUsername", qUserByUsername, []any{"big", "nobody"}, "users_username"},
		{"UsernameTaken", qUsernameTaken, []any{"big", "user100", "x"}, "users_username"},
		{"UserByMD5Lookup", qUserByMD5Lookup, []any{"big", "md5-100"}, "users_md5_lookup"},
		{"UserBySHA1Lookup", qUserBySHA1Lookup, []any{"big", "sha-100"}, "users_sha1_lookup"},
		{"Users", qUsers, []any{"big", "", 51}, "users_account"},
		{"UsersDeepPage", qUsers, []any{"big", "u15000", 51}, "users_account"},
		{"APIKeyByHash", qAPIKeyByHash, []any{[]byte("hash-1")}, "sqlite_autoindex_api_keys_2"},
		{"APIKey", qAPIKey, []any{"big", "k1"}, "sqlite_autoindex_api_keys_1"},
		{"AccountKey", qAccountKey, []any{"big"}, "api_keys_live_account_key"},
		{"APIKeys", qAPIKeys, []any{"big", "", 51}, "api_keys_account"},
		{"TokenRestrictions", qTokenRestrictions, []any{"big"}, "sqlite_autoindex_token_restrictions_1"},
		{"Events", qEvents, []any{int64(100), 50}, "INTEGER PRIMARY KEY"},
	}
	for _, a := range []struct {
		name string
		f    identity.AuditFilter
		p    identity.Page
	}{
		{"Audit", identity.AuditFilter{}, identity.Page{}},
		{"AuditDeepPage", identity.AuditFilter{}, identity.Page{After: "15000"}},
		{"AuditFiltered", identity.AuditFilter{Actor: "someone", Action: "user_auth", From: time.UnixMilli(1), To: time.UnixMilli(2)}, identity.Page{After: "7"}},
		{"AuditUnattributed", identity.AuditFilter{Unattributed: true}, identity.Page{After: "7"}},
	} {
		q, args := audit(a.f, a.p)
		cases = append(cases, planCase{a.name, q, args, "audit_log_account"})
	}
	return cases
}

// fillForPlans loads enough rows that a plan reading a whole table or a
// whole account would be the planner's mistake and not a tie: 3,000
// children of one root, 20,000 users and as many audit entries in one
// account, and users without a username, which the partial index leaves
// out.
func fillForPlans(t *testing.T, db *DB) {
	ctx := t.Context()
	stmts := []string{
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, revision, created, modified)
			VALUES ('root', '', '/root/', 'Root', 'root', '', '', '1-0', 0, 0)`,
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, revision, created, modified)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
			SELECT 'c' || i, 'root', '/root/c' || i || '/', 'Name ' || i, 'name ' || i, 'realm' || i || '.example.com',
				'realm' || i || '.example.com', '1-0', 0, 0 FROM n`,
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, revision, created, modified)
			VALUES ('big', 'c1', '/root/c1/big/', 'Big', 'big', '', '', '1-0', 0, 0)`,
		`INSERT INTO account_tree (ancestor_id, id) SELECT 'root', id FROM accounts WHERE parent_id = 'root'`,
		`INSERT INTO account_tree (ancestor_id, id) VALUES ('root', 'big'), ('c1', 'big')`,
		`INSERT INTO users (id, account_id, username, md5_lookup, sha1_lookup, revision, created, modified)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
			SELECT printf('u%05d', i), 'big', CASE WHEN i % 10 = 0 THEN '' ELSE 'user' || i END,
				'md5-' || i, 'sha-' || i, '1-0', 0, 0 FROM n`,
		`INSERT INTO users (id, account_id, username, revision, created, modified)
			SELECT 'x' || id, id, 'admin', '1-0', 0, 0 FROM accounts WHERE parent_id = 'root'`,
		`INSERT INTO api_keys (id, account_id, kind, hash, created, revision, revoked_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
			SELECT 'k' || i, CASE WHEN i % 2 = 0 THEN 'big' ELSE 'c' || i END, CASE WHEN i % 100 = 0 THEN 'account' ELSE 'named' END,
				CAST('hash-' || i AS BLOB), 0, '1-0', CASE WHEN i = 100 THEN 0 ELSE i END FROM n`,
		`INSERT INTO audit_log (created, account_id, actor_kind, actor, action, outcome, target_kind, target_id,
				reason, client_ip, user_agent, request_id)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
			SELECT i, CASE WHEN i % 50 = 0 THEN '' WHEN i % 3 = 0 THEN 'c' || (i % 3000 + 1) ELSE 'big' END,
				'user', 'u' || (i % 100), 'user_auth', 'success', 'user', 'u', '', '192.0.2.1', 'test', 'r' || i FROM n`,
		`INSERT INTO events (kind, subject, created)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
			SELECT 'user', 'u' || i, i FROM n`,
	}
	for _, s := range stmts {
		if _, err := db.write.ExecContext(ctx, s); err != nil {
			t.Fatalf("fill: %v\n%s", err, s)
		}
	}
}

// TestQueryPlans asserts that every query of a hot or client-controlled
// path is served by its index, with no scan of a table and no sort of a
// whole range, before and after ANALYZE: an unknown username, a deep page
// or a large subtree must cost what a small one does.
func TestQueryPlans(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "plans.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillForPlans(t, db)
	cases := planCases(t)
	for _, stats := range []string{"no statistics", "after ANALYZE"} {
		if stats == "after ANALYZE" {
			if _, err := db.write.ExecContext(t.Context(), `ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cases {
			plan := explainSQLite(t.Context(), t, db, c.query, c.args)
			if msg := badSQLitePlan(plan, c.index); msg != "" {
				t.Errorf("%s (%s): %s\nquery: %s\nplan:\n%s", c.name, stats, msg, c.query, plan)
			}
		}
	}
}

// explainSQLite returns the EXPLAIN QUERY PLAN of query, one step a line.
func explainSQLite(ctx context.Context, t *testing.T, db *DB, query string, args []any) string {
	t.Helper()
	rows, err := db.read.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, query)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// badSQLitePlan says what is wrong with plan, "" when it uses index and
// neither scans a table nor sorts.
func badSQLitePlan(plan, index string) string {
	if !strings.Contains(plan, index) {
		return "does not use " + index
	}
	for _, line := range strings.Split(plan, "\n") {
		switch {
		case strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN (subquery"):
			return "scans a table: " + line
		case strings.Contains(line, "TEMP B-TREE"):
			return "sorts: " + line
		}
	}
	return ""
}

// TestStmtCacheReused: the read queries are prepared once and then
// reused, and a statement the cache could not keep still works.
func TestStmtCacheReused(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "stmts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 3 {
		if _, err := db.Account(t.Context(), "nobody"); err != identity.ErrNotFound {
			t.Fatalf("Account = %v", err)
		}
	}
	db.stmts.mu.RLock()
	_, cached := db.stmts.m[qAccount]
	n := len(db.stmts.m)
	db.stmts.mu.RUnlock()
	if !cached || n != 1 {
		t.Errorf("after three Account calls the cache holds %d statements (Account cached: %t), want 1", n, cached)
	}
}
