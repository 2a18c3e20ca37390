package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian"
	"github.com/audian/audian/internal/config"
)

// caPEM is the node's self-signed certificate, which SDK clients trust
// with WithCACert.
func (n *node) caPEM() []byte {
	n.t.Helper()
	pem, err := os.ReadFile(filepath.Join(n.m.Config.DataDir, "tls", "cert.pem"))
	if err != nil {
		n.t.Fatal(err)
	}
	return pem
}

// sdk returns an SDK client of the node.
func (n *node) sdk(opts ...audian.Option) *audian.Client {
	n.t.Helper()
	c, err := audian.NewClient(n.url, append([]audian.Option{audian.WithHTTPClient(n.client)}, opts...)...)
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// recording returns an HTTP client trusting the node that counts what
// it sends.
func (n *node) recording() (*recorder, audian.Option) {
	rec := &recorder{next: n.client.Transport}
	return rec, audian.WithHTTPClient(&http.Client{Transport: rec})
}

// recorder counts the requests an SDK client sends and the 401s it gets.
type recorder struct {
	mu     sync.Mutex
	next   http.RoundTripper
	logins int
	denied int
	total  int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if req.URL.Path == "/v2/api_auth" || req.URL.Path == "/v2/user_auth" {
		r.logins++
	}
	if err == nil && res.StatusCode == http.StatusUnauthorized {
		r.denied++
	}
	return res, err
}

func (r *recorder) counts() (logins, denied, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logins, r.denied, r.total
}

// TestSDKAcceptance is the ten-line program of issue 12: log in with an
// API key, list the users, create one; then the same client keeps
// working, without the caller doing anything, after the server's clock
// passes the token's exp and after its token is revoked.
func TestSDKAcceptance(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			sec := &secrets{}
			n := startNode(t, t.TempDir(), b.dsn(t), sec)
			key := n.m.Bootstrapped.APIKey.Reveal()
			ctx := context.Background()

			// The program.
			c, err := audian.NewClient(n.url, audian.WithAPIKey(key), audian.WithCACert(n.caPEM()))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for u, err := range c.Users.List(ctx, "", nil) {
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, u.Username)
			}
			u, err := c.Users.Create(ctx, "", &audian.User{FirstName: "Ada", LastName: "Lovelace", Username: "ada", Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}

			if len(names) != 1 || names[0] != "admin" {
				t.Errorf("users = %v, want [admin]", names)
			}
			if u.ID == "" || u.Username != "ada" || u.Password != "" {
				t.Errorf("created user = %+v", u)
			}
			tok, _ := c.Token(ctx)
			sec.add(tok)

			// The server's clock moves past the token's exp: the server
			// refuses it, the client logs in again and retries.
			n.clock.Advance(2 * time.Hour)
			if r := n.do("GET", "/v2/token_auth", tok, nil); r.status != http.StatusUnauthorized {
				t.Fatalf("the old token after exp: status %d, want 401", r.status)
			}
			got, err := c.Users.Get(ctx, "", u.ID)
			if err != nil {
				t.Fatalf("after expiry: %v", err)
			}
			if got.FirstName != "Ada" {
				t.Errorf("after expiry: %+v", got)
			}
			tok2, _ := c.Token(ctx)
			sec.add(tok2)
			if tok2 == tok {
				t.Error("the client kept the expired token")
			}

			// Someone revokes the client's token.
			if r := n.do("DELETE", "/v2/token_auth", tok2, nil); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			all, err := audian.Collect(c.Users.List(ctx, "", nil))
			if err != nil {
				t.Fatalf("after revocation: %v", err)
			}
			if len(all) != 2 {
				t.Errorf("after revocation: %d users, want 2", len(all))
			}
			tok3, _ := c.Token(ctx)
			sec.add(tok3)
			if tok3 == tok2 {
				t.Error("the client kept the revoked token")
			}
		})
	}
}

// TestSDKRenewsBeforeExpiry: a client whose token is about to expire
// logs in again before sending a request, rather than after a 401.
func TestSDKRenewsBeforeExpiry(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	rec, hc := n.recording()
	ahead := func() time.Time { return time.Now().Add(time.Hour - 30*time.Second) }
	c := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()), hc, audian.WithClock(ahead))
	ctx := context.Background()
	for range 3 {
		if _, err := c.Accounts.Get(ctx, ""); err != nil {
			t.Fatal(err)
		}
		tok, _ := c.Token(ctx)
		n.secrets.add(tok)
	}
	logins, denied, _ := rec.counts()
	if denied != 0 {
		t.Errorf("%d requests were refused with 401: the client sent tokens about to expire", denied)
	}
	if logins < 3 {
		t.Errorf("%d logins for 3 calls with tokens within a minute of exp, want one before each", logins)
	}

	// With a clock in step, one login serves every call.
	rec2, hc2 := n.recording()
	c2 := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()), hc2)
	for range 3 {
		if _, err := c2.Accounts.Get(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	tok, _ := c2.Token(ctx)
	n.secrets.add(tok)
	if logins, _, total := rec2.counts(); logins != 1 || total != 4 {
		t.Errorf("logins %d, requests %d; want 1 and 4", logins, total)
	}
}

// TestSDKCredentialsAndErrors logs in as a user and checks the typed
// errors of every failure class.
func TestSDKCredentialsAndErrors(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	boot := n.m.Bootstrapped
	ctx := context.Background()
	c := n.sdk(audian.WithCredentials("Root", "admin", boot.Password.Reveal()))
	s, err := c.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.AccountID != boot.AccountID || s.OwnerID != boot.UserID {
		t.Errorf("session = %+v", s)
	}
	tok, _ := c.Token(ctx)
	n.secrets.add(tok)
	info, err := c.Tokens.Info(ctx)
	if err != nil || info.Method != "cb_user_auth" || info.PrivLevel != "admin" || info.ExpiresAt == 0 {
		t.Errorf("token info = %+v, %v", info, err)
	}

	bad := n.sdk(audian.WithCredentials("Root", "admin", "wrong password"))
	_, err = bad.Accounts.Get(ctx, "")
	var ae *audian.Error
	if !errors.Is(err, audian.ErrUnauthorized) || !errors.As(err, &ae) || ae.Detail() != "invalid credentials" {
		t.Errorf("wrong password: %v", err)
	}

	_, err = c.Users.Get(ctx, "", "0123456789abcdef0123456789abcdef")
	if !errors.Is(err, audian.ErrNotFound) {
		t.Errorf("missing user: %v, want ErrNotFound", err)
	}
	_, err = c.Users.Create(ctx, "", &audian.User{Email: "nope"})
	if !errors.Is(err, audian.ErrInvalid) || !errors.As(err, &ae) || ae.Data["first_name"] == nil {
		t.Errorf("invalid user: %v", err)
	} else if want := "audian: 400 validation error: email: Field is not in the correct format; first_name: Field is required but missing; last_name: Field is required but missing"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}

	// A child account's admin cannot reach its parent.
	child, err := c.Accounts.Create(ctx, "", &audian.Account{Name: "SDK Child", Extra: map[string]any{"ui_flags": map[string]any{"x": true}}})
	if err != nil {
		t.Fatal(err)
	}
	if child.Extra["ui_flags"] == nil {
		t.Errorf("custom field lost on create: %+v", child)
	}
	childKey, err := c.Keys.AccountKey(ctx, child.ID)
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(childKey)
	cc := n.sdk(audian.WithAPIKey(childKey))
	_, err = cc.Accounts.Get(ctx, boot.AccountID)
	if !errors.Is(err, audian.ErrForbidden) || !errors.As(err, &ae) || ae.RequestID == "" {
		t.Errorf("parent from child: %v, want ErrForbidden", err)
	}
	if tok, err := cc.Token(ctx); err == nil {
		n.secrets.add(tok)
	}

	// Update keeps the fields the SDK does not know.
	child.Timezone = "Europe/Paris"
	up, err := c.Accounts.Update(ctx, child)
	if err != nil || up.Timezone != "Europe/Paris" || up.Extra["ui_flags"] == nil {
		t.Errorf("update: %+v %v", up, err)
	}
	if _, err := c.Accounts.Patch(ctx, child.ID, map[string]any{"language": "fr-fr"}); err != nil {
		t.Error(err)
	}
	kids, err := audian.Collect(c.Accounts.Children(ctx, "", nil))
	if err != nil || len(kids) != 1 || kids[0].ID != child.ID {
		t.Errorf("children = %+v, %v", kids, err)
	}
	desc, err := audian.Collect(c.Accounts.Descendants(ctx, "", nil))
	if err != nil || len(desc) != 1 {
		t.Errorf("descendants = %+v, %v", desc, err)
	}
	if err := c.Accounts.Delete(ctx, child.ID); err != nil {
		t.Error(err)
	}
	if _, err := c.Accounts.Get(ctx, child.ID); err == nil {
		t.Error("deleted account still readable")
	}

	// A client given only a token cannot renew it: once revoked, it is done.
	only := n.sdk(audian.WithToken(tok))
	if err := only.Tokens.Revoke(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := only.Accounts.Get(ctx, ""); !errors.Is(err, audian.ErrUnauthorized) {
		t.Errorf("revoked token: %v, want ErrUnauthorized", err)
	}
	if _, err := c.Tokens.Inspect(ctx, tok); !errors.Is(err, audian.ErrUnauthorized) {
		t.Errorf("inspect a revoked token: %v", err)
	}
}

// TestSDKPagination: the iterator follows next_start_key to the end, and
// stops fetching when the loop stops.
func TestSDKPagination(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	ctx := context.Background()
	rec, hc := n.recording()
	c := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()), hc)
	for i := range 6 {
		if _, err := c.Users.Create(ctx, "", &audian.User{FirstName: "User", LastName: string(rune('A' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	tok, _ := c.Token(ctx)
	n.secrets.add(tok)
	_, _, before := rec.counts()
	all, err := audian.Collect(c.Users.List(ctx, "", &audian.ListOptions{PageSize: 2}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range all {
		seen[u.ID] = true
	}
	if len(all) != 7 || len(seen) != 7 {
		t.Errorf("%d users (%d distinct), want 7", len(all), len(seen))
	}
	_, _, after := rec.counts()
	if after-before != 4 {
		t.Errorf("%d requests for 7 users in pages of 2, want 4", after-before)
	}
	for range c.Users.List(ctx, "", &audian.ListOptions{PageSize: 2}) {
		break
	}
	if _, _, end := rec.counts(); end-after != 1 {
		t.Errorf("breaking after the first item sent %d requests, want 1", end-after)
	}
	admins, err := audian.Collect(c.Users.List(ctx, "", &audian.ListOptions{Filters: map[string]string{"filter_priv_level": "admin"}}))
	if err != nil || len(admins) != 1 {
		t.Errorf("filtered: %d users, %v", len(admins), err)
	}
}

// TestSDKKeysTokensAudit drives named keys, access tokens, refresh and
// the audit log through the SDK.
func TestSDKKeysTokensAudit(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	ctx := context.Background()
	c := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()))
	k, err := c.Keys.Create(ctx, "", audian.NewKey{Name: "ci", Scopes: []string{"users:read"}})
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(k.Secret)
	if k.Secret == "" || k.ID == "" || k.Status != "active" {
		t.Fatalf("created key = %+v", k)
	}
	kc := n.sdk(audian.WithAPIKey(k.Secret))
	if _, err := audian.Collect(kc.Users.List(ctx, "", nil)); err != nil {
		t.Errorf("the new key cannot list users: %v", err)
	}
	if _, err := kc.Users.Create(ctx, "", &audian.User{FirstName: "A", LastName: "B"}); !errors.Is(err, audian.ErrForbidden) {
		t.Errorf("a users:read key created a user: %v", err)
	}
	if tok, err := kc.Token(ctx); err == nil {
		n.secrets.add(tok)
	}
	keys, err := audian.Collect(c.Keys.List(ctx, "", nil))
	if err != nil || len(keys) != 1 || keys[0].Secret != "" || keys[0].Name != "ci" {
		t.Errorf("list = %+v, %v", keys, err)
	}
	up, err := c.Keys.Update(ctx, "", k.ID, audian.KeyUpdate{Name: "ci-2", Unscoped: true})
	if err != nil || up.Name != "ci-2" || up.Scopes != nil {
		t.Errorf("update = %+v, %v", up, err)
	}
	rot, err := c.Keys.Rotate(ctx, "", k.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(rot.Secret)
	if rot.Secret == "" || rot.RotatedFrom != k.ID {
		t.Errorf("rotated = %+v", rot)
	}
	if _, err := n.sdk(audian.WithAPIKey(k.Secret)).Login(ctx); !errors.Is(err, audian.ErrUnauthorized) {
		t.Errorf("the key rotated with no grace still works: %v", err)
	}
	if err := c.Keys.Revoke(ctx, "", rot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Keys.Get(ctx, "", rot.ID); !errors.Is(err, audian.ErrNotFound) {
		t.Errorf("revoked key: %v", err)
	}
	if _, err := n.sdk(audian.WithAPIKey(rot.Secret)).Login(ctx); !errors.Is(err, audian.ErrUnauthorized) {
		t.Errorf("the revoked key still works: %v", err)
	}

	at, err := c.Tokens.CreateAccessToken(ctx, []string{"accounts:read"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n.secrets.add(at.AccessToken)
	if at.ExpiresIn != 900 || at.TokenType != "Bearer" {
		t.Errorf("access token = %+v", at)
	}
	ac := n.sdk(audian.WithToken(at.AccessToken))
	if _, err := ac.Accounts.Get(ctx, ""); err != nil {
		t.Errorf("the access token cannot read its account: %v", err)
	}
	if _, err := audian.Collect(ac.Users.List(ctx, "", nil)); !errors.Is(err, audian.ErrForbidden) {
		t.Errorf("the accounts:read access token listed users: %v", err)
	}

	old, _ := c.Token(ctx)
	fresh, err := c.Tokens.Refresh(ctx)
	n.secrets.add(fresh)
	if err != nil || fresh == old {
		t.Errorf("refresh: %v", err)
	}
	if now, _ := c.Token(ctx); now != fresh {
		t.Error("the client did not adopt the refreshed token")
	}

	var actions []string
	for e, err := range c.Audit.List(ctx, "", audian.AuditQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, e.Action)
	}
	want := map[string]bool{"api_keys.create": false, "api_keys.rotate": false, "api_keys.revoke": false}
	for _, a := range actions {
		if _, ok := want[a]; ok {
			want[a] = true
		}
	}
	for a, ok := range want {
		if !ok {
			t.Errorf("audit log lacks %s: %v", a, actions)
		}
	}
	rev, err := audian.Collect(c.Audit.List(ctx, "", audian.AuditQuery{Action: "api_keys.revoke"}))
	if err != nil || len(rev) != 1 || rev[0].TargetID != rot.ID {
		t.Errorf("audit filtered by action = %+v, %v", rev, err)
	}
}

// TestSDKRateLimited: a 429 is ErrRateLimited with the server's
// Retry-After.
func TestSDKRateLimited(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{}, func(c *config.Config) {
		c.RateBurst, c.RatePerSecond = 3, 0.01
	})
	c := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()))
	ctx := context.Background()
	var err error
	for range 5 {
		if _, err = c.Accounts.Get(ctx, ""); err != nil {
			break
		}
	}
	if tok, e := c.Token(ctx); e == nil {
		n.secrets.add(tok)
	}
	var ae *audian.Error
	if !errors.Is(err, audian.ErrRateLimited) || !errors.As(err, &ae) || ae.RetryAfter < time.Second {
		t.Errorf("err = %v, want ErrRateLimited with a Retry-After", err)
	}
}

// TestOpenAPIServed: the document is served, unwrapped, without
// credentials.
func TestOpenAPIServed(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	r := n.do("GET", "/v2/openapi.json", "undefined", nil)
	if r.status != http.StatusOK || r.body["openapi"] != "3.1.0" || r.body["paths"] == nil || r.header.Get("Etag") == "" {
		t.Errorf("GET /v2/openapi.json: %d %.200s", r.status, r.raw)
	}
}

// TestSDKRestrictionsLimitsSigningKeys covers the rest of the API the
// SDK offers: token restrictions, rate limits, signing keys, recovery.
func TestSDKRestrictionsLimitsSigningKeys(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	ctx := context.Background()
	c := n.sdk(audian.WithAPIKey(n.m.Bootstrapped.APIKey.Reveal()))
	child, err := c.Accounts.Create(ctx, "", &audian.Account{Name: "Limited"})
	if err != nil {
		t.Fatal(err)
	}
	rules := json.RawMessage(`{"cb_auth":{"_":{"users":[{"rules":{"#":["GET"]}}]}}}`)
	set, err := c.Restrictions.Set(ctx, child.ID, &audian.TokenRestrictions{Restrictions: rules})
	if err != nil || !strings.Contains(string(set.Restrictions), `"users"`) {
		t.Fatalf("set restrictions: %+v %v", set, err)
	}
	got, err := c.Restrictions.Get(ctx, child.ID)
	if err != nil || !strings.Contains(string(got.Restrictions), `"#"`) {
		t.Errorf("get restrictions: %s %v", got.Restrictions, err)
	}
	if err := c.Restrictions.Delete(ctx, child.ID); err != nil {
		t.Error(err)
	}
	burst, cost := 500, 2
	l, err := c.Restrictions.SetRateLimit(ctx, child.ID, &burst, nil, &cost)
	if err != nil || l.Burst != 500 || l.Cost != 2 || !l.Override {
		t.Errorf("set rate limit: %+v %v", l, err)
	}
	if l, err := c.Restrictions.RateLimit(ctx, child.ID); err != nil || l.Burst != 500 {
		t.Errorf("rate limit: %+v %v", l, err)
	}
	if l, err := c.Restrictions.DeleteRateLimit(ctx, child.ID); err != nil || l.Override {
		t.Errorf("delete rate limit: %+v %v", l, err)
	}
	ids, err := c.Tokens.SigningKeys(ctx)
	if err != nil || len(ids) == 0 {
		t.Fatalf("signing keys: %v %v", ids, err)
	}
	if pem, err := c.Tokens.SigningKey(ctx, ids[0]); err != nil || !strings.Contains(pem, "PUBLIC KEY") {
		t.Errorf("signing key: %q %v", pem, err)
	}
	kid, err := c.Tokens.RotateSigningKey(ctx)
	if err != nil || kid == "" || kid == ids[0] {
		t.Errorf("rotate: %q %v", kid, err)
	}
	if err := c.RequestPasswordReset(ctx, "Root", "nobody"); err != nil {
		t.Errorf("password reset request: %v", err)
	}
	if err := c.ResetPassword(ctx, strings.Repeat("0", 64), "a new password!"); !errors.Is(err, audian.ErrInvalid) && !errors.Is(err, audian.ErrUnauthorized) {
		t.Errorf("reset with a bogus id: %v", err)
	}
	if tok, err := c.Token(ctx); err == nil {
		n.secrets.add(tok)
	}
}
