package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
	"github.com/audian/audian/internal/portal"
	"github.com/audian/audian/internal/sqlite"
	"github.com/audian/audian/internal/web"
)

const kek = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// env is a portal behind httptest's TLS server, on a real SQLite store,
// with an authenticator that knows one password per username.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.DB
	acct  *identity.Account
	users map[string]*identity.User
}

var hasher = &credential.PasswordHasher{Memory: 64, Time: 1, Threads: 1}

func newEnv(t *testing.T) *env { return newEnvAt(t, nil) }

// newEnvAt is newEnv with the portal's clock set to now (the sessions keep
// the real one).
func newEnvAt(t *testing.T, now func() time.Time) *env {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	k, _ := credential.ParseKEK(kek)
	sealer, err := credential.NewSealer(k)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: db, users: map[string]*identity.User{}}
	e.acct = &identity.Account{ID: identity.NewID(), Name: "Acme", Realm: "acme.test", Enabled: true}
	if err := db.CreateAccount(ctx, e.acct); err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]string{"alice": identity.RoleAdmin, "bob": identity.RoleUser} {
		u := &identity.User{ID: identity.NewID(), AccountID: e.acct.ID, Username: name, FirstName: name, LastName: "X", PrivLevel: role, Enabled: true}
		if u.Credentials, err = manage.HashCredentials(sealer, hasher, name, name+"-password"); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		e.users[name] = u
	}
	auth := portal.AuthenticatorFunc(func(ctx context.Context, in portal.SignIn) (*identity.Account, *identity.User, error) {
		if in.Username == "throttled" {
			return nil, nil, &identity.Error{Code: identity.ETooManyRequests, Message: "too many attempts", RetryAfter: 30 * time.Second}
		}
		u, err := db.UserByUsername(ctx, e.acct.ID, in.Username)
		if err != nil || in.AccountName != "Acme" || !u.Enabled || !hasher.Verify(u.Credentials.Password, in.Password) {
			return nil, nil, identity.ErrUnauthorized
		}
		return e.acct, u, nil
	})
	w := web.New(web.Config{}, db, nil, nil)
	p, err := portal.New(portal.Config{KeyRotation: 90 * 24 * time.Hour}, portal.Deps{Store: db, Web: w, Auth: auth, Hasher: hasher, Sealer: sealer, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Mount(mux)
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

type client struct {
	e *env
	c *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client() // a copy: each client keeps its own cookies
	c.Jar = jar
	return &client{e: e, c: &c}
}

type resp struct {
	status int
	loc    *url.URL
	header http.Header
	doc    *html.Node
	raw    string
}

func (c *client) do(req *http.Request) *resp {
	c.e.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &resp{status: res.StatusCode, loc: res.Request.URL, header: res.Header, raw: string(b)}
	r.doc, _ = html.Parse(strings.NewReader(r.raw))
	return r
}

func (c *client) get(path string) *resp {
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.do(req)
}

// post sends form with the page's CSRF token taken from from.
func (c *client) post(from *resp, path string, form url.Values) *resp {
	if tok := find(from.doc, func(n *html.Node) bool { return attr(n, "name") == web.CSRFField }); tok != nil && form.Get(web.CSRFField) == "" {
		form.Set(web.CSRFField, attr(tok, "value"))
	}
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) signIn(user string, extra url.Values) *resp {
	form := url.Values{"account_name": {"Acme"}, "username": {user}, "password": {user + "-password"}}
	for k, v := range extra {
		form[k] = v
	}
	return c.post(c.get("/sign-in"), "/sign-in", form)
}

func TestSignInReturnTo(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ returnTo, want string }{
		{"/users", "/users"},
		{"/audit?action=api_keys.create", "/audit"},
		{"", "/settings/api-keys"},
		{"//evil.example/x", "/settings/api-keys"},
		{"https://evil.example/", "/settings/api-keys"},
		{"/\\evil.example", "/settings/api-keys"},
		{"/sign-in", "/settings/api-keys"},
	}
	for _, tt := range tests {
		t.Run(tt.returnTo, func(t *testing.T) {
			r := e.client().signIn("alice", url.Values{"return_to": {tt.returnTo}})
			if r.loc.Host != strings.TrimPrefix(e.srv.URL, "https://") || r.loc.Path != tt.want {
				t.Errorf("after sign-in: %s, want %s on this origin", r.loc, tt.want)
			}
		})
	}
}

func TestSignInThrottled(t *testing.T) {
	e := newEnv(t)
	r := e.client().signIn("throttled", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" {
		t.Errorf("status %d, Retry-After %q; want 429 and 30", r.status, r.header.Get("Retry-After"))
	}
	if got := textOf(find(r.doc, func(n *html.Node) bool { return attr(n, "role") == "alert" })); !strings.Contains(got, "Too many sign-in attempts") {
		t.Errorf("alert %q", got)
	}
}

func TestKeyFormErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	keys := c.signIn("alice", nil)
	tests := []struct {
		name  string
		form  url.Values
		field string // the id of the control marked invalid
	}{
		{"NoName", url.Values{"name": {"  "}}, "key-name"},
		{"LongName", url.Values{"name": {strings.Repeat("n", 129)}}, "key-name"},
		{"ControlInName", url.Values{"name": {"a\x00b"}}, "key-name"},
		{"BadCIDR", url.Values{"name": {"k"}, "allowed_cidrs": {"10.0.0.0/8\nnot-an-address"}}, "key-cidrs"},
		{"UnknownScope", url.Values{"name": {"k"}, "scope": {"everything:write"}}, ""},
		{"UnknownExpiry", url.Values{"name": {"k"}, "expires": {"7"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.post(keys, "/settings/api-keys", tt.form)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if tt.field != "" {
				in := find(r.doc, func(n *html.Node) bool { return attr(n, "id") == tt.field })
				if attr(in, "aria-invalid") != "true" {
					t.Errorf("#%s not marked aria-invalid", tt.field)
				}
			}
			if find(r.doc, func(n *html.Node) bool { return strings.Contains(attr(n, "class"), "field-error") }) == nil {
				t.Error("no field error shown")
			}
		})
	}
	list, _, err := e.store.APIKeys(t.Context(), e.acct.ID, identity.Page{})
	if err != nil || len(list) != 0 {
		t.Errorf("refused forms stored %d keys (%v)", len(list), err)
	}
}

// TestPlainUserKeys checks that a plain user sees and manages only the
// keys it created, as in the API.
func TestPlainUserKeys(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	keys := admin.signIn("alice", nil)
	admin.post(keys, "/settings/api-keys", url.Values{"name": {"admin-key"}})
	var adminKey *identity.APIKey
	list, _, _ := e.store.APIKeys(t.Context(), e.acct.ID, identity.Page{})
	for _, k := range list {
		if k.Name == "admin-key" {
			adminKey = k
		}
	}
	if adminKey == nil {
		t.Fatal("the admin's key was not created")
	}
	bob := e.client()
	keys = bob.signIn("bob", nil)
	if strings.Contains(keys.raw, "admin-key") {
		t.Error("a plain user sees an admin's key")
	}
	for _, path := range []string{"/settings/api-keys/" + adminKey.ID + "/rotate", "/settings/api-keys/" + adminKey.ID + "/revoke"} {
		if r := bob.get(path); r.status != http.StatusNotFound {
			t.Errorf("GET %s as a plain user: %d, want 404", path, r.status)
		}
		if r := bob.post(keys, path, url.Values{"grace": {"0"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s as a plain user: %d, want 404", path, r.status)
		}
	}
	for _, path := range []string{"/users", "/audit", "/settings/account-key"} {
		if r := bob.get(path); r.status != http.StatusForbidden {
			t.Errorf("GET %s as a plain user: %d, want 403", path, r.status)
		}
	}
	// A plain user's own key works for it, scoped within its role.
	r := bob.post(keys, "/settings/api-keys", url.Values{"name": {"bob-key"}, "scope": {"keys:read"}})
	if r.status != http.StatusOK || !strings.Contains(r.raw, "bob-key") {
		t.Errorf("a plain user's create: %d", r.status)
	}
	if r := bob.post(keys, "/settings/api-keys", url.Values{"name": {"too-much"}, "scope": {"accounts:write"}}); r.status != http.StatusForbidden {
		t.Errorf("a plain user granting accounts:write: %d, want 403", r.status)
	}
}

// TestRotationDue shows the "Rotation due" mark and the age of a key older
// than the rotation policy: the portal's clock runs 91 days ahead of the
// store's, which stamped the key.
func TestRotationDue(t *testing.T) {
	later := time.Now().Add(91*24*time.Hour + time.Hour)
	e := newEnvAt(t, func() time.Time { return later })
	old, _ := manage.NewNamedKey(e.acct.ID, "old key", nil, nil, e.users["alice"].ID, time.Time{})
	if err := e.store.CreateAPIKey(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.signIn("alice", nil)
	page := c.get("/settings/api-keys")
	row := func(name string) *html.Node {
		return find(page.doc, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(textOf(n), name) })
	}
	due := func(n *html.Node) bool {
		return find(n, func(n *html.Node) bool {
			return textOf(n) == "Rotation due" && strings.Contains(attr(n, "class"), "badge")
		}) != nil
	}
	if r := row("old key"); r == nil || !due(r) {
		t.Errorf("the 91-day-old key has no visible \"Rotation due\" mark")
	}
	if r := row("old key"); !strings.Contains(textOf(r), "91 days") {
		t.Errorf("the key's age is not shown: %q", textOf(r))
	}
}

// TestPasswordChange ends the user's other sessions and keeps this one.
func TestPasswordChange(t *testing.T) {
	e := newEnv(t)
	here, there := e.client(), e.client()
	here.signIn("bob", nil)
	there.signIn("bob", nil)
	profile := here.get("/profile")
	r := here.post(profile, "/profile/password", url.Values{"current_password": {"wrong"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("wrong current password: %d, want 400", r.status)
	}
	r = here.post(profile, "/profile/password", url.Values{"current_password": {"bob-password"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
	if r.status != http.StatusOK || r.loc.Path != "/profile" {
		t.Fatalf("change: %d at %s", r.status, r.loc.Path)
	}
	if r := here.get("/settings/api-keys"); r.loc.Path != "/settings/api-keys" {
		t.Errorf("this browser was signed out: at %s", r.loc.Path)
	}
	if r := there.get("/settings/api-keys"); r.loc.Path != web.SignInPath {
		t.Errorf("the other browser still signed in: at %s", r.loc.Path)
	}
	u, err := e.store.User(t.Context(), e.acct.ID, e.users["bob"].ID)
	if err != nil || !hasher.Verify(u.Credentials.Password, "new-password-1") || u.TokensValidAfter.IsZero() {
		t.Errorf("the new password or the token cutoff was not stored (%v)", err)
	}
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, match); f != nil {
			return f
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// TestPasswordRules applies the shared password rules on every portal
// path that sets a password, and shows why on the page.
func TestPasswordRules(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("alice", nil)
	bob := e.users["bob"]
	alert := func(r *resp) string {
		return textOf(find(r.doc, func(n *html.Node) bool { return attr(n, "role") == "alert" }))
	}
	r := c.post(c.get("/users/"+bob.ID), "/users/"+bob.ID+"/password", url.Values{"password": {"password"}})
	if r.status != http.StatusBadRequest || !strings.Contains(alert(r), "too common") {
		t.Errorf("reset to a common password: %d %q", r.status, alert(r))
	}
	r = c.post(c.get("/users/"+bob.ID), "/users/"+bob.ID+"/password", url.Values{"password": {"BOB"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("reset to a short password: %d", r.status)
	}
	r = c.post(c.get("/users"), "/users", url.Values{"username": {"carol.smith"}, "first_name": {"C"}, "last_name": {"S"}, "role": {"user"}, "password": {"Carol.Smith"}})
	if r.status != http.StatusBadRequest || find(r.doc, func(n *html.Node) bool { return attr(n, "id") == "u-password" && attr(n, "aria-invalid") == "true" }) == nil {
		t.Errorf("create with the username as password: %d", r.status)
	}
	r = c.post(c.get("/profile"), "/profile/password", url.Values{"current_password": {"alice-password"}, "new_password": {"password"}, "confirm_password": {"password"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("own change to a common password: %d", r.status)
	}
	u, _ := e.store.User(t.Context(), e.acct.ID, bob.ID)
	if !hasher.Verify(u.Credentials.Password, "bob-password") {
		t.Error("a refused reset changed the password")
	}
}
