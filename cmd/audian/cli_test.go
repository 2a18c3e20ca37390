package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = run(context.Background(), args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || out != "audian "+Version+"\n" {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, nil); code != 2 || !strings.Contains(errOut, "audian serve") {
		t.Errorf("no command: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
}

// TestServeHelp: every setting is documented with its variable.
func TestServeHelp(t *testing.T) {
	code, out, _ := runCLI(t, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help exited %d", code)
	}
	for _, want := range []string{"-data-dir", "AUDIAN_DATA_DIR", "-listen", "AUDIAN_LISTEN", "-database", "AUDIAN_DATABASE",
		"-tls-cert", "-tls-key", "-insecure-http", "AUDIAN_TOKEN_LIFETIME", "AUDIAN_RATE_COST", "AUDIAN_CONFIG"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
}

// TestServeRejectsBadConfig reports every problem at once.
func TestServeRejectsBadConfig(t *testing.T) {
	code, _, errOut := runCLI(t, map[string]string{"AUDIAN_RATE_COST": "-1"},
		"serve", "--data-dir", t.TempDir(), "--token-lifetime", "1m", "--log-level", "loud")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"token-lifetime", "rate-cost", "log-level"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error output does not mention %s:\n%s", want, errOut)
		}
	}
}

// TestBootstrapCommand: scripted bootstrap, once, then a server that uses it.
func TestBootstrapCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"AUDIAN_KEK": testKEK}
	args := []string{"bootstrap", "--data-dir", dir, "--account-name", "Acme Corp", "--username", "Alice", "--password", "s3cret-passw0rd", "--json"}
	code, out, errOut := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("bootstrap exited %d: %s", code, errOut)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output is not JSON: %q", out)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "account_id,api_key,user_id" {
		t.Errorf("--json keys = %v, want exactly account_id, api_key, user_id", keys)
	}
	if strings.Contains(errOut, got["api_key"]) || strings.Contains(errOut, "s3cret-passw0rd") {
		t.Error("a secret reached the log stream")
	}

	code, _, errOut = runCLI(t, env, args...)
	if code != 1 || !strings.Contains(errOut, "already bootstrapped") {
		t.Errorf("second bootstrap: exit %d %q, want 1 and a clear message", code, errOut)
	}

	sec := &secrets{}
	sec.add(got["api_key"])
	sec.add("s3cret-passw0rd")
	n := startNode(t, dir, "", sec)
	if n.m.Bootstrapped != nil || strings.Contains(n.stdout.String(), "api_key") {
		t.Error("serve bootstrapped an already bootstrapped database")
	}
	tok := n.login(got["api_key"])
	r := n.do("GET", "/v2/accounts/"+got["account_id"]+"/users/"+got["user_id"], tok, nil)
	if r.status != http.StatusOK || r.data()["username"] != "alice" {
		t.Errorf("the bootstrapped user: %d %s", r.status, r.raw)
	}
	if r := n.do("GET", "/v2/accounts/"+got["account_id"], tok, nil); r.data()["name"] != "Acme Corp" || r.data()["superduper_admin"] != true {
		t.Errorf("the bootstrapped account: %s", r.raw)
	}

	code, _, errOut = runCLI(t, env, "bootstrap", "--data-dir", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "--account-name is required") || !strings.Contains(errOut, "--password is required") {
		t.Errorf("missing flags: exit %d %q", code, errOut)
	}
}
