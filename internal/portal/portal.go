// Package portal is audian's web portal, served at / beside the /v2 API:
// sign in, Settings → API Keys, users, profile, sessions and the audit
// log, as server-rendered pages. Sessions, CSRF, the layout and the assets
// come from internal/web, which the OAuth pages share; credentials are
// checked by the one login door, reached through Authenticator.
//
// Every route runs the same steps, in this order (route): the page
// headers; the session, if any; for a page that needs one, a redirect to
// sign-in without it; for an admin page, a 403 for anyone else; for a
// POST, a bounded form body and the CSRF check; then the handler, whose
// writes carry an audit entry. A handler returns an error and one function
// (fail) turns it into a page.
package portal

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// SignIn is what a person types on the sign-in page, with where it came
// from.
type SignIn struct {
	AccountName, Username, Password string
	ClientIP, UserAgent, RequestID  string
}

// Authenticator checks a person's password: internal/login's
// Door.Password with Face "portal.sign_in", which applies the guard, the
// hashing bound and the audit row. Every credential failure is
// identity.ErrUnauthorized; a throttled attempt an ETooManyRequests error.
type Authenticator interface {
	SignIn(ctx context.Context, in SignIn) (*identity.Account, *identity.User, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, in SignIn) (*identity.Account, *identity.User, error)

// SignIn calls f.
func (f AuthenticatorFunc) SignIn(ctx context.Context, in SignIn) (*identity.Account, *identity.User, error) {
	return f(ctx, in)
}

// PasswordHasher hashes and checks passwords (internal/credential).
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(phc, password string) bool
}

// Sealer seals the account key and keys the digest lookups
// (internal/credential).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(ciphertext, ad []byte) ([]byte, error)
	Lookup(purpose string, data []byte) string
}

// Config holds the portal's settings.
type Config struct {
	// KeyRotation is the age past which a named key shows "rotation due";
	// 0 turns the mark off.
	KeyRotation time.Duration
	// PasswordMinLength applies to passwords set in the portal.
	PasswordMinLength int
}

// Deps are the portal's collaborators.
type Deps struct {
	Store  identity.Store
	Web    *web.Web
	Auth   Authenticator
	Hasher PasswordHasher
	Sealer Sealer
	// Sync brings this process up to date with the change feed after a
	// write, so that a revoked key's tokens are refused at once here.
	Sync   func(context.Context) error
	Logger *slog.Logger
	Now    func() time.Time
}

// Portal serves the pages.
type Portal struct {
	cfg    Config
	store  identity.Store
	web    *web.Web
	auth   Authenticator
	hasher PasswordHasher
	sealer Sealer
	sync   func(context.Context) error
	log    *slog.Logger
	now    func() time.Time
	tmpl   *web.Templates
}

// New parses the templates and returns the portal.
func New(cfg Config, d Deps) (*Portal, error) {
	if cfg.PasswordMinLength <= 0 {
		cfg.PasswordMinLength = 8
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Sync == nil {
		d.Sync = func(context.Context) error { return nil }
	}
	p := &Portal{cfg: cfg, store: d.Store, web: d.Web, auth: d.Auth, hasher: d.Hasher, sealer: d.Sealer,
		sync: d.Sync, log: d.Logger, now: d.Now}
	var err error
	p.tmpl, err = d.Web.Parse(templateFS, funcs, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return p, nil
}

// access says which steps a route runs.
type access int

const (
	public access = iota // no session needed (sign-in)
	member               // any signed-in person
	admin                // an admin of the session's account
)

// handler serves one page; s is nil on public routes without a session.
type handler func(w http.ResponseWriter, r *http.Request, s *web.Session) error

// Route is one method and pattern of the portal, for the tests that check
// every route runs the pipeline.
type Route struct {
	Pattern string // "GET /settings/api-keys"
	Access  string // "public", "member" or "admin"
}

type route struct {
	pattern string
	access  access
	h       handler
}

// routes is every page of the portal, with who may use it.
func (p *Portal) routes() []route {
	return []route{
		{"GET /{$}", public, p.home},
		{"GET /sign-in", public, p.signInPage},
		{"POST /sign-in", public, p.signIn},
		{"POST /sign-out", member, p.signOut},

		{"GET /settings/api-keys", member, p.keysPage},
		{"POST /settings/api-keys", member, p.createKey},
		{"GET /settings/api-keys/{key_id}/rotate", member, p.rotateKeyPage},
		{"POST /settings/api-keys/{key_id}/rotate", member, p.rotateKey},
		{"GET /settings/api-keys/{key_id}/revoke", member, p.revokeKeyPage},
		{"POST /settings/api-keys/{key_id}/revoke", member, p.revokeKey},
		{"GET /settings/account-key", admin, p.accountKeyPage},
		{"POST /settings/account-key", admin, p.regenerateAccountKey},

		{"GET /users", admin, p.usersPage},
		{"POST /users", admin, p.createUser},
		{"GET /users/{user_id}", admin, p.userPage},
		{"POST /users/{user_id}/role", admin, p.changeRole},
		{"POST /users/{user_id}/enabled", admin, p.setEnabled},
		{"POST /users/{user_id}/password", admin, p.resetPassword},

		{"GET /profile", member, p.profilePage},
		{"POST /profile/password", member, p.changePassword},

		{"GET /sessions", member, p.sessionsPage},
		{"POST /sessions/{session_id}/revoke", member, p.revokeSession},
		{"POST /sessions/tokens/revoke", member, p.revokeTokens},

		{"GET /audit", admin, p.auditPage},

		{"GET /settings/authorized-apps", member, p.authorizedAppsPage},
		{"POST /settings/authorized-apps/{grant_id}/revoke", member, p.revokeAuthorization},
		{"GET /settings/oauth-apps", admin, p.oauthAppsPage},
		{"POST /settings/oauth-apps", admin, p.createOAuthApp},
		{"GET /settings/oauth-apps/{app_id}", admin, p.oauthAppPage},
		{"POST /settings/oauth-apps/{app_id}", admin, p.updateOAuthApp},
		{"POST /settings/oauth-apps/{app_id}/delete", admin, p.deleteOAuthApp},
	}
}

// Routes lists every route with its access, in order.
func (p *Portal) Routes() []Route {
	names := map[access]string{public: "public", member: "member", admin: "admin"}
	var out []Route
	for _, rt := range p.routes() {
		out = append(out, Route{Pattern: rt.pattern, Access: names[rt.access]})
	}
	return out
}

// Mount registers the portal's pages and assets on mux.
func (p *Portal) Mount(mux *http.ServeMux) {
	for _, rt := range p.routes() {
		mux.Handle(rt.pattern, p.pipeline(rt))
	}
	mux.HandleFunc("GET "+web.StaticPrefix+"{name}", web.ServeAsset)
}

// clientRecorder is the server's ResponseWriter, which puts the account
// and client address in the request's access-log line.
type clientRecorder interface {
	SetClient(accountID, clientIP string)
}

// maxForm bounds a form body.
const maxForm = 64 << 10

// pipeline runs the steps every route runs before its handler.
func (p *Portal) pipeline(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Redirects and errors carry the page headers too.
		web.SetHeaders(w)
		s, err := p.web.Session(r)
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		if c, ok := w.(clientRecorder); ok {
			acct := ""
			if s != nil {
				acct = s.Account.ID
			}
			c.SetClient(acct, p.web.ClientIP(r))
		}
		if s == nil && rt.access != public {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, web.SignInURL(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			// A form posted after the session ended: nothing happens, and
			// the person signs in again.
			http.Redirect(w, r, web.SignInPath, http.StatusSeeOther)
			return
		}
		if rt.access == admin && !s.Admin() {
			p.fail(w, r, s, identity.ErrRoleForbidden)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				p.fail(w, r, s, identity.Errorf(identity.EInvalid, "the form could not be read"))
				return
			}
			if err := p.web.CheckCSRF(r, s); err != nil {
				p.fail(w, r, s, err)
				return
			}
		}
		if err := rt.h(w, r, s); err != nil {
			p.fail(w, r, s, err)
		}
	})
}

// errorTitles are the page titles of the errors a person may meet; the
// status is identity.Code.HTTPStatus, as for the API.
var errorTitles = map[identity.Code]string{
	identity.EInvalid:         "That did not work",
	identity.EUnauthorized:    "Sign in again",
	identity.EForbidden:       "Not allowed",
	identity.ENotFound:        "Not found",
	identity.EConflict:        "That changed meanwhile",
	identity.ETooManyRequests: "Too many attempts",
	identity.EUnavailable:     "Try again shortly",
}

// fail renders the page for err: its public message for an identity
// error, a generic one with the request id for anything else (whose cause
// goes to the log only).
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s *web.Session, err error) {
	code := identity.ErrorCode(err)
	title, ok := errorTitles[code]
	e := struct {
		status int
		title  string
	}{code.HTTPStatus(), title}
	msg := identity.ErrorMessage(err)
	if !ok {
		e.status, e.title = http.StatusInternalServerError, "Something went wrong"
		msg = "The server could not complete this request. Reference: " + requestID(w)
		p.log.ErrorContext(r.Context(), "portal request failed", "request_id", requestID(w), "route", r.Pattern, "error", err.Error())
	}
	switch {
	case errors.Is(err, identity.ErrRoleForbidden):
		msg = "This page is for the account's administrators."
	case errors.Is(err, web.ErrCSRF):
		e.title = "This form has expired"
		msg = "The form did not carry a valid token for your session. Go back, reload the page and try again."
	}
	pg := p.page(r, s, e.title, "")
	pg.Data = msg
	p.tmpl.Render(w, r, e.status, "error", pg)
}

// requestID is the id the server's middleware gave this request.
func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

// nav is the navigation of a signed-in page.
func nav(s *web.Session, current string) []web.NavLink {
	links := []web.NavLink{{Href: "/settings/api-keys", Label: "API Keys"}}
	if s.Admin() {
		links = append(links, web.NavLink{Href: "/users", Label: "Users"}, web.NavLink{Href: "/audit", Label: "Audit"})
	}
	if s.Admin() {
		links = append(links, web.NavLink{Href: "/settings/oauth-apps", Label: "OAuth apps"})
	}
	links = append(links, web.NavLink{Href: "/settings/authorized-apps", Label: "Authorized apps"},
		web.NavLink{Href: "/sessions", Label: "Sessions"}, web.NavLink{Href: "/profile", Label: "Profile"})
	for i := range links {
		links[i].Current = links[i].Href == current
	}
	return links
}

// page returns the layout data of a page of s (nil before sign-in).
func (p *Portal) page(r *http.Request, s *web.Session, title, current string) *web.Page {
	pg := &web.Page{Title: title, Session: s}
	if s != nil {
		pg.CSRF = s.CSRFToken()
		pg.Nav = nav(s, current)
	}
	return pg
}

// render writes a page with status 200.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, name string, pg *web.Page) error {
	p.tmpl.Render(w, r, http.StatusOK, name, pg)
	return nil
}

// audited returns the request's context carrying the audit entry of
// action by s, so that the Store write it is given records itself in the
// same transaction, as crossbar's writes do. It is detached from the
// client, with its own timeout: a write and its record must not be cut
// short by a browser that goes away.
func (p *Portal) audited(w http.ResponseWriter, r *http.Request, s *web.Session, action string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	return identity.WithAudit(ctx, p.auditEntry(w, r, s, action)), cancel
}

// maxUserAgent bounds what the audit log keeps of a User-Agent.
const maxUserAgent = 256

func (p *Portal) auditEntry(w http.ResponseWriter, r *http.Request, s *web.Session, action string) identity.AuditEntry {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	e := identity.AuditEntry{Action: action, ClientIP: p.web.ClientIP(r), UserAgent: ua, RequestID: requestID(w)}
	if s != nil {
		e.AccountID, e.ActorKind, e.Actor = s.Account.ID, identity.AuditActorUser, s.User.ID
	}
	return e
}

// appendAudit records an event that writes nothing else; a failure to
// record it is logged, not shown.
func (p *Portal) appendAudit(ctx context.Context, e identity.AuditEntry) {
	if err := p.store.AppendAudit(identity.WithoutAudit(ctx), e); err != nil {
		p.log.Error("writing the audit log failed", "action", e.Action, "error", err.Error())
	}
}

// redirect answers a POST with 303 to path, with an optional notice
// carried in the query (a fixed message key, never user data or a secret).
func redirect(w http.ResponseWriter, r *http.Request, path, notice string) error {
	if notice != "" {
		path += "?done=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// notices are the messages a redirect may ask a page to show.
var notices = map[string]string{
	"revoked":       "The key was revoked. It no longer works, and neither do the tokens it issued.",
	"user-created":  "The user was created.",
	"role":          "The role was changed. The user's sessions and tokens were ended.",
	"disabled":      "The user was disabled and signed out everywhere.",
	"enabled":       "The user was enabled.",
	"reset":         "The password was reset. The user's sessions and tokens were ended.",
	"password":      "Your password was changed. Your other sessions were signed out.",
	"session-ended": "The session was signed out.",
	"tokens":        "Every token issued to you before now was revoked.",

	"authorization-revoked": "The application's access was revoked, with every token it held.",
	"app-created":           "The application was registered.",
	"app-saved":             "The application was saved.",
	"app-deleted":           "The application was deleted, with every authorization and token it held.",
}

// notice returns the message of the request's done parameter.
func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// principal is the session's person as the permission rules see it.
func principal(s *web.Session) *identity.Principal {
	return &identity.Principal{AccountID: s.Account.ID, UserID: s.User.ID, Role: s.User.PrivLevel, Method: "portal", System: s.Account.System}
}

// syncAfter brings the node up to date after a write; a failure is logged,
// as the write itself succeeded.
func (p *Portal) syncAfter(ctx context.Context) {
	if err := p.sync(ctx); err != nil {
		p.log.Warn("following the change feed after a portal write failed", "error", err.Error())
	}
}
