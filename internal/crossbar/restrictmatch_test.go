package crossbar

import (
	"encoding/json"
	"strings"
	"testing"
)

// The vectors of Kazoo's cb_token_restrictions_tests.erl: four argument
// lists under the devices endpoint, evaluated against one rule key each.
const (
	vecAuth = "auth0000000000000000000000000000"
	vecAcct = "acct0000000000000000000000000000"
	vecID   = "device00000000000000000000000000"
)

var vecArgs = map[string][]string{
	"none":       {},
	"id":         {vecID},
	"sync":       {vecID, "sync"},
	"quick_call": {vecID, "quick_call", "+14158867900"},
}

// restrictionsFor returns a document with one item for devices.
func restrictionsFor(t *testing.T, item string) restrictions {
	t.Helper()
	var r restrictions
	doc := `{"_": {"_": {"devices": [` + item + `]}}}`
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return r
}

func TestRestrictionRuleKeys(t *testing.T) {
	tests := []struct {
		key  string
		want []string // the argument lists a GET is allowed with
	}{
		{"/", []string{"none"}},
		{"*", []string{"id"}},
		{"#", []string{"none", "id", "sync", "quick_call"}},
		{vecID, []string{"id"}},
		{"*/*", []string{"sync"}},
		{"*/*/*", []string{"quick_call"}},
		{vecID + "/#", []string{"id", "sync", "quick_call"}},
	}
	for _, tt := range tests {
		r := restrictionsFor(t, `{"rules": {"`+tt.key+`": ["GET"]}}`)
		for name, args := range vecArgs {
			t.Run(tt.key+"/"+name, func(t *testing.T) {
				want := false
				for _, w := range tt.want {
					want = want || w == name
				}
				q := restrictedRequest{Method: "cb_user_auth", PrivLevel: "admin", Endpoint: "devices", Args: args,
					Verb: "GET", Account: vecAcct, AuthAccount: vecAuth, Descendant: true}
				if got := r.allows(q); got != want {
					t.Errorf("rule %q, args %q: allows = %v, want %v", tt.key, args, got, want)
				}
			})
		}
	}
}

func TestRestrictionVerbs(t *testing.T) {
	tests := []struct {
		verbs string
		want  bool
	}{
		{`["_"]`, true},
		{`["GET"]`, true},
		{`["GET","POST"]`, true},
		{`["POST"]`, false},
	}
	for _, tt := range tests {
		r := restrictionsFor(t, `{"rules": {"#": `+tt.verbs+`}}`)
		q := restrictedRequest{Method: "cb_api_auth", PrivLevel: "admin", Endpoint: "devices", Args: vecArgs["id"],
			Verb: "GET", Account: vecAcct, AuthAccount: vecAuth, Descendant: true}
		if got := r.allows(q); got != tt.want {
			t.Errorf("verbs %s: allows GET = %v, want %v", tt.verbs, got, tt.want)
		}
	}
}

// TestRestrictionAllowedAccounts: the auth account differs from the
// request's account, which is its descendant.
func TestRestrictionAllowedAccounts(t *testing.T) {
	tests := []struct {
		accounts string // "" leaves allowed_accounts out
		want     bool
	}{
		{`["{AUTH_ACCOUNT_ID}"]`, false},
		{`["{DESCENDANT_ACCOUNT_ID}"]`, true},
		{`["` + vecAcct + `"]`, true},
		{`["` + vecAuth + `"]`, false},
		{"", true},
		{`["_"]`, true},
		{`[]`, false},
	}
	for _, tt := range tests {
		item := `{"rules": {"#": ["_"]}}`
		if tt.accounts != "" {
			item = `{"allowed_accounts": ` + tt.accounts + `, "rules": {"#": ["_"]}}`
		}
		r := restrictionsFor(t, item)
		q := restrictedRequest{Method: "cb_user_auth", PrivLevel: "user", Endpoint: "devices", Args: vecArgs["sync"],
			Verb: "GET", Account: vecAcct, AuthAccount: vecAuth, Descendant: true}
		if got := r.allows(q); got != tt.want {
			t.Errorf("allowed_accounts %s: allows = %v, want %v", tt.accounts, got, tt.want)
		}
	}
}

// TestRestrictionBranches covers the method, priv-level and endpoint
// lookups, "_" fallbacks and first-match order.
func TestRestrictionBranches(t *testing.T) {
	const doc = `{
		"cb_user_auth": {
			"user": {"users": [{"allowed_accounts": ["{AUTH_ACCOUNT_ID}"], "rules": {"*": ["GET"]}}]},
			"_": {"_": [{"rules": {"#": ["GET"]}}]}
		},
		"_": {
			"admin": {
				"accounts": [
					{"allowed_accounts": ["{DESCENDANT_ACCOUNT_ID}"], "rules": {"*": ["GET"]}},
					{"rules": {"#": ["_"]}}
				],
				"users": [{"rules": {"*": ["DELETE"], "#": ["_"]}}]
			}
		}
	}`
	var r restrictions
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatal(err)
	}
	own := func(q restrictedRequest) restrictedRequest {
		q.Account, q.AuthAccount = vecAuth, vecAuth
		return q
	}
	below := func(q restrictedRequest) restrictedRequest {
		q.Account, q.AuthAccount, q.Descendant = vecAcct, vecAuth, true
		return q
	}
	tests := []struct {
		name string
		q    restrictedRequest
		want bool
	}{
		{"user reads a user of its account", own(restrictedRequest{Method: "cb_user_auth", PrivLevel: "user", Endpoint: "users", Args: []string{"u"}, Verb: "GET"}), true},
		{"user lists users: no rule for no args", own(restrictedRequest{Method: "cb_user_auth", PrivLevel: "user", Endpoint: "users", Verb: "GET"}), false},
		{"user on a descendant: item not for it", below(restrictedRequest{Method: "cb_user_auth", PrivLevel: "user", Endpoint: "users", Args: []string{"u"}, Verb: "GET"}), false},
		{"user on another endpoint: no key, no _", own(restrictedRequest{Method: "cb_user_auth", PrivLevel: "user", Endpoint: "accounts", Args: []string{vecAuth}, Verb: "GET"}), false},
		{"admin falls to the _ priv level", own(restrictedRequest{Method: "cb_user_auth", PrivLevel: "admin", Endpoint: "devices", Verb: "GET"}), true},
		{"admin via _ priv level: verb not listed", own(restrictedRequest{Method: "cb_user_auth", PrivLevel: "admin", Endpoint: "devices", Verb: "PUT"}), false},
		{"api key: first item for descendants", below(restrictedRequest{Method: "cb_api_auth", PrivLevel: "admin", Endpoint: "accounts", Args: []string{vecAcct}, Verb: "POST"}), false},
		{"api key: second item for its own account", own(restrictedRequest{Method: "cb_api_auth", PrivLevel: "admin", Endpoint: "accounts", Args: []string{vecAuth}, Verb: "POST"}), true},
		{"first matching rule decides", own(restrictedRequest{Method: "cb_api_auth", PrivLevel: "admin", Endpoint: "users", Args: []string{"u"}, Verb: "GET"}), false},
		{"a later rule matches other args", own(restrictedRequest{Method: "cb_api_auth", PrivLevel: "admin", Endpoint: "users", Verb: "GET"}), true},
		{"no branch for the priv level: unrestricted", own(restrictedRequest{Method: "cb_api_auth", PrivLevel: "user", Endpoint: "anything", Verb: "DELETE"}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.allows(tt.q); got != tt.want {
				t.Errorf("allows(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
	if !(restrictions{}).allows(restrictedRequest{Method: "x", Verb: "GET"}) {
		t.Error("an empty document restricts")
	}
}

func TestRuleOrderKept(t *testing.T) {
	var l ruleList
	if err := json.Unmarshal([]byte(`{"z": ["GET"], "a": ["PUT"], "m/#": ["_"]}`), &l); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range l {
		got = append(got, r.pattern+"="+strings.Join(r.verbs, ","))
	}
	if want := "z=GET a=PUT m/#=_"; strings.Join(got, " ") != want {
		t.Errorf("rules = %v, want %s", got, want)
	}
}

// matchWords is the naive recursive AMQP matcher, the reference the
// dynamic-programming matchArgs is fuzzed against.
func matchWords(p, a []string) bool {
	if len(p) == 0 {
		return len(a) == 0
	}
	switch p[0] {
	case "#":
		for i := 0; i <= len(a); i++ {
			if matchWords(p[1:], a[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(a) > 0 && matchWords(p[1:], a[1:])
	}
	return len(a) > 0 && a[0] == p[0] && matchWords(p[1:], a[1:])
}

func FuzzMatchArgs(f *testing.F) {
	for _, seed := range [][2]string{
		{"/", ""}, {"*", "a"}, {"#", "a/b/c"}, {"a/#", "a"}, {"*/*", "a/b"}, {"#/#/*", "a/b"}, {"a//b", "a//b"}, {"#/x/#", "x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		var args []string
		if path != "" {
			args = strings.Split(path, "/")
		}
		if len(args) > 12 || strings.Count(pattern, "/") > 12 {
			return // keeps the naive reference fast
		}
		got := matchArgs(pattern, args)
		want := len(args) == 0
		if pattern != "/" {
			want = matchWords(strings.Split(pattern, "/"), args)
		}
		if got != want {
			t.Fatalf("matchArgs(%q, %q) = %v, want %v", pattern, args, got, want)
		}
		if !matchArgs("#", args) {
			t.Fatalf("# does not match %q", args)
		}
		if len(args) > 0 && path != "/" && !strings.ContainsAny(path, "*#") && !matchArgs(path, args) {
			t.Fatalf("%q does not match itself", path)
		}
	})
}
