package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// client runs client commands against one node, with a configuration
// file of its own.
type cliRunner struct {
	t   *testing.T
	n   *node
	env map[string]string
}

func newCLI(t *testing.T, n *node) *cliRunner {
	dir := filepath.Join(t.TempDir(), "config", "audian")
	return &cliRunner{t: t, n: n, env: map[string]string{"AUDIAN_CLI_CONFIG": filepath.Join(dir, "config.json")}}
}

// caFile is the node's certificate, as a file for --ca-cert.
func (c *cliRunner) caFile() string {
	return filepath.Join(c.n.m.Config.DataDir, "tls", "cert.pem")
}

// run runs audian with args and stdin; it fails the test on a non-zero
// exit unless fail is set.
func (c *cliRunner) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = runIO(context.Background(), args, func(k string) string { return c.env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func (c *cliRunner) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("audian %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (c *cliRunner) json(v any, stdin string, args ...string) {
	c.t.Helper()
	out := c.ok(stdin, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("audian %s --json: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// apiAuth tries an API key against the server.
func (c *cliRunner) apiAuth(key string) int {
	return c.n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": key}}).status
}

// TestCLIKeys is the acceptance of issue 12: login, then keys create
// prints the secret once, keys list shows the key without it, keys
// revoke makes api_auth with it fail with 401.
func TestCLIKeys(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	c := newCLI(t, n)
	// No terminal: the prompted API key is read from standard input.
	out := c.ok(n.m.Bootstrapped.APIKey.Reveal()+"\n", "login", "--url", n.url, "--ca-cert", c.caFile())
	if !strings.Contains(out, "Logged in to "+n.url) || !strings.Contains(out, n.m.Bootstrapped.AccountID) {
		t.Errorf("login said %q", out)
	}
	cfgPath := c.env["AUDIAN_CLI_CONFIG"]
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if fi, err := os.Stat(filepath.Dir(cfgPath)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("config directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}

	out = c.ok("", "keys", "create", "--name", "ci", "--scope", "users:read")
	var secret, id string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "audian_") || (len(f) == 64 && secret == "") {
			secret = f
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, _ := strings.Cut(strings.TrimSpace(line), " "); k == "id" {
			id = strings.TrimSpace(v)
		}
	}
	n.secrets.add(secret)
	if len(secret) != 64 || strings.Count(out, secret) != 1 || id == "" {
		t.Fatalf("keys create: secret %q (want it once), id %q:\n%s", secret, id, out)
	}
	if c.apiAuth(secret) != http.StatusCreated {
		t.Fatal("the new key does not work")
	}
	list := c.ok("", "keys", "list")
	if !strings.Contains(list, id) || !strings.Contains(list, "ci") || strings.Contains(list, secret) || strings.Contains(list, secret[12:]) {
		t.Errorf("keys list:\n%s", list)
	}
	if get := c.ok("", "keys", "get", id); strings.Contains(get, secret[12:]) || !strings.Contains(get, "users:read") {
		t.Errorf("keys get:\n%s", get)
	}
	if out := c.ok("", "keys", "revoke", id); !strings.Contains(out, "Revoked") {
		t.Errorf("keys revoke said %q", out)
	}
	if st := c.apiAuth(secret); st != http.StatusUnauthorized {
		t.Errorf("api_auth with the revoked key: %d, want 401", st)
	}
	if list := c.ok("", "keys", "list"); strings.Contains(list, id) {
		t.Errorf("the revoked key is still listed:\n%s", list)
	}
	// An error carries the server's data.message.
	_, errOut, code := c.run("", "keys", "get", id)
	if code != 1 || errOut != "audian: 404 not found\n" {
		t.Errorf("keys get of a revoked key: exit %d %q", code, errOut)
	}
	_, errOut, code = c.run("", "users", "create", "--first-name", "X")
	if code != 1 || !strings.Contains(errOut, "400 validation error: last_name: Field is required but missing") {
		t.Errorf("users create without a last name: exit %d %q", code, errOut)
	}
}

// TestCLIScripted is the same without a prompt: --api-key-stdin and
// --json on every command.
func TestCLIScripted(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{})
			c := newCLI(t, n)
			var login map[string]string
			c.json(&login, n.m.Bootstrapped.APIKey.Reveal()+"\n", "login", "--url", n.url, "--ca-cert", c.caFile(), "--api-key-stdin")
			if login["account_id"] != n.m.Bootstrapped.AccountID {
				t.Errorf("login --json = %v", login)
			}
			var key struct {
				ID     string `json:"id"`
				APIKey string `json:"api_key"`
				Name   string `json:"name"`
			}
			c.json(&key, "", "keys", "create", "--name", "ci")
			n.secrets.add(key.APIKey)
			if key.ID == "" || len(key.APIKey) != 64 || key.Name != "ci" {
				t.Fatalf("keys create --json = %+v", key)
			}
			var keys []map[string]any
			c.json(&keys, "", "keys", "list")
			if len(keys) != 1 || keys[0]["id"] != key.ID || keys[0]["api_key"] != nil {
				t.Errorf("keys list --json = %v", keys)
			}
			var revoked map[string]any
			c.json(&revoked, "", "keys", "revoke", key.ID)
			if revoked["id"] != key.ID || revoked["revoked"] != true {
				t.Errorf("keys revoke --json = %v", revoked)
			}
			if st := c.apiAuth(key.APIKey); st != http.StatusUnauthorized {
				t.Errorf("api_auth with the revoked key: %d, want 401", st)
			}

			// The other resources, in JSON.
			var u map[string]any
			c.json(&u, "pa55word-for-bob\n", "users", "create", "--first-name", "Bob", "--last-name", "Smith", "--username", "bob", "--password-stdin")
			uid, _ := u["id"].(string)
			if uid == "" || u["username"] != "bob" {
				t.Fatalf("users create --json = %v", u)
			}
			c.json(&u, "", "users", "update", uid, "--email", "bob@example.com", "--set", "ui_flags={\"a\":1}")
			if u["email"] != "bob@example.com" || u["ui_flags"] == nil {
				t.Errorf("users update --json = %v", u)
			}
			var users []map[string]any
			c.json(&users, "", "users", "list", "--filter", "username=bob")
			if len(users) != 1 || users[0]["id"] != uid {
				t.Errorf("users list --filter --json = %v", users)
			}
			var acct map[string]any
			c.json(&acct, "", "accounts", "create", "--name", "Scripted Child", "--set", "custom=yes")
			cid, _ := acct["id"].(string)
			if cid == "" || acct["custom"] != "yes" {
				t.Fatalf("accounts create --json = %v", acct)
			}
			c.json(&acct, "", "accounts", "update", cid, "--timezone", "Europe/Paris")
			if acct["timezone"] != "Europe/Paris" || acct["custom"] != "yes" {
				t.Errorf("accounts update --json = %v", acct)
			}
			var kids []map[string]any
			c.json(&kids, "", "accounts", "children")
			if len(kids) != 1 || kids[0]["id"] != cid {
				t.Errorf("accounts children --json = %v", kids)
			}
			c.json(&acct, "", "accounts", "delete", cid)
			c.json(&u, "", "users", "delete", uid)
			var info map[string]any
			c.json(&info, "", "tokens", "info")
			if info["method"] != "cb_api_auth" {
				t.Errorf("tokens info --json = %v", info)
			}
			var at map[string]any
			c.json(&at, "", "tokens", "create", "--scope", "accounts:read")
			if tok, _ := at["access_token"].(string); tok == "" {
				t.Errorf("tokens create --json = %v", at)
			} else {
				n.secrets.add(tok)
				c.json(&info, tok+"\n", "tokens", "inspect")
				if info["scopes"] == nil {
					t.Errorf("tokens inspect --json = %v", info)
				}
			}
			var audit []map[string]any
			c.json(&audit, "", "audit", "list", "--action", "api_keys.revoke")
			if len(audit) != 1 || audit[0]["target_id"] != key.ID {
				t.Errorf("audit list --json = %v", audit)
			}
		})
	}
}

// TestCLIPasswordLoginAndProfiles: a password login stores a token, never
// the password; profiles and variables choose the server; logout revokes
// the token.
func TestCLIPasswordLoginAndProfiles(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	c := newCLI(t, n)
	pw := n.m.Bootstrapped.Password.Reveal()
	c.ok(pw+"\n", "login", "--profile", "ops", "--url", n.url, "--ca-cert", c.caFile(), "--account", "Root", "--username", "admin", "--password-stdin")
	raw, err := os.ReadFile(c.env["AUDIAN_CLI_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(pw)) {
		t.Error("the password was saved")
	}
	var cfg cliConfig
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Current != "ops" || cfg.Profiles["ops"].Token == "" {
		t.Fatalf("config = %s", raw)
	}
	tok := cfg.Profiles["ops"].Token
	n.secrets.add(tok)
	if out := c.ok("", "tokens", "info"); !strings.Contains(out, "cb_user_auth") {
		t.Errorf("tokens info:\n%s", out)
	}
	if out := c.ok("", "users", "list"); !strings.Contains(out, "admin") || !strings.Contains(out, "USERNAME") {
		t.Errorf("users list:\n%s", out)
	}
	// Another profile, unused: --profile and AUDIAN_PROFILE pick it.
	_, errOut, code := c.run("", "users", "list", "--profile", "nope")
	if code != 1 || !strings.Contains(errOut, `profile "nope"`) {
		t.Errorf("unknown profile: %d %q", code, errOut)
	}
	c.env["AUDIAN_PROFILE"] = "nope"
	if _, _, code := c.run("", "users", "list"); code != 1 {
		t.Error("AUDIAN_PROFILE was ignored")
	}
	// AUDIAN_URL and AUDIAN_API_KEY run a command with no profile at all.
	c.env["AUDIAN_URL"], c.env["AUDIAN_API_KEY"], c.env["AUDIAN_CA_CERT"] = n.url, n.m.Bootstrapped.APIKey.Reveal(), c.caFile()
	if out := c.ok("", "accounts", "get"); !strings.Contains(out, "Root") {
		t.Errorf("accounts get from variables:\n%s", out)
	}
	delete(c.env, "AUDIAN_PROFILE")
	delete(c.env, "AUDIAN_URL")
	delete(c.env, "AUDIAN_API_KEY")
	delete(c.env, "AUDIAN_CA_CERT")

	// Once the saved token stops working, the message says what to do.
	if r := n.do("DELETE", "/v2/token_auth", tok, nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %d", r.status)
	}
	if _, errOut, code := c.run("", "users", "list"); code != 1 || !strings.Contains(errOut, "401 unauthorized") || !strings.Contains(errOut, "run audian login again") {
		t.Errorf("with a revoked saved token: %d %q", code, errOut)
	}
	c.ok("", "logout")
	if r := n.do("GET", "/v2/token_auth", tok, nil); r.status != http.StatusUnauthorized {
		t.Errorf("the token after logout: %d, want 401", r.status)
	}
	if _, errOut, code := c.run("", "users", "list"); code != 1 || !strings.Contains(errOut, "run audian login") {
		t.Errorf("after logout: %d %q", code, errOut)
	}

	_, errOut, code = c.run("wrong\n", "login", "--url", n.url, "--ca-cert", c.caFile(), "--account", "Root", "--username", "admin", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "401 unauthorized: invalid credentials") {
		t.Errorf("wrong password: %d %q", code, errOut)
	}
}

// TestCLICompletion: the scripts name every command and parse.
func TestCLICompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errOut bytes.Buffer
		if code := runIO(context.Background(), []string{"completion", shell}, func(string) string { return "" }, nil, &out, &errOut); code != 0 {
			t.Fatalf("completion %s: %d %s", shell, code, errOut.String())
		}
		for _, cmd := range commands {
			if !strings.Contains(out.String(), cmd.name) {
				t.Errorf("completion %s lacks %s", shell, cmd.name)
			}
		}
	}
}
