package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed templates
var templateFS embed.FS

// ContentSecurityPolicy is sent with every page: no inline script or
// style, nothing from another origin, no framing, forms posting only here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// DefaultBrand is shown when an account has no whitelabel name.
const DefaultBrand = "Audian"

// Brand is the name and logo a page shows.
type Brand struct {
	Name string
	// Logo is a data:image URL or a same-origin path; anything else is
	// dropped by BrandFor.
	Logo template.URL
}

// NavLink is one entry of the page's navigation.
type NavLink struct {
	Href, Label string
	Current     bool
}

// Page is what the layout renders around a page's own content.
type Page struct {
	Title   string
	Brand   Brand
	Session *Session // nil before sign-in: no navigation, no sign-out
	CSRF    string   // the token of every form on the page
	Nav     []NavLink
	Notice  string // a success message
	Error   string // a failure message, shown with role="alert"
	Data    any    // the page's own data
}

// Templates are pages parsed with the shared layout.
type Templates struct {
	web   *Web
	pages map[string]*template.Template
}

// funcs are available to every template.
var funcs = template.FuncMap{
	"asset": AssetPath,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006")
	},
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
}

// Parse parses the pages matching patterns in fsys, each page with its
// own copy of the layout; a page defines "content" (and may define
// "title"). Parsing once at start makes a broken template a start-up
// failure, not a request's.
func (w *Web) Parse(fsys fs.FS, extra template.FuncMap, patterns ...string) (*Templates, error) {
	base := template.New("layout").Funcs(funcs)
	if extra != nil {
		base = base.Funcs(extra)
	}
	base, err := base.ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{web: w, pages: map[string]*template.Template{}}
	add := func(fsys fs.FS, pat string) error {
		names, err := fs.Glob(fsys, pat)
		if err != nil {
			return err
		}
		for _, name := range names {
			clone, err := base.Clone()
			if err != nil {
				return err
			}
			page, err := clone.ParseFS(fsys, name)
			if err != nil {
				return err
			}
			key := name[strings.LastIndexByte(name, '/')+1:]
			t.pages[strings.TrimSuffix(key, ".html")] = page
		}
		return nil
	}
	if err := add(templateFS, "templates/pages/*.html"); err != nil {
		return nil, err
	}
	for _, pat := range patterns {
		if err := add(fsys, pat); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// SetHeaders sets the headers every page carries: the CSP, no framing, no
// caching (a page may show a secret once), no referrer to other sites.
func SetHeaders(rw http.ResponseWriter) {
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	// same-origin rather than no-referrer: with no-referrer a browser
	// sends "Origin: null" on a form POST, which CheckCSRF could not use.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// Render writes page name with status. It fills in the brand of the
// session's account when p has none. A template failure is logged and
// answered with a plain 500, never with a half-written page.
func (t *Templates) Render(rw http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	tmpl, ok := t.pages[name]
	if !ok {
		t.web.log.Error("rendering an unknown page", "page", name)
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	if p.Brand.Name == "" {
		if p.Session != nil {
			p.Brand = t.web.BrandFor(r.Context(), p.Session.Account.ID)
		} else {
			p.Brand = t.web.BrandForHost(r.Context(), r.Host)
		}
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
		t.web.log.Error("rendering a page failed", "page", name, "error", err.Error())
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	SetHeaders(rw)
	rw.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// Error renders the error page with a public message.
func (t *Templates) Error(rw http.ResponseWriter, r *http.Request, status int, s *Session, title, message string) {
	p := &Page{Title: title, Session: s, Data: message}
	if s != nil {
		p.CSRF = s.CSRFToken()
	}
	t.Render(rw, r, status, "error", p)
}

// BrandFor returns the whitelabel brand of an account ("" for none), or
// Audian's.
func (w *Web) BrandFor(ctx context.Context, accountID string) Brand {
	b := Brand{}
	if w.cfg.Brand != nil && accountID != "" {
		b = w.cfg.Brand(ctx, accountID)
	}
	return checkBrand(b)
}

// BrandForHost returns the brand claiming host, or Audian's.
func (w *Web) BrandForHost(ctx context.Context, host string) Brand {
	b := Brand{}
	if w.cfg.BrandForHost != nil {
		b = w.cfg.BrandForHost(ctx, host)
	}
	return checkBrand(b)
}

// checkBrand fills in the default name and drops a logo that is neither a
// data:image URL nor a same-origin path.
func checkBrand(b Brand) Brand {
	if b.Name == "" {
		b.Name = DefaultBrand
	}
	if l := string(b.Logo); !(strings.HasPrefix(l, "data:image/") || (strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//"))) {
		b.Logo = ""
	}
	return b
}
