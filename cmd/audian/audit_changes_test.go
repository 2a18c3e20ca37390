package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuditKeyAndRoleChanges: the audit log records every change to named
// keys (create, revoke, rotate), roles, token restrictions and signing
// keys, and holds none of the secrets those changes made.
func TestAuditKeyAndRoleChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		root := n.m.Bootstrapped.AccountID
		tok := n.login(n.m.Bootstrapped.APIKey.Reveal())
		acct := "/v2/accounts/" + root

		created := n.do("PUT", acct+"/api_keys", tok, map[string]any{"data": map[string]any{"name": "ci", "scopes": []string{"users:read"}}})
		if created.status != http.StatusCreated {
			t.Fatalf("create key: %d %s", created.status, created.raw)
		}
		secret, _ := created.data()["api_key"].(string)
		n.secrets.add(secret)
		keyID := created.data()["id"].(string)
		rotated := n.do("PUT", acct+"/api_keys/"+keyID+"/rotate", tok, map[string]any{"data": map[string]any{"grace_seconds": 0}})
		if rotated.status != http.StatusCreated {
			t.Fatalf("rotate key: %d %s", rotated.status, rotated.raw)
		}
		n.secrets.add(rotated.data()["api_key"].(string))
		newID := rotated.data()["id"].(string)
		if r := n.do("DELETE", acct+"/api_keys/"+newID, tok, nil); r.status != http.StatusOK {
			t.Fatalf("revoke key: %d %s", r.status, r.raw)
		}

		u := n.do("PUT", acct+"/users", tok, map[string]any{"data": map[string]any{"first_name": "Rae", "last_name": "R"}})
		userID := u.data()["id"].(string)
		if r := n.do("PATCH", acct+"/users/"+userID, tok, map[string]any{"data": map[string]any{"priv_level": "admin"}}); r.status != http.StatusOK {
			t.Fatalf("role change: %d %s", r.status, r.raw)
		}

		child := n.do("PUT", acct, tok, map[string]any{"data": map[string]any{"name": "Audited Child"}}).data()["id"].(string)
		if r := n.do("POST", "/v2/accounts/"+child+"/token_restrictions", tok, restrictionsBody); r.status != http.StatusOK {
			t.Fatalf("set restrictions: %d %s", r.status, r.raw)
		}
		if r := n.do("PUT", "/v2/auth/signing_keys/rotate", tok, nil); r.status != http.StatusCreated {
			t.Fatalf("rotate signing key: %d %s", r.status, r.raw)
		}

		actions := func(account string) map[string]bool {
			r := n.do("GET", "/v2/accounts/"+account+"/audit?paginate=false", tok, nil)
			if r.status != http.StatusOK {
				t.Fatalf("audit of %s: %d %s", account, r.status, r.raw)
			}
			for _, s := range n.secrets.list {
				if strings.Contains(string(r.raw), s) && s != tok {
					t.Errorf("the audit log holds a secret (%.6s...)", s)
				}
			}
			seen := map[string]bool{}
			for _, it := range r.body["data"].([]any) {
				e := it.(map[string]any)
				if e["outcome"] == "success" {
					seen[e["action"].(string)] = true
				}
			}
			return seen
		}
		rootSeen := actions(root)
		for _, want := range []string{"api_keys.create", "api_keys.rotate", "api_keys.revoke", "users.create", "users.update", "accounts.create", "signing_keys.rotate"} {
			if !rootSeen[want] {
				t.Errorf("the root account's audit log lacks %s: %v", want, rootSeen)
			}
		}
		if childSeen := actions(child); !childSeen["token_restrictions.update"] {
			t.Errorf("the child's audit log lacks token_restrictions.update: %v", childSeen)
		}
	})
}
