package main

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// checked wraps a node so that every reply a test receives is kept and,
// at the end of the test, walked for keys no client may ever see.
type checked struct {
	*node
	mu      sync.Mutex
	replies []*response
	paths   []string
}

func newChecked(t *testing.T, n *node) *checked {
	c := &checked{node: n}
	t.Cleanup(func() { c.assertNoPrivateKeys(t) })
	return c
}

func (c *checked) do(method, path, token string, body any, headers ...string) *response {
	c.t.Helper()
	r := c.node.do(method, path, token, body, headers...)
	c.mu.Lock()
	c.replies = append(c.replies, r)
	c.paths = append(c.paths, method+" "+path)
	c.mu.Unlock()
	return r
}

// privateKey reports whether a reply key exposes stored secrets or
// server-private fields. _read_only is Kazoo's public delete marker.
func privateKey(k string) bool {
	l := strings.ToLower(k)
	if l == "_read_only" || l == "require_password_update" {
		return false
	}
	if strings.HasPrefix(l, "_") || strings.HasPrefix(l, "pvt_") {
		return true
	}
	for _, bad := range []string{"hash", "password", "secret", "credential", "md5", "sha1", "sealed", "tokens_valid_after", "lookup"} {
		if strings.Contains(l, bad) {
			return true
		}
	}
	return false
}

func (c *checked) assertNoPrivateKeys(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.replies) == 0 {
		t.Error("no replies were checked for private keys")
	}
	for i, r := range c.replies {
		if r.status >= 300 {
			continue // error data is keyed by field names, not values
		}
		walkKeys(r.body["data"], "data", func(path, k string) {
			if privateKey(k) {
				t.Errorf("%s: reply exposes %s", c.paths[i], path)
			}
		})
	}
}

func walkKeys(v any, path string, visit func(path, key string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if path == "data" && k == "restrictions" {
				continue // a restrictions document's keys are its own
			}
			visit(path+"."+k, k)
			walkKeys(val, path+"."+k, visit)
		}
	case []any:
		for i, val := range x {
			walkKeys(val, path+"."+strconv.Itoa(i), visit)
		}
	}
}

// mint issues a token straight from the token service, for callers the
// login endpoints are not under test for (a user of a given role, a
// token of a given method).
func (n *node) mint(t *testing.T, c identity.Claims) string {
	t.Helper()
	tok, _, err := n.m.Tokens.Issue(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(tok)
	return tok
}

func userClaims(account, user, role string) identity.Claims {
	return identity.Claims{AccountID: account, OwnerID: user, Method: identity.MethodUserAuth, PrivLevel: role}
}

// ids returns the ids of a list reply's items.
func ids(t *testing.T, r *response) []string {
	t.Helper()
	items, ok := r.body["data"].([]any)
	if !ok {
		t.Fatalf("data is not a list: %s", r.raw)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func mustStatus(t *testing.T, what string, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, want, r.raw)
	}
}

// violation returns data.<field>.<rule> of a 400 reply, nil when absent.
func violation(r *response, field, rule string) any {
	f, _ := r.data()[field].(map[string]any)
	return f[rule]
}

// TestAccountsAPI covers spec §6 accounts: creating under the caller,
// the hierarchy listings and their reach, and validation.
func TestAccountsAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		root := n.m.Bootstrapped.AccountID
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())

		create := func(path, tok, name string) string {
			t.Helper()
			r := n.do("PUT", path, tok, map[string]any{"data": map[string]any{"name": name, "flags": []any{"f1"}}})
			mustStatus(t, "create "+name, r, http.StatusCreated)
			return r.data()["id"].(string)
		}
		parent := create("/v2/accounts", sys, "Parent")
		pTok := n.mint(t, adminClaims(parent))
		a := create("/v2/accounts", pTok, "Acct")
		sib := create("/v2/accounts/"+parent, pTok, "Sibling")
		aTok := n.mint(t, adminClaims(a))
		child := create("/v2/accounts", aTok, "Child")
		grand := create("/v2/accounts/"+child, aTok, "Grand")

		t.Run("PUT /v2/accounts creates under the caller", func(t *testing.T) {
			r := n.do("GET", "/v2/accounts/"+child+"/parents", aTok, nil)
			mustStatus(t, "parents", r, 200)
			if got := ids(t, r); strings.Join(got, ",") != a {
				t.Errorf("parents of the child seen by its parent = %v, want [%s]", got, a)
			}
		})
		t.Run("descendants", func(t *testing.T) {
			r := n.do("GET", "/v2/accounts/"+a+"/descendants", aTok, nil)
			mustStatus(t, "descendants", r, 200)
			got := ids(t, r)
			sort.Strings(got)
			want := []string{child, grand}
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("descendants = %v, want %v", got, want)
			}
			for _, it := range r.body["data"].([]any) {
				item := it.(map[string]any)
				tree := item["tree"].([]any)
				if len(tree) == 0 || tree[0] != a {
					t.Errorf("descendant tree %v does not start at the caller's account %s", tree, a)
				}
				if _, ok := item["flags"].([]any); !ok || item["realm"] == nil || item["name"] == nil {
					t.Errorf("descendant item %v lacks Kazoo's fields", item)
				}
			}
		})
		t.Run("children carry descendants_count", func(t *testing.T) {
			r := n.do("GET", "/v2/accounts/"+a+"/children", aTok, nil)
			mustStatus(t, "children", r, 200)
			item := r.body["data"].([]any)[0].(map[string]any)
			if item["id"] != child || item["descendants_count"] != float64(1) {
				t.Errorf("children item = %v, want the child with descendants_count 1", item)
			}
		})
		t.Run("parents and tree never go above the caller", func(t *testing.T) {
			for _, route := range []string{"parents", "tree"} {
				for _, tc := range []struct {
					name, tok, of string
					want          []string
				}{
					{"own account", aTok, a, nil},
					{"grandchild", aTok, grand, []string{a, child}},
					{"system sees the root", sys, grand, []string{root, parent, a, child}},
				} {
					r := n.do("GET", "/v2/accounts/"+tc.of+"/"+route, tc.tok, nil)
					mustStatus(t, route+" "+tc.name, r, 200)
					if got := ids(t, r); strings.Join(got, ",") != strings.Join(tc.want, ",") {
						t.Errorf("%s %s = %v, want %v", route, tc.name, got, tc.want)
					}
				}
			}
		})
		t.Run("siblings need the parent in reach", func(t *testing.T) {
			r := n.do("GET", "/v2/accounts/"+a+"/siblings", pTok, nil)
			mustStatus(t, "siblings by the parent", r, 200)
			got := ids(t, r)
			sort.Strings(got)
			want := []string{a, sib}
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("siblings = %v, want %v", got, want)
			}
			expectError(t, n.do("GET", "/v2/accounts/"+a+"/siblings", aTok, nil), 403, "forbidden")
			if r := n.do("GET", "/v2/accounts/"+grand+"/siblings", aTok, nil); r.status != 200 || len(ids(t, r)) != 1 {
				t.Errorf("siblings of the grandchild seen from above: %d %s", r.status, r.raw)
			}
		})
		t.Run("validation", func(t *testing.T) {
			for _, tc := range []struct {
				name        string
				data        map[string]any
				field, rule string
			}{
				{"name required", map[string]any{}, "name", "required"},
				{"name too long", map[string]any{"name": strings.Repeat("n", 129)}, "name", "maxLength"},
				{"realm pattern", map[string]any{"name": "R1", "realm": "bad realm!"}, "realm", "pattern"},
				{"realm short", map[string]any{"name": "R2", "realm": "a.b"}, "realm", "minLength"},
				{"timezone short", map[string]any{"name": "R3", "timezone": "UTC"}, "timezone", "minLength"},
				{"timezone type", map[string]any{"name": "R4", "timezone": 5}, "timezone", "type"},
				{"language type", map[string]any{"name": "R5", "language": true}, "language", "type"},
				{"flags type", map[string]any{"name": "R6", "flags": "x"}, "flags", "type"},
				{"notifications type", map[string]any{"name": "R7", "notifications": []any{}}, "notifications", "type"},
				{"name unique", map[string]any{"name": "acct"}, "name", "unique"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := n.do("PUT", "/v2/accounts", aTok, map[string]any{"data": tc.data})
					expectError(t, r, 400, "validation error")
					v, _ := violation(r, tc.field, tc.rule).(map[string]any)
					if v == nil || v["message"] == nil {
						t.Errorf("want data.%s.%s.message, got %s", tc.field, tc.rule, r.raw)
					}
				})
			}
		})
		t.Run("delete refused while children exist", func(t *testing.T) {
			expectError(t, n.do("DELETE", "/v2/accounts/"+child, aTok, nil), 409, "conflict")
			mustStatus(t, "delete grandchild", n.do("DELETE", "/v2/accounts/"+grand, aTok, nil), 200)
			mustStatus(t, "delete child", n.do("DELETE", "/v2/accounts/"+child, aTok, nil), 200)
		})
	})
}

// TestUsersAPI covers spec §6 users: validation, PATCH and POST, revisions,
// pagination and filters.
func TestUsersAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		r := n.do("PUT", "/v2/accounts", sys, map[string]any{"data": map[string]any{"name": "Users Co"}})
		mustStatus(t, "create account", r, 201)
		acct := "/v2/accounts/" + r.data()["id"].(string)
		n.secrets.add("correct horse battery")

		t.Run("validation", func(t *testing.T) {
			mustStatus(t, "seed", n.do("PUT", acct+"/users", sys, map[string]any{"data": map[string]any{
				"first_name": "Seed", "last_name": "User", "username": "Taken", "password": "correct horse battery"}}), 201)
			for _, tc := range []struct {
				name        string
				data        map[string]any
				field, rule string
			}{
				{"first_name required", map[string]any{"last_name": "L"}, "first_name", "required"},
				{"last_name required", map[string]any{"first_name": "F"}, "last_name", "required"},
				{"username unique", map[string]any{"first_name": "F", "last_name": "L", "username": "TAKEN", "password": "correct horse battery"}, "username", "unique"},
				{"username pattern", map[string]any{"first_name": "F", "last_name": "L", "username": "no spaces", "password": "correct horse battery"}, "username", "pattern"},
				{"email format", map[string]any{"first_name": "F", "last_name": "L", "email": "nope"}, "email", "format"},
				{"priv_level enum", map[string]any{"first_name": "F", "last_name": "L", "priv_level": "root"}, "priv_level", "enum"},
				{"hotdesk type", map[string]any{"first_name": "F", "last_name": "L", "hotdesk": "x"}, "hotdesk", "type"},
				{"verified type", map[string]any{"first_name": "F", "last_name": "L", "verified": "yes"}, "verified", "type"},
				{"password with username", map[string]any{"first_name": "F", "last_name": "L", "username": "newname"}, "password", "required"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := n.do("PUT", acct+"/users", sys, map[string]any{"data": tc.data})
					expectError(t, r, 400, "validation error")
					v, _ := violation(r, tc.field, tc.rule).(map[string]any)
					if v == nil || v["message"] == nil {
						t.Errorf("want data.%s.%s.message, got %s", tc.field, tc.rule, r.raw)
					}
				})
			}
		})

		t.Run("patch deep-merges, post replaces", func(t *testing.T) {
			r := n.do("PUT", acct+"/users", sys, map[string]any{"data": map[string]any{
				"first_name": "Pat", "last_name": "Ch", "ui": map[string]any{"theme": "dark", "lang": "fr", "nested": map[string]any{"a": 1.0, "b": 2.0}},
			}})
			mustStatus(t, "create", r, 201)
			id := r.data()["id"].(string)
			if loc := r.header.Get("Location"); loc != acct+"/users/"+id {
				t.Errorf("Location %q", loc)
			}
			got := n.do("GET", acct+"/users/"+id, sys, nil)
			etag := got.header.Get("ETag")
			if etag != strconv.Quote(got.body["revision"].(string)) {
				t.Errorf("ETag %q does not quote the revision %v", etag, got.body["revision"])
			}
			p := n.do("PATCH", acct+"/users/"+id, sys, map[string]any{"data": map[string]any{
				"ui": map[string]any{"lang": nil, "nested": map[string]any{"b": 3.0}}, "email": "pat@example.com",
			}}, "If-Match", etag)
			mustStatus(t, "patch", p, 200)
			ui, _ := p.data()["ui"].(map[string]any)
			if ui["theme"] != "dark" || ui["lang"] != nil || ui["nested"].(map[string]any)["a"] != 1.0 || ui["nested"].(map[string]any)["b"] != 3.0 {
				t.Errorf("patch did not deep-merge with null removal: %v", ui)
			}
			if p.data()["first_name"] != "Pat" || p.data()["email"] != "pat@example.com" {
				t.Errorf("patch lost or missed fields: %s", p.raw)
			}
			expectError(t, n.do("PATCH", acct+"/users/"+id, sys, map[string]any{"data": map[string]any{}}, "If-Match", etag), 409, "conflict")
			expectError(t, n.do("PATCH", acct+"/users/"+id, sys, map[string]any{"data": map[string]any{"first_name": nil}}), 400, "validation error")
			post := n.do("POST", acct+"/users/"+id, sys, map[string]any{"data": map[string]any{"first_name": "Post", "last_name": "Ed"}})
			mustStatus(t, "post", post, 200)
			if post.data()["ui"] != nil || post.data()["email"] != nil || post.data()["first_name"] != "Post" {
				t.Errorf("post did not replace the public fields: %s", post.raw)
			}
			again := n.do("POST", acct+"/users/"+id, sys, map[string]any{"data": map[string]any{"first_name": "Post", "last_name": "Ed"}})
			mustStatus(t, "repeated identical post", again, 200)
		})

		// Seven more users, two of them admins, for lists.
		made := map[string]string{}
		for i := range 7 {
			role := "user"
			if i%3 == 0 {
				role = "admin"
			}
			r := n.do("PUT", acct+"/users", sys, map[string]any{"data": map[string]any{
				"first_name": "List" + strconv.Itoa(i), "last_name": "Member", "priv_level": role,
				"ui": map[string]any{"theme": []string{"dark", "light"}[i%2]},
			}})
			mustStatus(t, "create list user", r, 201)
			made[r.data()["id"].(string)] = role
		}
		all := func(query string) []string {
			t.Helper()
			var out []string
			next := ""
			for range 50 {
				q := query
				if next != "" {
					q += "&start_key=" + url.QueryEscape(next)
				}
				r := n.do("GET", acct+"/users?"+q, sys, nil)
				mustStatus(t, "list "+q, r, 200)
				items := ids(t, r)
				if ps, _ := r.body["page_size"].(float64); int(ps) != len(items) && !strings.Contains(q, "paginate=false") {
					t.Errorf("page_size %v for %d items", r.body["page_size"], len(items))
				}
				for _, it := range r.body["data"].([]any) {
					u := it.(map[string]any)
					if _, ok := u["first_name"].(string); !ok {
						t.Errorf("list item first_name is not a string: %v", u)
					}
					if _, ok := u["last_name"].(string); !ok {
						t.Errorf("list item last_name is not a string: %v", u)
					}
				}
				out = append(out, items...)
				nk, ok := r.body["next_start_key"].(string)
				if !ok {
					return out
				}
				next = nk
			}
			t.Fatal("pagination does not end")
			return nil
		}
		t.Run("pagination", func(t *testing.T) {
			everyone := all("paginate=false")
			paged := all("page_size=3")
			if strings.Join(everyone, ",") != strings.Join(paged, ",") || len(everyone) < 9 {
				t.Errorf("pages of 3 = %v, want %v", paged, everyone)
			}
			r := n.do("GET", acct+"/users?paginate=false", sys, nil)
			for _, k := range []string{"page_size", "next_start_key", "start_key"} {
				if _, ok := r.body[k]; ok {
					t.Errorf("paginate=false reply carries %s", k)
				}
			}
			first := n.do("GET", acct+"/users?page_size=2", sys, nil)
			second := n.do("GET", acct+"/users?page_size=2&start_key="+url.QueryEscape(first.body["next_start_key"].(string)), sys, nil)
			if second.body["start_key"] != first.body["next_start_key"] {
				t.Errorf("start_key %v, want the cursor sent %v", second.body["start_key"], first.body["next_start_key"])
			}
		})
		t.Run("filters keep pagination", func(t *testing.T) {
			wantAdmins := []string{}
			for id, role := range made {
				if role == "admin" {
					wantAdmins = append(wantAdmins, id)
				}
			}
			for _, tc := range []struct {
				query string
				keep  func(id string) bool
			}{
				{"filter_priv_level=admin", func(id string) bool { return made[id] == "admin" }},
				{"filter_not_priv_level=admin&filter_last_name=Member", func(id string) bool { return made[id] == "user" }},
				{"filter_ui.theme=dark&filter_priv_level=admin", nil},
			} {
				paged := all(tc.query + "&page_size=1")
				whole := all(tc.query + "&paginate=false")
				if strings.Join(paged, ",") != strings.Join(whole, ",") {
					t.Errorf("%s: pages of 1 = %v, unpaginated = %v", tc.query, paged, whole)
				}
				if tc.keep != nil {
					want := []string{}
					for id := range made {
						if tc.keep(id) {
							want = append(want, id)
						}
					}
					sort.Strings(want)
					got := append([]string(nil), paged...)
					sort.Strings(got)
					if strings.Join(got, ",") != strings.Join(want, ",") {
						t.Errorf("%s = %v, want %v", tc.query, got, want)
					}
				}
			}
			now := time.Now().Unix() + 62167219200
			if got := all("created_from=" + strconv.FormatInt(now+3600, 10)); len(got) != 0 {
				t.Errorf("created_from in the future = %v, want none", got)
			}
			if got := all("created_to=" + strconv.FormatInt(now+3600, 10)); len(got) < 9 {
				t.Errorf("created_to in the future keeps %d users, want all", len(got))
			}
			expectError(t, n.do("GET", acct+"/users?created_from=yesterday", sys, nil), 400, "validation error")
		})
	})
}

// TestRoles covers spec §6 roles: a plain user, an admin, a scoped key.
func TestRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		r := n.do("PUT", "/v2/accounts", sys, map[string]any{"data": map[string]any{"name": "Roles Co"}})
		mustStatus(t, "create account", r, 201)
		id := r.data()["id"].(string)
		acct := "/v2/accounts/" + id
		mk := func(role string) string {
			r := n.do("PUT", acct+"/users", sys, map[string]any{"data": map[string]any{"first_name": role, "last_name": "X", "priv_level": role}})
			mustStatus(t, "create "+role, r, 201)
			return r.data()["id"].(string)
		}
		plain, other, admin := mk("user"), mk("user"), mk("admin")
		uTok := func() string { return n.mint(t, userClaims(id, plain, "user")) }
		aTok := n.mint(t, userClaims(id, admin, "admin"))
		scoped := n.mint(t, identity.Claims{AccountID: id, Method: identity.MethodAPIAuth, PrivLevel: "admin", Scopes: []string{"accounts:read"}})

		for _, tc := range []struct {
			name        string
			tok         func() string
			method, uri string
			body        map[string]any
			want        int
		}{
			{"user reads its account", uTok, "GET", acct, nil, 200},
			{"user reads itself", uTok, "GET", acct + "/users/" + plain, nil, 200},
			{"user updates its name", uTok, "PATCH", acct + "/users/" + plain, map[string]any{"first_name": "Me"}, 200},
			{"user cannot promote itself", uTok, "PATCH", acct + "/users/" + plain, map[string]any{"priv_level": "admin"}, 403},
			{"user cannot disable itself", uTok, "PATCH", acct + "/users/" + plain, map[string]any{"enabled": false}, 403},
			{"user cannot delete itself", uTok, "DELETE", acct + "/users/" + plain, nil, 403},
			{"user cannot read another user", uTok, "GET", acct + "/users/" + other, nil, 403},
			{"user cannot update another user", uTok, "PATCH", acct + "/users/" + other, map[string]any{"first_name": "Pwn"}, 403},
			{"user cannot list users", uTok, "GET", acct + "/users", nil, 403},
			{"user cannot create users", uTok, "PUT", acct + "/users", map[string]any{"first_name": "A", "last_name": "B"}, 403},
			{"user cannot change the account", uTok, "PATCH", acct, map[string]any{"timezone": "Europe/Rome"}, 403},
			{"user cannot create accounts", uTok, "PUT", "/v2/accounts", map[string]any{"name": "Nope"}, 403},
			{"user cannot read the account key", uTok, "GET", acct + "/api_key", nil, 403},
			{"admin promotes a user", func() string { return aTok }, "PATCH", acct + "/users/" + other, map[string]any{"priv_level": "admin"}, 200},
			{"admin edits the account", func() string { return aTok }, "PATCH", acct, map[string]any{"timezone": "Europe/Rome"}, 200},
			{"scoped key reads the account", func() string { return scoped }, "GET", acct, nil, 200},
			{"scoped key cannot list users", func() string { return scoped }, "GET", acct + "/users", nil, 403},
			{"scoped key cannot write the account", func() string { return scoped }, "PATCH", acct, map[string]any{}, 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var body any
				if tc.body != nil {
					body = map[string]any{"data": tc.body}
				}
				r := n.do(tc.method, tc.uri, tc.tok(), body)
				if r.status != tc.want {
					t.Fatalf("%s %s: %d, want %d\n%s", tc.method, tc.uri, r.status, tc.want, r.raw)
				}
			})
		}
	})
}

// restrictionsBody is the document the restriction tests post: the
// account's cb_auth tokens may read their account and its users, nothing
// else.
var restrictionsBody = map[string]any{"data": map[string]any{"restrictions": map[string]any{
	"cb_auth": map[string]any{"_": map[string]any{
		"accounts": []any{map[string]any{"allowed_accounts": []any{"{AUTH_ACCOUNT_ID}"}, "rules": map[string]any{"*": []any{"GET"}}}},
		"users":    []any{map[string]any{"rules": map[string]any{"#": []any{"GET"}}}},
	}},
}}}

// TestTokenRestrictions covers the management endpoints and enforcement.
func TestTokenRestrictions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		r := n.do("PUT", "/v2/accounts", sys, map[string]any{"data": map[string]any{"name": "Restricted Co"}})
		mustStatus(t, "create account", r, 201)
		id := r.data()["id"].(string)
		acct := "/v2/accounts/" + id
		own := n.mint(t, adminClaims(id))
		restricted := n.mint(t, identity.Claims{AccountID: id, Method: identity.MethodAuth, PrivLevel: "admin"})

		expectError(t, n.do("POST", acct+"/token_restrictions", own, restrictionsBody), 403, "forbidden")
		for _, tc := range []struct {
			name  string
			doc   any
			field string
			rule  string
		}{
			{"not an object", "x", "restrictions", "type"},
			{"bad verb", map[string]any{"_": map[string]any{"_": map[string]any{"users": []any{map[string]any{"rules": map[string]any{"#": []any{"FETCH"}}}}}}}, "restrictions._._.users.0.rules.#.0", "enum"},
			{"bad rule key", map[string]any{"_": map[string]any{"_": map[string]any{"users": []any{map[string]any{"rules": map[string]any{"a b": []any{"GET"}}}}}}}, "restrictions._._.users.0.rules.a b", "pattern"},
			{"items not a list", map[string]any{"_": map[string]any{"_": map[string]any{"users": map[string]any{}}}}, "restrictions._._.users", "type"},
			{"duplicate accounts", map[string]any{"_": map[string]any{"_": map[string]any{"users": []any{map[string]any{"allowed_accounts": []any{"a", "a"}}}}}}, "restrictions._._.users.0.allowed_accounts", "uniqueItems"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := n.do("POST", acct+"/token_restrictions", sys, map[string]any{"data": map[string]any{"restrictions": tc.doc}})
				expectError(t, r, 400, "validation error")
				if violation(r, tc.field, tc.rule) == nil {
					t.Errorf("want data[%q].%s, got %s", tc.field, tc.rule, r.raw)
				}
			})
		}

		mustStatus(t, "GET with none", n.do("GET", acct+"/token_restrictions", own, nil), 200)
		if r := n.do("GET", acct+"/users", restricted, nil); r.status != 200 {
			t.Fatalf("unrestricted cb_auth token: %d", r.status)
		}
		set := n.do("POST", acct+"/token_restrictions", sys, restrictionsBody)
		mustStatus(t, "POST", set, 200)
		if !strings.Contains(string(set.raw), `"restrictions":{"cb_auth":{"_":{"accounts":`) {
			t.Errorf("POST reply does not hold the document: %s", set.raw)
		}
		got := n.do("GET", acct+"/token_restrictions", own, nil)
		mustStatus(t, "GET", got, 200)

		for _, tc := range []struct {
			method, uri string
			want        int
		}{
			{"GET", acct, 200},
			{"GET", acct + "/users", 200},
			{"PUT", acct + "/users", 403},
			{"GET", acct + "/children", 403},
			{"GET", acct + "/token_restrictions", 403},
			{"GET", "/v2/token_auth", 403},
		} {
			var body any
			if tc.method == "PUT" {
				body = map[string]any{"data": map[string]any{"first_name": "A", "last_name": "B"}}
			}
			r := n.do(tc.method, tc.uri, restricted, body)
			if r.status != tc.want {
				t.Errorf("restricted %s %s: %d, want %d\n%s", tc.method, tc.uri, r.status, tc.want, r.raw)
				continue
			}
			if tc.want == 403 && r.data()["cause"] != "access denied by token restrictions" {
				t.Errorf("restricted %s %s: data.cause = %v", tc.method, tc.uri, r.data()["cause"])
			}
		}
		if r := n.do("PUT", acct+"/users", own, map[string]any{"data": map[string]any{"first_name": "A", "last_name": "B"}}); r.status != 201 {
			t.Errorf("a cb_api_auth token is restricted by cb_auth rules: %d", r.status)
		}
		mustStatus(t, "DELETE", n.do("DELETE", acct+"/token_restrictions", sys, nil), 200)
		if r := n.do("GET", acct+"/children", restricted, nil); r.status != 200 {
			t.Errorf("restrictions still enforced after DELETE: %d", r.status)
		}
	})
}

// TestAccountsWireGoldens pins the reply shapes of the account hierarchy,
// filtered lists and token restrictions. Lists hold one item each (or a
// chain in fixed order), so that random ids cannot reorder a golden.
func TestAccountsWireGoldens(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
	created := n.do("PUT", "/v2/accounts", sys, map[string]any{"data": map[string]any{"name": "Golden Parent", "flags": []any{"beta"}}})
	golden(t, "accounts_created_own_child", created)
	parent := created.data()["id"].(string)
	a := n.do("PUT", "/v2/accounts/"+parent, sys, map[string]any{"data": map[string]any{"name": "Golden A"}}).data()["id"].(string)
	child := n.do("PUT", "/v2/accounts/"+a, sys, map[string]any{"data": map[string]any{"name": "Golden Child"}}).data()["id"].(string)
	aTok := n.mint(t, adminClaims(a))

	golden(t, "account_children", n.do("GET", "/v2/accounts/"+parent+"/children", sys, nil))
	golden(t, "account_descendants", n.do("GET", "/v2/accounts/"+a+"/descendants", aTok, nil))
	golden(t, "account_parents", n.do("GET", "/v2/accounts/"+child+"/parents", sys, nil))
	golden(t, "account_tree", n.do("GET", "/v2/accounts/"+child+"/tree", aTok, nil))
	golden(t, "account_siblings", n.do("GET", "/v2/accounts/"+a+"/siblings", sys, nil))
	golden(t, "users_filtered", n.do("GET", "/v2/accounts/"+n.m.Bootstrapped.AccountID+"/users?filter_priv_level=admin&page_size=1", sys, nil))
	golden(t, "error_account_validation", n.do("PUT", "/v2/accounts", sys, map[string]any{"data": map[string]any{"realm": "no spaces!", "flags": "x"}}))

	golden(t, "token_restrictions_set", n.do("POST", "/v2/accounts/"+a+"/token_restrictions", sys, restrictionsBody))
	golden(t, "token_restrictions", n.do("GET", "/v2/accounts/"+a+"/token_restrictions", aTok, nil))
	restricted := n.mint(t, identity.Claims{AccountID: a, Method: identity.MethodAuth, PrivLevel: "admin"})
	golden(t, "error_token_restricted", n.do("GET", "/v2/accounts/"+a+"/children", restricted, nil))
	golden(t, "error_token_restrictions_validation", n.do("POST", "/v2/accounts/"+a+"/token_restrictions", sys,
		map[string]any{"data": map[string]any{"restrictions": map[string]any{"_": map[string]any{"_": map[string]any{"users": []any{
			map[string]any{"rules": map[string]any{"#": []any{"FETCH"}}}}}}}}}))
	golden(t, "token_restrictions_deleted", n.do("DELETE", "/v2/accounts/"+a+"/token_restrictions", sys, nil))
}
