package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/wire")

var (
	jwtRE  = regexp.MustCompile(`^eyJ[\w-]+\.[\w-]+\.[\w-]+$`)
	idRE   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	revRE  = regexp.MustCompile(`^\d+-[0-9a-f]{16}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// volatile are keys whose values change from run to run.
var volatile = map[string]string{
	"node": "<node>", "realm": "<realm>", "created": "<created>", "version": "<version>",
	"iat": "<iat>", "exp": "<exp>", "jti": "<jti>", "remaining": "<n>",
}

// normalize replaces what changes between runs with placeholders, so that
// a golden file pins the shape and the stable values of a reply.
func normalize(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalize(val, k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val, key)
		}
		return out
	case string:
		switch {
		case volatile[key] != "":
			return volatile[key]
		case key == "request_id":
			return "<request_id>"
		case jwtRE.MatchString(x):
			return "<jwt>"
		case idRE.MatchString(x):
			return "<id>"
		case revRE.MatchString(x):
			return "<revision>"
		case timeRE.MatchString(x):
			return "<timestamp>"
		}
	case float64:
		if volatile[key] != "" {
			return volatile[key]
		}
	}
	return v
}

// golden compares a reply with testdata/wire/name.json.
func golden(t *testing.T, name string, r *response) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"status": r.status, "body": normalize(r.body, "")}); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("..", "..", "testdata", "wire", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/audian -run TestWireGoldens -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("reply %s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// TestWireGoldens pins the wire shape of the core replies.
func TestWireGoldens(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	boot := n.m.Bootstrapped
	acct := "/v2/accounts/" + boot.AccountID
	auth := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": boot.APIKey.Reveal()}})
	golden(t, "api_auth", auth)
	tok := auth.body["auth_token"].(string)
	golden(t, "account", n.do("GET", acct, tok, nil))
	golden(t, "users", n.do("GET", acct+"/users", tok, nil))
	golden(t, "token_auth", n.do("GET", "/v2/token_auth", tok, nil))
	golden(t, "error_401", n.do("GET", acct, "", nil))
	child := n.do("PUT", acct, tok, map[string]any{"data": map[string]any{"name": "Child"}})
	golden(t, "account_created", child)
	childID := child.data()["id"].(string)
	childKey := n.do("GET", "/v2/accounts/"+childID+"/api_key", tok, nil).data()["api_key"].(string)
	golden(t, "error_403", n.do("GET", acct, n.login(childKey), nil))
	golden(t, "error_validation", n.do("PUT", acct+"/users", tok, map[string]any{"data": map[string]any{"email": "nope"}}))
	golden(t, "error_405", n.do("DELETE", "/v2/api_auth", "", nil))
}
