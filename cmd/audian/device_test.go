package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian"
	"github.com/audian/audian/internal/config"
)

// TestCLIDeviceLogin: audian login --device prints a code and a URL; the
// person signs in on the portal and approves; the CLI then works with
// the OAuth tokens, and renews them with the refresh token.
func TestCLIDeviceLogin(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{}, func(c *config.Config) { c.RateCost = 0 })
	ctx := context.Background()
	admin := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()))
	app, err := admin.OAuth.Create(ctx, "", &audian.OAuthApp{
		Name: "audian CLI", ClientType: "public",
		GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
		Scopes:     []string{"openid", "offline_access", "accounts:read", "users:read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if app.ClientSecret != "" || app.TokenEndpointAuthMethod != "none" {
		t.Errorf("a public client = %+v", app)
	}
	if tok, err := admin.Token(ctx); err == nil {
		n.secrets.add(tok)
	}

	c := newCLI(t, n)
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runIO(ctx, []string{"login", "--device", "--url", n.url, "--ca-cert", c.caFile(), "--client-id", app.ClientID,
			"--scope", "openid offline_access accounts:read users:read"},
			func(k string) string { return c.env[k] }, strings.NewReader(""), &syncBuffer{}, stderr)
	}()
	codeRE := regexp.MustCompile(`enter the code (\S+)`)
	var code string
	for deadline := time.Now().Add(10 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := codeRE.FindStringSubmatch(stderr.String()); m != nil {
			code = m[1]
		}
	}
	if code == "" {
		t.Fatalf("no code printed: %q", stderr.String())
	}

	// The person: the device page, the portal's sign-in, the code, approval.
	br := n.browser(t)
	res, body := browse(t, br, "GET", n.url+"/device", nil)
	if res.Request.URL.Path == "/sign-in" {
		fs := htmlForms(t, body)
		signIn := fs[len(fs)-1]
		signIn.values.Set("account_name", "Root")
		signIn.values.Set("username", "admin")
		signIn.values.Set("password", n.m.Bootstrapped.Password.Reveal())
		res, body = browse(t, br, "POST", n.url+signIn.action, signIn.values)
	}
	fs := htmlForms(t, body)
	if res.StatusCode != 200 || len(fs) == 0 {
		t.Fatalf("device page: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	entry := fs[len(fs)-1]
	entry.values.Set("user_code", code)
	res, body = browse(t, br, "POST", n.url+entry.action, entry.values)
	if res.StatusCode != 200 || !strings.Contains(body, "audian CLI") {
		t.Fatalf("code entry: %d\n%s", res.StatusCode, body)
	}
	fs = htmlForms(t, body)
	approve := fs[len(fs)-1]
	approve.values.Set("decision", "allow")
	if res, body := browse(t, br, "POST", n.url+approve.action, approve.values); res.StatusCode != 200 {
		t.Fatalf("approval: %d\n%s", res.StatusCode, body)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("login --device exited %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("login --device did not finish after approval")
	}

	raw, err := os.ReadFile(c.env["AUDIAN_CLI_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	var cfg cliConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles[cfg.Current]
	if p == nil || p.Token == "" || p.RefreshToken == "" || p.APIKey != "" {
		t.Fatalf("profile after a device login: %s", raw)
	}
	n.secrets.add(p.Token)
	n.secrets.add(p.RefreshToken)
	var info map[string]any
	c.json(&info, "", "tokens", "info")
	if info["method"] != "oauth" || info["owner_id"] != n.m.Bootstrapped.UserID {
		t.Errorf("tokens info after a device login = %v", info)
	}
	var users []map[string]any
	c.json(&users, "", "users", "list")
	if len(users) != 1 {
		t.Errorf("users list = %v", users)
	}

	// An access token about to expire is renewed with the refresh token
	// before the command runs.
	p.Token = "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1}`)) + ".x"
	if err := cfg.save(c.env["AUDIAN_CLI_CONFIG"]); err != nil {
		t.Fatal(err)
	}
	c.json(&users, "", "users", "list")
	raw, _ = os.ReadFile(c.env["AUDIAN_CLI_CONFIG"])
	var after cliConfig
	_ = json.Unmarshal(raw, &after)
	if ap := after.Profiles[after.Current]; ap.Token == p.Token || ap.RefreshToken == "" {
		t.Errorf("the token was not renewed: %s", raw)
	} else {
		n.secrets.add(ap.Token)
		n.secrets.add(ap.RefreshToken)
	}
}

// TestSDKOAuthApps drives OAuth applications through the SDK.
func TestSDKOAuthApps(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	ctx := context.Background()
	c := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()))
	app, err := c.OAuth.Create(ctx, "", &audian.OAuthApp{Name: "Calendar", RedirectURIs: []string{"https://cal.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(app.ClientSecret)
	if app.ClientID == "" || app.ClientSecret == "" || app.ClientType != "confidential" {
		t.Fatalf("created = %+v", app)
	}
	apps, err := audian.Collect(c.OAuth.List(ctx, "", nil))
	if err != nil || len(apps) != 1 || apps[0].ClientSecret != "" {
		t.Errorf("list = %+v, %v", apps, err)
	}
	up, err := c.OAuth.Update(ctx, "", app.ID, map[string]any{"name": "Calendar Sync"})
	if err != nil || up.Name != "Calendar Sync" {
		t.Errorf("update = %+v, %v", up, err)
	}
	rot, err := c.OAuth.RotateSecret(ctx, "", app.ID)
	if err != nil || rot.ClientSecret == "" || rot.ClientSecret == app.ClientSecret || rot.PreviousSecretExpiresAt == nil {
		t.Errorf("rotate = %+v, %v", rot, err)
	} else {
		n.secrets.add(rot.ClientSecret)
	}
	grants, err := audian.Collect(c.OAuth.Grants(ctx, "", n.m.Bootstrapped.UserID, nil))
	if err != nil || len(grants) != 0 {
		t.Errorf("grants = %+v, %v", grants, err)
	}
	if err := c.OAuth.Delete(ctx, "", app.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OAuth.Get(ctx, "", app.ID); !errors.Is(err, audian.ErrNotFound) {
		t.Errorf("deleted app: %v", err)
	}
	if tok, err := c.Token(ctx); err == nil {
		n.secrets.add(tok)
	}
}
