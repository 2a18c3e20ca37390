package main

import (
	"net/http"
	"testing"
)

// TestUnicodeNames: account names and usernames are compared as people
// read them (PRECIS folding), so a name in any script signs in, width and
// case variants are one name, and a look-alike of an existing account name
// is refused.
func TestUnicodeNames(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		admin := n.login(n.m.Bootstrapped.APIKey.Reveal())
		password := "correct horse 42"
		n.secrets.add(password)
		root := "/v2/accounts/" + n.m.Bootstrapped.AccountID
		create := func(name string) *response {
			return n.do("PUT", root, admin, map[string]any{"data": map[string]any{"name": name}})
		}
		accounts := map[string]string{}
		for _, name := range []string{"日本", "Acme"} {
			r := create(name)
			if r.status != http.StatusCreated {
				t.Fatalf("create %q: %d %s", name, r.status, r.raw)
			}
			accounts[name] = r.data()["id"].(string)
		}
		users := map[string]string{}
		for _, u := range []struct{ account, username string }{{"日本", "ユーザー"}, {"Acme", "ＡＬＩＣＥ"}} {
			r := n.do("PUT", "/v2/accounts/"+accounts[u.account]+"/users", admin, map[string]any{"data": map[string]any{
				"first_name": "F", "last_name": "L", "username": u.username, "password": password, "priv_level": "admin",
			}})
			if r.status != http.StatusCreated {
				t.Fatalf("create user %q: %d %s", u.username, r.status, r.raw)
			}
			users[u.username] = r.data()["id"].(string)
		}

		logins := []struct {
			name                  string
			data                  map[string]any
			account, user, wantUN string
		}{
			{"CJK account and username", map[string]any{"account_name": "日本", "username": "ユーザー", "password": password}, "日本", "ユーザー", ""},
			{"CJK with a Kazoo digest", map[string]any{"account_name": " 日本 ", "credentials": digest("md5", "ユーザー", password)}, "日本", "ユーザー", ""},
			{"fullwidth account name", map[string]any{"account_name": "ＡＣＭＥ", "username": "alice", "password": password}, "Acme", "ＡＬＩＣＥ", ""},
			{"fullwidth username stored folded", map[string]any{"account_name": "acme", "username": "Alice", "password": password}, "Acme", "ＡＬＩＣＥ", ""},
		}
		for _, tt := range logins {
			t.Run(tt.name, func(t *testing.T) {
				r := n.userAuth(tt.data)
				if r.status != http.StatusCreated {
					t.Fatalf("user_auth: %d %s", r.status, r.raw)
				}
				if d := r.data(); d["account_id"] != accounts[tt.account] || d["owner_id"] != users[tt.user] {
					t.Errorf("logged in as %v/%v, want %s/%s", d["account_id"], d["owner_id"], accounts[tt.account], users[tt.user])
				}
			})
		}
		if r := n.do("GET", "/v2/accounts/"+accounts["Acme"]+"/users/"+users["ＡＬＩＣＥ"], admin, nil); r.data()["username"] != "alice" {
			t.Errorf("stored username %v, want the folded \"alice\"", r.data()["username"])
		}

		for _, name := range []string{"Аcme" /* Cyrillic А */, "ACMΕ" /* Greek Ε */, "ａｃｍｅ", "日 本"} {
			r := create(name)
			expectError(t, r, http.StatusBadRequest, "validation error")
			if _, ok := r.data()["name"].(map[string]any)["unique"]; !ok {
				t.Errorf("create %q: want data.name.unique, got %s", name, r.raw)
			}
		}
	})
}
