package crossbar

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"

	"github.com/audian/audian/internal/identity"
)

// This file is Kazoo's token restrictions (cb_token_restrictions.erl): the
// document's types, its validation against token_restrictions.json, and
// the matcher, a pure function of a document and a request so that it can
// be tested against Kazoo's own vectors without a server.

// restrictions is a parsed token restrictions document: auth method ->
// priv level -> endpoint -> items, "_" standing for any at each level.
type restrictions map[string]map[string]map[string][]restrictionItem

// restrictionItem is one entry of an endpoint's list: the accounts it
// applies to and the rules for the endpoint's arguments.
type restrictionItem struct {
	// AllowedAccounts is nil when the document leaves it out (any account)
	// and empty when it lists none (no account).
	AllowedAccounts []string `json:"allowed_accounts"`
	Rules           ruleList `json:"rules"`
}

// ruleList keeps the rules of an item in document order, because the
// first rule whose pattern matches the arguments decides.
type ruleList []rule

type rule struct {
	pattern string
	verbs   []string
}

// UnmarshalJSON decodes a rules object token by token to keep key order,
// which encoding/json's maps lose.
func (l *ruleList) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("rules: not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var verbs []string
		if err := dec.Decode(&verbs); err != nil {
			return err
		}
		*l = append(*l, rule{pattern: key, verbs: verbs})
	}
	_, err := dec.Token()
	return err
}

// restrictedRequest is what the matcher needs to know about a request.
type restrictedRequest struct {
	Method    string   // the token's auth method, e.g. cb_user_auth
	PrivLevel string   // the caller's priv_level; admin for API-key tokens
	Endpoint  string   // the last noun of the path, e.g. users
	Args      []string // the path segments after the endpoint
	Verb      string   // the HTTP method
	// Account is the account the request addresses; AuthAccount is the
	// caller's. Descendant is true when Account is below AuthAccount.
	Account     string
	AuthAccount string
	Descendant  bool
}

// allows reports whether the restrictions let q through, as Kazoo decides:
// no branch for the token's method or priv level means no restriction;
// below that, a missing endpoint, an item for other accounts, arguments no
// rule matches, or a verb the matching rule does not list deny.
func (r restrictions) allows(q restrictedRequest) bool {
	byPriv, ok := firstDefined(r, q.Method)
	if !ok {
		return true
	}
	byEndpoint, ok := firstDefined(byPriv, q.PrivLevel)
	if !ok {
		return true
	}
	items, ok := firstDefined(byEndpoint, q.Endpoint)
	if !ok {
		return false
	}
	for _, it := range items {
		if !it.appliesTo(q) {
			continue
		}
		// Only the first item for the request's account counts, and only
		// its first rule matching the arguments.
		for _, ru := range it.Rules {
			if matchArgs(ru.pattern, q.Args) {
				return slices.Contains(ru.verbs, q.Verb) || slices.Contains(ru.verbs, "_")
			}
		}
		return false
	}
	return false
}

// firstDefined is kz_json:get_first_defined([key, "_"], m).
func firstDefined[V any](m map[string]V, key string) (V, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	v, ok := m["_"]
	return v, ok
}

// appliesTo reports whether the item's allowed_accounts intersect the
// names the request's account goes by.
func (it restrictionItem) appliesTo(q restrictedRequest) bool {
	if it.AllowedAccounts == nil {
		return true
	}
	for _, a := range it.AllowedAccounts {
		switch {
		case a == "_", a == q.Account:
			return true
		case a == "{AUTH_ACCOUNT_ID}" && q.Account == q.AuthAccount:
			return true
		case a == "{DESCENDANT_ACCOUNT_ID}" && q.Descendant:
			return true
		}
	}
	return false
}

// matchArgs matches an endpoint's arguments against a rule key, AMQP
// topic style with "/" as the separator: "/" alone matches no arguments,
// "*" exactly one, "#" zero or more, anything else itself. It runs in
// O(len(words) * len(args)), whatever the number of "#" in a key.
func matchArgs(pattern string, args []string) bool {
	if pattern == "/" {
		return len(args) == 0
	}
	words := splitSlash(pattern)
	// m[j] reports whether the words seen so far match args[:j].
	m := make([]bool, len(args)+1)
	m[0] = true
	for _, w := range words {
		next := make([]bool, len(args)+1)
		switch w {
		case "#":
			seen := false
			for j := range next {
				seen = seen || m[j]
				next[j] = seen
			}
		default:
			for j := 1; j <= len(args); j++ {
				next[j] = m[j-1] && (w == "*" || w == args[j-1])
			}
		}
		m = next
	}
	return m[len(args)]
}

func splitSlash(s string) []string {
	var out []string
	for {
		i := bytes.IndexByte([]byte(s), '/')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

var (
	restrictionKey  = regexp.MustCompile(`^\w+$`)
	restrictionRule = regexp.MustCompile(`^[\w/#*]+$`)
	restrictionVerb = []string{"GET", "PUT", "POST", "PATCH", "DELETE", "_"}
)

// validateRestrictions checks a restrictions document against Kazoo's
// token_restrictions.json, recording violations under their dotted path
// (restrictions.<method>.<priv>.<endpoint>.<i>.rules.<key>...).
func validateRestrictions(doc any, v identity.Violations) {
	const root = "restrictions"
	methods, ok := doc.(map[string]any)
	if !ok {
		v.Add(root, "type", identity.Violation{Message: "Value did not match type(s): object"})
		return
	}
	for method, byPriv := range methods {
		privs, p1, ok := restrictionLevel(root, method, byPriv, v)
		if !ok {
			continue
		}
		for priv, byEndpoint := range privs {
			endpoints, p2, ok := restrictionLevel(p1, priv, byEndpoint, v)
			if !ok {
				continue
			}
			for endpoint, list := range endpoints {
				p3 := p2 + "." + endpoint
				if !restrictionKey.MatchString(endpoint) {
					v.Add(p3, "pattern", identity.Violation{Message: "Key does not match pattern '^\\w+$'"})
					continue
				}
				items, ok := list.([]any)
				if !ok {
					v.Add(p3, "type", identity.Violation{Message: "Value did not match type(s): array"})
					continue
				}
				for i, item := range items {
					validateRestrictionItem(item, p3+"."+strconv.Itoa(i), v)
				}
			}
		}
	}
}

// restrictionLevel checks one object level of the restrictions document
// (method, then priv level): its key's pattern and that its value is an
// object. It returns the object and its dotted path.
func restrictionLevel(parent, key string, val any, v identity.Violations) (map[string]any, string, bool) {
	path := parent + "." + key
	if !restrictionKey.MatchString(key) {
		v.Add(path, "pattern", identity.Violation{Message: "Key does not match pattern '^\\w+$'"})
		return nil, path, false
	}
	obj, ok := val.(map[string]any)
	if !ok {
		v.Add(path, "type", identity.Violation{Message: "Value did not match type(s): object"})
		return nil, path, false
	}
	return obj, path, true
}

func validateRestrictionItem(item any, path string, v identity.Violations) {
	obj, ok := item.(map[string]any)
	if !ok {
		v.Add(path, "type", identity.Violation{Message: "Value did not match type(s): object"})
		return
	}
	if accts, present := obj["allowed_accounts"]; present {
		validateStringSet(accts, path+".allowed_accounts", nil, v)
	}
	rules, present := obj["rules"]
	if !present {
		return
	}
	rm, ok := rules.(map[string]any)
	if !ok {
		v.Add(path+".rules", "type", identity.Violation{Message: "Value did not match type(s): object"})
		return
	}
	for key, verbs := range rm {
		p := path + ".rules." + key
		if !restrictionRule.MatchString(key) {
			v.Add(p, "pattern", identity.Violation{Message: "Key does not match pattern '^[\\w/#*]+$'"})
			continue
		}
		validateStringSet(verbs, p, restrictionVerb, v)
	}
}

// validateStringSet checks an array of unique strings, each one of enum
// when enum is not nil.
func validateStringSet(val any, path string, enum []string, v identity.Violations) {
	list, ok := val.([]any)
	if !ok {
		v.Add(path, "type", identity.Violation{Message: "Value did not match type(s): array"})
		return
	}
	seen := map[string]bool{}
	for i, e := range list {
		s, ok := e.(string)
		ip := path + "." + strconv.Itoa(i)
		switch {
		case !ok:
			v.Add(ip, "type", identity.Violation{Message: "Value did not match type(s): string"})
		case enum != nil && !slices.Contains(enum, s):
			v.Add(ip, "enum", identity.Violation{Message: "Value not found in enumerated list of values"})
		case seen[s]:
			v.Add(path, "uniqueItems", identity.Violation{Message: "The array contains duplicate items"})
		}
		seen[s] = true
	}
}
