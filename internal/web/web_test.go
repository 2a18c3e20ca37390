package web

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/html"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/sqlite"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	web   *Web
	store *sqlite.DB
	clock *clock
	acct  *identity.Account
	user  *identity.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	clk := &clock{t: time.Now().UTC()}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "web.db"), sqlite.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acct := &identity.Account{ID: identity.NewID(), Name: "Acme", Realm: "acme.example.com", Enabled: true}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	u := &identity.User{ID: identity.NewID(), AccountID: acct.ID, Username: "alice", FirstName: "A", LastName: "L", PrivLevel: identity.RoleAdmin, Enabled: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	w := New(Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour}, db, clk.now, nil)
	return &fixture{web: w, store: db, clock: clk, acct: acct, user: u}
}

// signIn starts a session and returns the cookie the browser would keep.
func (f *fixture) signIn(t *testing.T) (*Session, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "https://portal.test/sign-in", nil)
	r.Header.Set("User-Agent", "test\x00agent")
	s, err := f.web.Start(rec, r, f.acct, f.user)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return s, c
		}
	}
	t.Fatal("Start set no session cookie")
	return nil, nil
}

// touch records a use of s, as a request would.
func (f *fixture) touch(s *Session) {
	if err := f.store.TouchWebSession(context.Background(), hashID(s.raw), f.clock.now()); err != nil {
		panic(err)
	}
}

func (f *fixture) session(t *testing.T, c *http.Cookie) *Session {
	t.Helper()
	r := httptest.NewRequest("GET", "https://portal.test/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	s, err := f.web.Session(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionCookie(t *testing.T) {
	f := newFixture(t)
	_, c := f.signIn(t)
	raw := c.Raw
	for _, want := range []string{"__Host-audian_session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(raw, want) {
			t.Errorf("cookie %q lacks %q", raw, want)
		}
	}
	if strings.Contains(raw, "Domain") {
		t.Errorf("cookie %q has a Domain, which __Host- forbids", raw)
	}
	// The database holds the hash of the id, never the id.
	ws, err := f.store.WebSessions(t.Context(), f.acct.ID, f.user.ID)
	if err != nil || len(ws) != 1 {
		t.Fatalf("WebSessions = %d, %v", len(ws), err)
	}
	if string(ws[0].Hash) == c.Value || len(ws[0].Hash) != 32 {
		t.Errorf("stored hash %x is not a SHA-256 of the cookie", ws[0].Hash)
	}
	if strings.ContainsRune(ws[0].UserAgent, 0) {
		t.Errorf("user agent stored with a NUL: %q", ws[0].UserAgent)
	}
}

func TestSessionLifetime(t *testing.T) {
	tests := []struct {
		name  string
		after func(f *fixture, s *Session)
		want  bool
	}{
		{"Fresh", func(f *fixture, s *Session) {}, true},
		{"ActiveWithinIdle", func(f *fixture, s *Session) { f.clock.add(29 * time.Minute) }, true},
		{"Idle", func(f *fixture, s *Session) { f.clock.add(31 * time.Minute) }, false},
		{"Absolute", func(f *fixture, s *Session) {
			// Used every 20 minutes, yet ended 8 hours after sign-in.
			for range 24 {
				f.clock.add(20 * time.Minute)
				f.touch(s)
			}
		}, false},
		{"UserDisabled", func(f *fixture, s *Session) {
			_, err := f.store.UpdateUser(context.Background(), f.acct.ID, f.user.ID, func(u *identity.User) error { u.Enabled = false; return nil })
			if err != nil {
				panic(err)
			}
		}, false},
		{"TokensCutOff", func(f *fixture, s *Session) {
			f.clock.add(time.Second)
			_, err := f.store.UpdateUser(context.Background(), f.acct.ID, f.user.ID, func(u *identity.User) error { u.TokensValidAfter = f.clock.now(); return nil })
			if err != nil {
				panic(err)
			}
		}, false},
		{"UserDeleted", func(f *fixture, s *Session) {
			if err := f.store.DeleteUser(context.Background(), f.acct.ID, f.user.ID); err != nil {
				panic(err)
			}
		}, false},
		{"SignedOutElsewhere", func(f *fixture, s *Session) {
			if err := f.store.DeleteWebSession(context.Background(), f.acct.ID, f.user.ID, s.ID); err != nil {
				panic(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			s, c := f.signIn(t)
			tt.after(f, s)
			got := f.session(t, c) != nil
			if got != tt.want {
				t.Errorf("session usable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSessionRejectsJunk(t *testing.T) {
	f := newFixture(t)
	f.signIn(t)
	for _, v := range []string{"", "x", strings.Repeat("A", rawIDLen), strings.Repeat("A", 4096)} {
		if s := f.session(t, &http.Cookie{Name: SessionCookie, Value: v}); s != nil {
			t.Errorf("cookie %q gave a session", v)
		}
	}
}

func TestSessionsPerUserBounded(t *testing.T) {
	f := newFixture(t)
	_, first := f.signIn(t)
	for range MaxSessionsPerUser {
		f.clock.add(time.Millisecond) // distinct creation times, so "oldest" is defined
		f.signIn(t)
	}
	list, err := f.store.WebSessions(t.Context(), f.acct.ID, f.user.ID)
	if err != nil || len(list) != MaxSessionsPerUser {
		t.Fatalf("sessions kept: %d (%v), want %d", len(list), err, MaxSessionsPerUser)
	}
	if f.session(t, first) != nil {
		t.Error("the oldest session survived past the bound")
	}
}

func TestEnd(t *testing.T) {
	f := newFixture(t)
	s, c := f.signIn(t)
	rec := httptest.NewRecorder()
	f.web.End(rec, httptest.NewRequest("POST", "https://portal.test/sign-out", nil), s)
	if f.session(t, c) != nil {
		t.Error("the old cookie still works after End")
	}
	cleared := false
	for _, rc := range rec.Result().Cookies() {
		if rc.Name == SessionCookie && rc.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Error("End did not clear the cookie")
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	s, c := f.signIn(t)
	other, _ := f.signIn(t)
	post := func(token string, hdr map[string]string) *http.Request {
		form := url.Values{}
		if token != "" {
			form.Set(CSRFField, token)
		}
		r := httptest.NewRequest("POST", "https://portal.test/x", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		r.AddCookie(c)
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name  string
		token string
		hdr   map[string]string
		ok    bool
	}{
		{"Valid", s.CSRFToken(), nil, true},
		{"ValidSameOrigin", s.CSRFToken(), map[string]string{"Origin": "https://portal.test", "Sec-Fetch-Site": "same-origin"}, true},
		{"Missing", "", nil, false},
		{"AnotherSessions", other.CSRFToken(), nil, false},
		{"Truncated", s.CSRFToken()[:20], nil, false},
		{"CrossOrigin", s.CSRFToken(), map[string]string{"Origin": "https://evil.test"}, false},
		{"CrossSite", s.CSRFToken(), map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.web.CheckCSRF(post(tt.token, tt.hdr), s)
			if (err == nil) != tt.ok {
				t.Errorf("CheckCSRF = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// Before sign-in: the token must match the pre-session cookie.
	rec := httptest.NewRecorder()
	token := f.web.FormToken(rec, httptest.NewRequest("GET", "https://portal.test/sign-in", nil), nil)
	pre := rec.Result().Cookies()[0]
	r := httptest.NewRequest("POST", "https://portal.test/sign-in", strings.NewReader(CSRFField+"="+url.QueryEscape(token)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(pre)
	_ = r.ParseForm()
	if err := f.web.CheckCSRF(r, nil); err != nil {
		t.Errorf("pre-session CheckCSRF = %v", err)
	}
	r = httptest.NewRequest("POST", "https://portal.test/sign-in", strings.NewReader(CSRFField+"="+url.QueryEscape(token)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = r.ParseForm()
	if err := f.web.CheckCSRF(r, nil); err == nil {
		t.Error("pre-session CheckCSRF without the cookie passed")
	}
}

func TestFlash(t *testing.T) {
	f := newFixture(t)
	s, c := f.signIn(t)
	other, _ := f.signIn(t)
	rec := httptest.NewRecorder()
	if err := f.web.SetFlash(rec, s, "secret-value"); err != nil {
		t.Fatal(err)
	}
	var flash *http.Cookie
	for _, rc := range rec.Result().Cookies() {
		if rc.Name == flashCookie {
			flash = rc
		}
	}
	if flash == nil || strings.Contains(flash.Value, "secret-value") {
		t.Fatalf("flash cookie %v missing or in clear", flash)
	}
	take := func(s *Session) (string, bool) {
		r := httptest.NewRequest("GET", "https://portal.test/", nil)
		r.AddCookie(c)
		r.AddCookie(flash)
		return f.web.TakeFlash(httptest.NewRecorder(), r, s)
	}
	if v, ok := take(other); ok {
		t.Errorf("another session read the flash: %q", v)
	}
	if v, ok := take(s); !ok || v != "secret-value" {
		t.Errorf("TakeFlash = %q, %v", v, ok)
	}
}

func TestSafeReturnTo(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/settings/api-keys", "/settings/api-keys"},
		{"/oauth/authorize?client_id=a&redirect_uri=https%3A%2F%2Fx", "/oauth/authorize?client_id=a&redirect_uri=https%3A%2F%2Fx"},
		{"", ""},
		{"//evil.test", ""},
		{"/\\evil.test", ""},
		{"https://evil.test/", ""},
		{"javascript:alert(1)", ""},
		{"evil.test", ""},
		{"/a\\b", ""},
		{"/a\nb", ""},
		{"/%2F/evil.test", "/%2F/evil.test"},
		{"/" + strings.Repeat("a", maxReturnTo), ""},
	}
	for _, tt := range tests {
		if got := SafeReturnTo(tt.in); got != tt.want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSafeReturnTo checks that whatever SafeReturnTo accepts resolves to
// this origin.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "/a?b=c", "http://x", "/%09/x", "/./x", "/..//x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://portal.test/sign-in")
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeReturnTo(s)
		if got == "" {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", got, err)
		}
		if r := base.ResolveReference(u); r.Host != "portal.test" || r.Scheme != "https" {
			t.Fatalf("accepted %q resolving to %v", got, r)
		}
	})
}

func TestRender(t *testing.T) {
	f := newFixture(t)
	s, _ := f.signIn(t)
	pages := fstest.MapFS{"p/hello.html": {Data: []byte(`{{define "content"}}<h1>Hello {{.Data}}</h1>{{end}}`)}}
	tmpl, err := f.web.Parse(fs.FS(pages), nil, "p/*.html")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	tmpl.Render(rec, httptest.NewRequest("GET", "https://portal.test/", nil), http.StatusOK, "hello",
		&Page{Title: "Hi", Session: s, CSRF: s.CSRFToken(), Data: "<script>x</script>"})
	res := rec.Result()
	if got := res.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
		t.Errorf("CSP = %q", got)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("a page carries CORS headers")
	}
	doc, err := html.Parse(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var h1, title string
	var scripts []string
	var signOut bool
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h1":
				h1 = text(n)
			case "title":
				title = text(n)
			case "script":
				src := attr(n, "src")
				if src == "" || strings.TrimSpace(text(n)) != "" {
					t.Errorf("inline script %q", text(n))
				}
				scripts = append(scripts, src)
			case "button":
				if text(n) == "Sign out" {
					signOut = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if h1 != "Hello <script>x</script>" {
		t.Errorf("h1 = %q (escaped text expected)", h1)
	}
	if title != "Hi · Audian" {
		t.Errorf("title = %q", title)
	}
	if !signOut {
		t.Error("no Sign out button for a signed-in page")
	}
	for _, src := range scripts {
		if !strings.HasPrefix(src, StaticPrefix) {
			t.Errorf("script from %q", src)
		}
	}
}

func TestAssets(t *testing.T) {
	p := AssetPath("app.css")
	if p == "" || p == StaticPrefix+"app.css" {
		t.Fatalf("AssetPath(app.css) = %q, want a hashed name", p)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+StaticPrefix+"{name}", ServeAsset)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("GET %s = %d %v", p, rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", StaticPrefix+"app.css", nil))
	if rec.Code != 404 {
		t.Errorf("unhashed name = %d, want 404", rec.Code)
	}
}

func TestBrand(t *testing.T) {
	w := New(Config{Brand: func(ctx context.Context, id string) Brand {
		switch id {
		case "a":
			return Brand{Name: "Acme Voice", Logo: "data:image/png;base64,AAAA"}
		case "b":
			return Brand{Name: "Bad", Logo: "javascript:alert(1)"}
		}
		return Brand{}
	}}, nil, nil, nil)
	tests := []struct {
		id   string
		want Brand
	}{
		{"a", Brand{Name: "Acme Voice", Logo: "data:image/png;base64,AAAA"}},
		{"b", Brand{Name: "Bad"}},
		{"c", Brand{Name: "Audian"}},
		{"", Brand{Name: "Audian"}},
	}
	for _, tt := range tests {
		if got := w.BrandFor(t.Context(), tt.id); got != tt.want {
			t.Errorf("BrandFor(%q) = %+v, want %+v", tt.id, got, tt.want)
		}
	}
}

func text(n *html.Node) string {
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
	return strings.TrimSpace(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestWhitelabelBrand reads an account's branding, or its nearest
// ancestor's, from the store.
func TestWhitelabelBrand(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	child := &identity.Account{ID: identity.NewID(), Name: "Child", Realm: "child.example.com", Enabled: true,
		ParentID: f.acct.ID, Tree: f.acct.ChildTree()}
	if err := f.store.CreateAccount(ctx, child); err != nil {
		t.Fatal(err)
	}
	brand := WhitelabelBrand(f.store)
	if got := brand(ctx, child.ID); got != (Brand{}) {
		t.Errorf("no branding anywhere: %+v, want none", got)
	}
	if err := f.store.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: f.acct.ID, Domain: "portal.acme.test",
		Doc: []byte(`{"company_name":"Acme Voice","domain":"portal.acme.test"}`)}, true); err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\nfake")
	if err := f.store.SetWhitelabelFile(ctx, f.acct.ID, identity.WhitelabelLogo, &identity.WhitelabelFile{ContentType: "image/png", Data: png}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{f.acct.ID, child.ID} {
		got := brand(ctx, id)
		if got.Name != "Acme Voice" || !strings.HasPrefix(string(got.Logo), "data:image/png;base64,") {
			t.Errorf("brand of %s = %+v, want Acme Voice with its logo", id, got)
		}
	}
	// Before sign-in, the host name the browser asked for chooses it.
	byHost := WhitelabelHostBrand(f.store)
	for host, want := range map[string]string{"portal.acme.test:8443": "Acme Voice", "PORTAL.ACME.TEST": "Acme Voice", "other.test": "", "[::1]:8443": ""} {
		if got := byHost(ctx, host); got.Name != want {
			t.Errorf("brand of host %q = %q, want %q", host, got.Name, want)
		}
	}
	// Rendered: the page shows the name and the logo.
	w := New(Config{Brand: brand}, f.store, f.clock.now, nil)
	if got := w.BrandFor(ctx, child.ID); got.Name != "Acme Voice" {
		t.Errorf("BrandFor = %+v", got)
	}
}
