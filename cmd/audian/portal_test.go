package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

// browser is a cookie-keeping client of the portal, reading pages with an
// HTML parser as a person reads them with eyes.
type browser struct {
	t *testing.T
	n *node
	c *http.Client
}

func newBrowser(t *testing.T, n *node) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, n: n, c: &http.Client{Transport: n.client.Transport, Jar: jar, Timeout: n.client.Timeout}}
}

// page is a fetched page.
type page struct {
	status int
	url    *url.URL // after redirects
	header http.Header
	doc    *html.Node
	raw    string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := &page{status: res.StatusCode, url: res.Request.URL, header: res.Header, raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(strings.NewReader(p.raw)); err != nil {
			b.t.Fatalf("%s: %v", req.URL, err)
		}
		if got := res.Header.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
			b.t.Errorf("%s: CSP %q", req.URL.Path, got)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != "" {
			b.t.Errorf("%s: a portal page carries CORS headers", req.URL.Path)
		}
		// The CSP allows no inline script or style: a page must not need
		// any.
		for _, n := range findAll(p.doc, func(n *html.Node) bool {
			return attr(n, "style") != "" || n.Data == "style" || (n.Data == "script" && (attr(n, "src") == "" || textOf(n) != ""))
		}) {
			b.t.Errorf("%s: inline %s the CSP would block", req.URL.Path, n.Data)
		}
	}
	return p
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.n.url+path, nil)
	return b.do(req)
}

// post submits form to path as a same-origin browser form does.
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.n.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.n.url)
	return b.do(req)
}

// submit fills the form of p whose action is action with values (plus its
// hidden fields, the CSRF token among them) and posts it.
func (b *browser) submit(p *page, action string, values url.Values) *page {
	b.t.Helper()
	form := find(p.doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == action })
	if form == nil {
		b.t.Fatalf("%s: no form posting to %s", p.url.Path, action)
	}
	all := url.Values{}
	for _, in := range findAll(form, func(n *html.Node) bool { return n.Data == "input" && attr(n, "type") == "hidden" }) {
		all.Set(attr(in, "name"), attr(in, "value"))
	}
	for k, v := range values {
		all[k] = v
	}
	return b.post(action, all)
}

// signIn signs in through the sign-in page.
func (b *browser) signIn(account, username, password string) *page {
	b.t.Helper()
	return b.submit(b.get("/sign-in"), "/sign-in", url.Values{
		"account_name": {account}, "username": {username}, "password": {password}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.n.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
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

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
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

// alert is the text of the page's role="alert" message.
func (p *page) alert() string {
	return textOf(find(p.doc, func(n *html.Node) bool { return attr(n, "role") == "alert" }))
}

func (p *page) h1() string {
	return textOf(find(p.doc, func(n *html.Node) bool { return n.Data == "h1" }))
}

// labelled returns the control whose <label> reads text.
func (p *page) labelled(text string) *html.Node {
	for _, l := range findAll(p.doc, func(n *html.Node) bool { return n.Data == "label" }) {
		if textOf(l) == text {
			id := attr(l, "for")
			return find(p.doc, func(n *html.Node) bool { return attr(n, "id") == id })
		}
	}
	return nil
}

func (p *page) button(text string) *html.Node {
	return find(p.doc, func(n *html.Node) bool { return n.Data == "button" && textOf(n) == text })
}

// portalAdmin is the bootstrapped admin's sign-in.
func portalAdmin(n *node) (account, username, password string) {
	return "Root", "admin", n.m.Bootstrapped.Password.Reveal()
}

func TestPortalSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		b := newBrowser(t, n)
		p := b.get("/settings/api-keys")
		if p.url.Path != "/sign-in" || p.url.Query().Get("return_to") != "/settings/api-keys" {
			t.Fatalf("without a session: landed on %s, want the sign-in page returning to the keys", p.url)
		}
		for _, label := range []string{"Account name", "Username", "Password"} {
			if p.labelled(label) == nil {
				t.Errorf("sign-in page: no field labelled %q", label)
			}
		}
		if p.button("Sign in") == nil {
			t.Error(`sign-in page: no "Sign in" button`)
		}
		acct, user, pw := portalAdmin(n)
		p = b.submit(p, "/sign-in", url.Values{"account_name": {acct}, "username": {user}, "password": {pw}})
		if p.url.Path != "/settings/api-keys" || p.h1() != "API Keys" {
			t.Fatalf("after sign-in: %s %q, want the keys page", p.url, p.h1())
		}
		if find(p.doc, func(n *html.Node) bool { return n.Data == "a" && textOf(n) == "API Keys" }) == nil {
			t.Error(`no "API Keys" navigation link`)
		}
		for _, name := range []string{"Create key", "Sign out"} {
			if p.button(name) == nil {
				t.Errorf("keys page: no %q button", name)
			}
		}
		if p.labelled("Name") == nil {
			t.Error(`keys page: no field labelled "Name"`)
		}
		// The session is in the database by the hash of the cookie only.
		c := b.cookie(web.SessionCookie)
		if c == nil {
			t.Fatal("no session cookie")
		}
		sessions, err := n.m.Store.WebSessions(t.Context(), n.m.Bootstrapped.AccountID, n.m.Bootstrapped.UserID)
		if err != nil || len(sessions) != 1 {
			t.Fatalf("stored sessions: %d, %v", len(sessions), err)
		}
		n.secrets.add(c.Value)
		assertAudited(t, n, "portal.sign_in", identity.AuditSuccess)
		// The access log names the account and the client of a page.
		want := `"path":"/settings/api-keys","status":200`
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(n.logs.String(), want) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		found := false
		for _, line := range strings.Split(n.logs.String(), "\n") {
			if strings.Contains(line, want) {
				found = true
				if !strings.Contains(line, `"account_id":"`+n.m.Bootstrapped.AccountID+`","client_ip":"127.0.0.1"`) {
					t.Errorf("access log line without the account or client: %s", line)
				}
			}
		}
		if !found {
			t.Error("no access log line for the keys page")
		}
	})
}

// TestPortalSessionCookie checks the cookie's attributes as the server
// sends them (a jar does not keep them).
func TestPortalSessionCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		b := newBrowser(t, n)
		b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		acct, user, pw := portalAdmin(n)
		p := b.signIn(acct, user, pw)
		if p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d, want 303", p.status)
		}
		var raw string
		for _, v := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(v, web.SessionCookie+"=") {
				raw = v
			}
		}
		for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(raw, want) {
				t.Errorf("session cookie %q lacks %s", raw, want)
			}
		}
		if strings.Contains(raw, "Domain=") {
			t.Errorf("session cookie %q has a Domain", raw)
		}
		n.secrets.add(b.cookie(web.SessionCookie).Value)
	})
}

func TestPortalWrongPasswordIsGeneric(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, _ := portalAdmin(n)
		b := newBrowser(t, n)
		var first *page
		for _, tt := range []struct{ name, account, user string }{
			{"WrongPassword", acct, user},
			{"UnknownUser", acct, "nobody"},
			{"UnknownAccount", "No Such Account", user},
		} {
			p := b.signIn(tt.account, tt.user, "wrong-password-123")
			if p.status != http.StatusUnauthorized || p.url.Path != "/sign-in" {
				t.Errorf("%s: status %d at %s, want 401 on the sign-in page", tt.name, p.status, p.url.Path)
			}
			if got := p.alert(); got != "The account name, username or password is incorrect." {
				t.Errorf("%s: alert %q", tt.name, got)
			}
			if strings.Contains(p.raw, "wrong-password-123") {
				t.Errorf("%s: the password is echoed in the page", tt.name)
			}
			if first == nil {
				first = p
			} else if p.alert() != first.alert() {
				t.Errorf("%s reads differently from a wrong password", tt.name)
			}
		}
		if b.cookie(web.SessionCookie) != nil {
			t.Error("a failed sign-in set a session cookie")
		}
		assertAudited(t, n, "portal.sign_in", identity.AuditFailure)
	})
}

func TestPortalCSRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, pw := portalAdmin(n)
		b := newBrowser(t, n)
		b.signIn(acct, user, pw)
		other := newBrowser(t, n)
		keys := other.signIn(acct, user, pw)
		otherToken := attr(find(keys.doc, func(n *html.Node) bool { return attr(n, "name") == web.CSRFField }), "value")
		for _, tt := range []struct {
			name  string
			token string
		}{{"NoToken", ""}, {"AnotherSessionsToken", otherToken}, {"Junk", strings.Repeat("A", 43)}} {
			form := url.Values{"name": {"forged " + tt.name}}
			if tt.token != "" {
				form.Set(web.CSRFField, tt.token)
			}
			p := b.post("/settings/api-keys", form)
			if p.status != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", tt.name, p.status)
			}
		}
		// A cross-site form with the right token is refused too.
		p := b.get("/settings/api-keys")
		token := attr(find(p.doc, func(n *html.Node) bool { return attr(n, "name") == web.CSRFField }), "value")
		req, _ := http.NewRequest("POST", n.url+"/settings/api-keys", strings.NewReader(url.Values{"name": {"cross-site"}, web.CSRFField: {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("cross-site: status %d, want 403", p.status)
		}
		// The sign-in form has its own token.
		anon := newBrowser(t, n)
		if p := anon.post("/sign-in", url.Values{"account_name": {acct}, "username": {user}, "password": {pw}}); p.status != http.StatusForbidden {
			t.Errorf("sign-in without its token: status %d, want 403", p.status)
		}
		if anon.cookie(web.SessionCookie) != nil {
			t.Error("a sign-in without its token started a session")
		}
		keysNow, _, err := n.m.Store.APIKeys(t.Context(), n.m.Bootstrapped.AccountID, identity.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keysNow {
			if k.Kind == identity.KeyKindNamed {
				t.Errorf("a refused form created key %q", k.Name)
			}
		}
		// The real form works.
		if p := b.submit(b.get("/settings/api-keys"), "/settings/api-keys", url.Values{"name": {"real"}}); p.status != http.StatusOK || p.labelled("Your new API key") == nil {
			t.Errorf("the real form: status %d, no secret shown", p.status)
		}
	})
}

func TestPortalSignOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, pw := portalAdmin(n)
		b := newBrowser(t, n)
		p := b.signIn(acct, user, pw)
		old := b.cookie(web.SessionCookie)
		n.secrets.add(old.Value)
		p = b.submit(p, "/sign-out", nil)
		if p.url.Path != "/sign-in" {
			t.Fatalf("after sign out: at %s, want the sign-in page", p.url.Path)
		}
		if b.cookie(web.SessionCookie) != nil {
			t.Error("the session cookie was not cleared")
		}
		// The old cookie, replayed, no longer works.
		replay := newBrowser(t, n)
		u, _ := url.Parse(n.url)
		replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: old.Name, Value: old.Value, Path: "/"}})
		if p := replay.get("/settings/api-keys"); p.url.Path != "/sign-in" {
			t.Errorf("the old cookie still opens %s", p.url.Path)
		}
		sessions, err := n.m.Store.WebSessions(t.Context(), n.m.Bootstrapped.AccountID, n.m.Bootstrapped.UserID)
		if err != nil || len(sessions) != 0 {
			t.Errorf("sessions left after sign out: %d, %v", len(sessions), err)
		}
		assertAudited(t, n, "portal.sign_out", identity.AuditSuccess)
	})
}

// TestPortalDisabledUser ends a user's session when an admin disables it,
// through the API or through the portal.
func TestPortalDisabledUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, pw := portalAdmin(n)
		admin := newBrowser(t, n)
		admin.signIn(acct, user, pw)
		p := admin.submit(admin.get("/users"), "/users", url.Values{
			"username": {"carol"}, "first_name": {"Carol"}, "last_name": {"Shaw"}, "role": {"user"}, "password": {"carols-password"}})
		if p.status != http.StatusOK || !strings.Contains(p.raw, "carol") {
			t.Fatalf("create user: status %d\n%s", p.status, p.alert())
		}
		n.secrets.add("carols-password")
		carol, err := n.m.Store.UserByUsername(t.Context(), n.m.Bootstrapped.AccountID, "carol")
		if err != nil {
			t.Fatal(err)
		}

		for _, how := range []string{"API", "portal"} {
			t.Run(how, func(t *testing.T) {
				cb := newBrowser(t, n)
				if p := cb.signIn(acct, "carol", "carols-password"); p.url.Path != "/settings/api-keys" {
					t.Fatalf("carol's sign-in: at %s (%s)", p.url.Path, p.alert())
				}
				if p := cb.get("/users"); p.status != http.StatusForbidden {
					t.Errorf("a plain user on /users: status %d, want 403", p.status)
				}
				switch how {
				case "API":
					tok := n.login(n.m.Bootstrapped.APIKey.Reveal())
					r := n.do("PATCH", "/v2/accounts/"+carol.AccountID+"/users/"+carol.ID, tok, map[string]any{"data": map[string]any{"enabled": false}})
					if r.status != http.StatusOK {
						t.Fatalf("disable through the API: %d\n%s", r.status, r.raw)
					}
				case "portal":
					p := admin.submit(admin.get("/users/"+carol.ID), "/users/"+carol.ID+"/enabled", url.Values{"enabled": {"false"}})
					if p.status != http.StatusOK || !strings.Contains(p.raw, "disabled") {
						t.Fatalf("disable in the portal: status %d %s", p.status, p.alert())
					}
				}
				if p := cb.get("/settings/api-keys"); p.url.Path != "/sign-in" {
					t.Errorf("a disabled user's session still opens %s", p.url.Path)
				}
				if p := cb.signIn(acct, "carol", "carols-password"); p.url.Path != "/sign-in" {
					t.Errorf("a disabled user signed in again")
				}
				// Enable again for the next case.
				p := admin.submit(admin.get("/users/"+carol.ID), "/users/"+carol.ID+"/enabled", url.Values{"enabled": {"true"}})
				if p.status != http.StatusOK {
					t.Fatalf("enable: status %d", p.status)
				}
			})
		}
	})
}

// TestPortalKeyLifecycle is the browser acceptance through the HTML: a key
// created in the portal, its secret shown once, used at api_auth, rotated
// with no grace and revoked.
func TestPortalKeyLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, pw := portalAdmin(n)
		b := newBrowser(t, n)
		keys := b.signIn(acct, user, pw)
		p := b.submit(keys, "/settings/api-keys", url.Values{"name": {"CI key"}})
		secretInput := p.labelled("Your new API key")
		if secretInput == nil {
			t.Fatalf("no secret shown after create: %s", p.alert())
		}
		secret := attr(secretInput, "value")
		n.secrets.add(secret)
		if strings.Contains(p.url.String(), secret) {
			t.Error("the secret is in the URL")
		}
		if got := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": secret}}); got.status != http.StatusCreated {
			t.Fatalf("api_auth with the new key: %d", got.status)
		}
		p = b.get("/settings/api-keys")
		if strings.Contains(p.raw, secret) || p.labelled("Your new API key") != nil {
			t.Error("the secret is shown again after a reload")
		}
		row := find(p.doc, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(textOf(n), "CI key") })
		prefix := strings.TrimSuffix(textOf(find(row, func(n *html.Node) bool { return n.Data == "code" })), "…")
		if prefix == "" || !strings.HasPrefix(secret, prefix) {
			t.Errorf("prefix %q does not remain or does not name the key", prefix)
		}
		rotate := find(row, func(n *html.Node) bool { return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/rotate") })
		action := attr(rotate, "action")
		p = b.get(action)
		p = b.submit(p, action, url.Values{"grace": {"0"}})
		newSecret := attr(p.labelled("Your new API key"), "value")
		n.secrets.add(newSecret)
		if newSecret == "" || newSecret == secret {
			t.Fatal("rotation showed no new secret")
		}
		for s, want := range map[string]int{secret: http.StatusUnauthorized, newSecret: http.StatusCreated} {
			if got := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": s}}); got.status != want {
				t.Errorf("api_auth after rotation: %d, want %d", got.status, want)
			}
		}
		p = b.get("/settings/api-keys")
		row = find(p.doc, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(textOf(n), "CI key") })
		revoke := attr(find(row, func(n *html.Node) bool { return n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/revoke") }), "action")
		p = b.get(revoke)
		if p.button("Revoke") == nil {
			t.Fatal(`the confirmation page has no "Revoke" button`)
		}
		p = b.submit(p, revoke, nil)
		if p.status != http.StatusOK || strings.Contains(p.raw, "CI key") {
			t.Errorf("after revoke: status %d, key still listed: %v", p.status, strings.Contains(p.raw, "CI key"))
		}
		if got := n.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]any{"api_key": newSecret}}); got.status != http.StatusUnauthorized {
			t.Errorf("api_auth after revoke: %d, want 401", got.status)
		}
		for _, a := range []string{"api_keys.create", "api_keys.rotate", "api_keys.revoke"} {
			assertAudited(t, n, a, identity.AuditSuccess)
		}
		// The audit page names the key and the person, and filters.
		p = b.get("/audit?action=api_keys.revoke")
		rows := findAll(p.doc, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(textOf(n), "api_keys.revoke") })
		if len(rows) != 1 || !strings.Contains(textOf(rows[0]), "key “CI key”") || !strings.Contains(textOf(rows[0]), "admin") {
			t.Errorf("audit page for api_keys.revoke: %d rows, first %q", len(rows), textOf(find(p.doc, func(n *html.Node) bool { return n.Data == "tbody" })))
		}
		if strings.Contains(p.raw, "api_keys.create</code>") {
			t.Error("the action filter let other actions through")
		}
	})
}

// TestPortalRoutes runs every portal route through the pipeline: a page
// that needs a session sends a stranger to sign in, an admin page refuses
// a plain user, and a POST without its CSRF token changes nothing.
func TestPortalRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, n *node) {
		acct, user, pw := portalAdmin(n)
		admin := newBrowser(t, n)
		admin.signIn(acct, user, pw)
		admin.submit(admin.get("/users"), "/users", url.Values{
			"username": {"dave"}, "first_name": {"Dave"}, "last_name": {"Doe"}, "role": {"user"}, "password": {"daves-password"}})
		n.secrets.add("daves-password")
		plain := newBrowser(t, n)
		plain.signIn(acct, "dave", "daves-password")
		stranger := newBrowser(t, n)
		stranger.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		plain.c.CheckRedirect = stranger.c.CheckRedirect

		id := identity.NewID()
		for _, rt := range n.m.Portal.Routes() {
			method, path, _ := strings.Cut(rt.Pattern, " ")
			path = strings.NewReplacer("{$}", "", "{key_id}", id, "{user_id}", id, "{session_id}", id, "{app_id}", id, "{grant_id}", id).Replace(path)
			t.Run(rt.Pattern, func(t *testing.T) {
				req := func(b *browser) *page {
					if method == "GET" {
						return b.get(path)
					}
					return b.post(path, url.Values{})
				}
				p := req(stranger)
				switch {
				case rt.Access == "public":
				case p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/sign-in"):
					t.Errorf("without a session: %d to %q, want 303 to the sign-in page", p.status, p.header.Get("Location"))
				}
				if rt.Access == "admin" {
					if p := req(plain); p.status != http.StatusForbidden {
						t.Errorf("as a plain user: %d, want 403", p.status)
					}
				}
				if method == "POST" && rt.Access != "public" {
					if p := req(admin); p.status != http.StatusForbidden {
						t.Errorf("a POST without its CSRF token: %d, want 403", p.status)
					}
				}
			})
		}
	})
}

// assertAudited fails t unless the audit log holds action with outcome.
func assertAudited(t *testing.T, n *node, action, outcome string) {
	t.Helper()
	entries, _, err := n.m.Store.Audit(t.Context(), n.m.Bootstrapped.AccountID, identity.AuditFilter{Action: action}, identity.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Outcome == outcome {
			return
		}
	}
	t.Errorf("no %s audit entry with outcome %s", action, outcome)
}

// TestPortalSessionsAcrossNodes runs two processes on one PostgreSQL
// database: a session made on node A works on node B (the cookie names a
// row both read), and signing out on B, or disabling the user on B, ends
// it on A at once, with no cache to wait for.
func TestPortalSessionsAcrossNodes(t *testing.T) {
	if len(backends(t)) < 2 {
		t.Skip("needs PostgreSQL (AUDIAN_TEST_POSTGRES_DSN)")
	}
	dsn := freshPostgres(t)
	sec := &secrets{}
	a := startNode(t, t.TempDir(), dsn, sec)
	b := startNode(t, t.TempDir(), dsn, sec)
	acct, user, pw := portalAdmin(a)
	onA := newBrowser(t, a)
	if p := onA.signIn(acct, user, pw); p.url.Path != "/settings/api-keys" {
		t.Fatalf("sign-in on A: at %s", p.url.Path)
	}
	cookie := onA.cookie(web.SessionCookie)
	sec.add(cookie.Value)
	// The same cookie, presented to B (a load balancer's other leg).
	onB := newBrowser(t, b)
	ub, _ := url.Parse(b.url)
	onB.c.Jar.SetCookies(ub, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/"}})
	p := onB.get("/settings/api-keys")
	if p.url.Path != "/settings/api-keys" {
		t.Fatalf("A's session on B: at %s", p.url.Path)
	}
	onB.submit(p, "/sign-out", nil)
	if p := onA.get("/settings/api-keys"); p.url.Path != "/sign-in" {
		t.Errorf("signed out on B, still signed in on A: at %s", p.url.Path)
	}

	// A user disabled on B is signed out on A.
	admin := newBrowser(t, b)
	admin.signIn(acct, user, pw)
	admin.submit(admin.get("/users"), "/users", url.Values{
		"username": {"erin"}, "first_name": {"Erin"}, "last_name": {"Doe"}, "role": {"user"}, "password": {"erins-password"}})
	sec.add("erins-password")
	erin := newBrowser(t, a)
	if p := erin.signIn(acct, "erin", "erins-password"); p.url.Path != "/settings/api-keys" {
		t.Fatalf("erin's sign-in on A: at %s", p.url.Path)
	}
	u, err := b.m.Store.UserByUsername(t.Context(), a.m.Bootstrapped.AccountID, "erin")
	if err != nil {
		t.Fatal(err)
	}
	admin.submit(admin.get("/users/"+u.ID), "/users/"+u.ID+"/enabled", url.Values{"enabled": {"false"}})
	if p := erin.get("/settings/api-keys"); p.url.Path != "/sign-in" {
		t.Errorf("disabled on B, still signed in on A: at %s", p.url.Path)
	}
}
