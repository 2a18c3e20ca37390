package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

// planCase is a query of a hot or client-controlled path and the index
// that must serve it.
type planCase struct {
	name  string
	query string
	args  []any
	index string // a substring of the plan naming the index; alternatives separated by |
	// sorts allows a Sort node, for queries whose index match is at most
	// a row or two by a unique index or by the nature of the value.
	sorts bool
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
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []planCase{
		{"Account", qAccount, []any{"big"}, "accounts_pkey", false},
		{"AccountsByName", qAccountsByName, []any{"name 7", 100}, "accounts_name_norm_key", true},
		{"AccountByRealm", qAccountByRealm, []any{"realm7.example.com"}, "accounts_realm_lower_key", false},
		{"Children", qChildren, []any{"root", "", 51}, "accounts_parent_id_idx", false},
		{"ChildrenDeepPage", qChildren, []any{"root", "c1500", 51}, "accounts_parent_id_idx", false},
		{"ChildrenCounted", qChildrenCounted, []any{"root", "", 51}, "accounts_parent_id_idx", false},
		{"Descendants", qDescendants, []any{"root", "", 51}, "account_tree_pkey", false},
		{"DescendantsDeepPage", qDescendants, []any{"root", "c1500", 51}, "account_tree_pkey", false},
		{"User", qUser, []any{"big", "u00100"}, "users_pkey|users_account_id_idx", false},
		{"UserByUsername", qUserByUsername, []any{"big", "user100"}, "users_account_username_key", false},
		{"UnknownUsername", qUserByUsername, []any{"big", "nobody"}, "users_account_username_key", false},
		{"UserByMD5Lookup", qUserByMD5Lookup, []any{"big", "md5-100"}, "users_md5_lookup_idx", true},
		{"UserBySHA1Lookup", qUserBySHA1Lookup, []any{"big", "sha-100"}, "users_sha1_lookup_idx", true},
		{"Users", qUsers, []any{"big", "", 51}, "users_account_id_idx", false},
		{"UsersDeepPage", qUsers, []any{"big", "u15000", 51}, "users_account_id_idx", false},
		{"APIKeyByHash", qAPIKeyByHash, []any{[]byte("hash-1")}, "api_keys_hash_key", false},
		{"APIKey", qAPIKey, []any{"big", "k2"}, "api_keys_pkey|api_keys_account_id_idx", false},
		{"AccountKey", qAccountKey, []any{"big", now}, "api_keys_live_account_key", true},
		{"APIKeys", qAPIKeys, []any{"big", "", 51}, "api_keys_account_id_idx", false},
		{"TokenRestrictions", qTokenRestrictions, []any{"big"}, "token_restrictions_pkey", false},
		{"Events", qEvents, []any{int64(100), 50}, "events_pkey", false},
	}
	for _, a := range []struct {
		name string
		f    identity.AuditFilter
		p    identity.Page
	}{
		{"Audit", identity.AuditFilter{}, identity.Page{}},
		{"AuditDeepPage", identity.AuditFilter{}, identity.Page{After: "15000"}},
		{"AuditFiltered", identity.AuditFilter{Actor: "someone", Action: "user_auth", From: time.Now().Add(-2 * time.Hour), To: time.Now()}, identity.Page{After: "7"}},
		{"AuditUnattributed", identity.AuditFilter{Unattributed: true}, identity.Page{After: "7"}},
	} {
		q, args := audit(a.f, a.p)
		// Each monthly partition has its own indexes, named after it. For
		// an account holding a fifth of the entries, reading the primary
		// key in seq order and skipping the others is as good a plan.
		// With a filter on actor or action (no index has them) the planner
		// may sort what matches: a read of the account's entries in the
		// time range either way, and what the filter asks for.
		cases = append(cases, planCase{name: a.name, query: q, args: args, index: "account_id_seq_idx|_pkey",
			sorts: a.f.Actor != "" || a.f.Action != ""})
	}
	return cases
}

// fillForPlans loads enough rows that a plan reading a whole table or a
// whole account would be the planner's choice and not a tie: 3,000
// children of one root, 20,000 users and as many audit entries in one
// account, and users without a username, which the partial index leaves
// out.
func fillForPlans(ctx context.Context, t *testing.T, db *DB) {
	stmts := []string{
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, timezone, language,
				enabled, system, revision, created, modified)
			VALUES ('root', NULL, '/root/', 'Root', 'root', '', '', '', '', true, true, '1-0', now(), now())`,
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, timezone, language,
				enabled, system, revision, created, modified)
			SELECT 'c' || i, 'root', '/root/c' || i || '/', 'Name ' || i, 'name ' || i, 'realm' || i || '.example.com',
				'realm' || i || '.example.com', '', '', true, false, '1-0', now(), now() FROM generate_series(1, 3000) i`,
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, timezone, language,
				enabled, system, revision, created, modified)
			VALUES ('big', 'c1', '/root/c1/big/', 'Big', 'big', '', '', '', '', true, false, '1-0', now(), now())`,
		`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower, timezone, language,
				enabled, system, revision, created, modified)
			SELECT 'g' || i || '_' || j, 'c' || i, '/root/c' || i || '/g' || i || '_' || j || '/', 'G ' || i || ' ' || j,
				'g ' || i || ' ' || j, '', '', '', '', true, false, '1-0', now(), now()
			FROM generate_series(1, 3000) i, generate_series(1, 3) j`,
		`INSERT INTO account_tree (ancestor_id, id) SELECT 'root', id FROM accounts WHERE id <> 'root'`,
		`INSERT INTO account_tree (ancestor_id, id) SELECT parent_id, id FROM accounts WHERE id LIKE 'g%'`,
		`INSERT INTO token_restrictions (account_id, document, modified) SELECT id, '{}', now() FROM accounts WHERE parent_id = 'root'`,
		`INSERT INTO account_tree (ancestor_id, id) VALUES ('c1', 'big')`,
		`INSERT INTO users (id, account_id, username, email, first_name, last_name, priv_level, enabled,
				require_password_update, presence_id, timezone, language, password_hash, md5_lookup, md5_hash,
				sha1_lookup, sha1_hash, revision, created, modified)
			SELECT 'u' || lpad(i::text, 5, '0'), 'big', CASE WHEN i % 10 = 0 THEN '' ELSE 'user' || i END,
				'', '', '', 'user', true, false, '', '', '', '', 'md5-' || i, '', 'sha-' || i, '', '1-0', now(), now()
			FROM generate_series(1, 20000) i`,
		`INSERT INTO users (id, account_id, username, email, first_name, last_name, priv_level, enabled,
				require_password_update, presence_id, timezone, language, password_hash, md5_lookup, md5_hash,
				sha1_lookup, sha1_hash, revision, created, modified)
			SELECT 'x' || id, id, 'admin', '', '', '', 'admin', true, false, '', '', '', '', '', '', '', '', '1-0', now(), now()
			FROM accounts WHERE parent_id = 'root'`,
		`INSERT INTO users (id, account_id, username, email, first_name, last_name, priv_level, enabled,
				require_password_update, presence_id, timezone, language, password_hash, md5_lookup, md5_hash,
				sha1_lookup, sha1_hash, revision, created, modified)
			SELECT 'y' || a.id || '_' || i, a.id, 'user' || i, '', '', '', 'user', true, false, '', '', '', '', '', '', '', '', '1-0', now(), now()
			FROM accounts a, generate_series(1, 5) i WHERE a.id LIKE 'g%'`,
		`INSERT INTO api_keys (id, account_id, kind, name, prefix, hash, created_by, created, revoked_at, last_used_ip, revision)
			SELECT 'k' || i, CASE WHEN i % 2 = 0 THEN 'big' ELSE 'c' || i END,
				CASE WHEN i % 100 = 0 THEN 'account' ELSE 'named' END, '', '', convert_to('hash-' || i, 'UTF8'), '', now(),
				CASE WHEN i = 100 THEN NULL ELSE now() END, '', '1-0'
			FROM generate_series(1, 2000) i`,
		`INSERT INTO audit_log (created, account_id, actor_kind, actor, action, outcome, target_kind, target_id,
				reason, client_ip, user_agent, request_id)
			SELECT now() - i * interval '1 second', CASE WHEN i % 50 = 0 THEN '' WHEN i % 5 = 0 THEN 'big' ELSE 'c' || (i % 3000 + 1) END,
				'user', 'u' || (i % 100), 'user_auth', 'success', 'user', 'u', '', '192.0.2.1', 'test', 'r' || i
			FROM generate_series(1, 100000) i`,
		`INSERT INTO events (kind, subject, created) SELECT 'user', 'u' || i, now() FROM generate_series(1, 5000) i`,
		`ANALYZE`,
	}
	for _, s := range stmts {
		if _, err := db.pool.Exec(ctx, s); err != nil {
			t.Fatalf("fill: %v\n%s", err, s)
		}
	}
}

// TestQueryPlans asserts that every query of a hot or client-controlled
// path is served by its index, with no sequential scan and no sort, both
// under the custom plans PostgreSQL makes for a statement's first runs and
// under the generic plan a cached statement may switch to
// (plan_cache_mode=force_generic_plan): a generic plan knows nothing of
// the parameters, so a partial index serves it only when the query itself
// restates the index's condition.
func TestQueryPlans(t *testing.T) {
	base := os.Getenv("AUDIAN_TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("AUDIAN_TEST_POSTGRES_DSN is not set")
	}
	ctx := t.Context()
	dsn := createDatabase(t, base)
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillForPlans(ctx, t, db)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The partitions made ahead are empty until their month comes: the
	// planner may read them whole, which reads nothing.
	var ahead []string
	for i := 1; i <= auditMonthsAhead; i++ {
		ahead = append(ahead, "Seq Scan on "+auditPartition(monthOf(time.Now()).AddDate(0, i, 0))+" ")
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		for _, c := range planCases(t) {
			plan := explainPostgres(ctx, t, conn.Conn(), c.query, c.args)
			if msg := badPostgresPlan(plan, c.index, c.sorts, ahead); msg != "" {
				t.Errorf("%s (%s): %s\nquery: %s\nplan:\n%s", c.name, mode, msg, c.query, plan)
			}
		}
	}
}

// explainPostgres prepares query, explains its execution with args, and
// returns the plan.
func explainPostgres(ctx context.Context, t *testing.T, conn *pgx.Conn, query string, args []any) string {
	t.Helper()
	if _, err := conn.Exec(ctx, "PREPARE plan_check AS "+query); err != nil {
		t.Fatalf("prepare: %v\n%s", err, query)
	}
	defer conn.Exec(ctx, "DEALLOCATE plan_check")
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(a)
	}
	rows, err := conn.Query(ctx, "EXPLAIN (COSTS OFF) EXECUTE plan_check("+strings.Join(lits, ", ")+")",
		pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, query)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// literal writes v as an SQL literal for EXECUTE.
func literal(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case []byte:
		return `'\x` + hex.EncodeToString(v) + `'::bytea`
	case time.Time:
		return "'" + v.Format(time.RFC3339Nano) + "'::timestamptz"
	}
	panic(fmt.Sprintf("literal: %T", v))
}

// badPostgresPlan says what is wrong with plan, "" when it uses index and
// neither scans a table sequentially nor sorts.
func badPostgresPlan(plan, index string, sorts bool, emptyScans []string) string {
	uses := false
	for _, ix := range strings.Split(index, "|") {
		uses = uses || strings.Contains(plan, ix)
	}
	if !uses {
		return "does not use " + index
	}
	for _, line := range strings.Split(plan, "\n") {
		node := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
		switch {
		case strings.HasPrefix(node, "Seq Scan") && !hasPrefixAny(node+" ", emptyScans):
			return "scans a table: " + node
		case !sorts && (node == "Sort" || strings.HasPrefix(node, "Sort ") && !strings.HasPrefix(node, "Sort Key")):
			return "sorts: " + node
		}
	}
	return ""
}

// createDatabase creates a database for one test on the server of base and
// drops it when the test ends.
func createDatabase(t *testing.T, base string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := "audian_plans_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Skip("the plan test needs AUDIAN_TEST_POSTGRES_DSN as a URL")
	}
	u.Path = "/" + name
	return u.String()
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestStatementsCached: pgx prepares each query once per connection and
// reuses it (its default QueryExecModeCacheStatement), so a hot query is
// parsed and planned once per connection, not per request.
func TestStatementsCached(t *testing.T) {
	base := os.Getenv("AUDIAN_TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("AUDIAN_TEST_POSTGRES_DSN is not set")
	}
	ctx := t.Context()
	dsn := createDatabase(t, base)
	db, err := Open(ctx, dsn+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if mode := db.pool.Config().ConnConfig.DefaultQueryExecMode; mode != pgx.QueryExecModeCacheStatement {
		t.Fatalf("query exec mode %v, want QueryExecModeCacheStatement", mode)
	}
	for range 3 {
		if _, err := db.Account(ctx, "nobody"); err == nil {
			t.Fatal("Account of nobody succeeded")
		}
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement = $1`, qAccount).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the Account query is prepared %d times on the connection, want once", n)
	}
}
