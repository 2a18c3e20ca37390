package oauth

import (
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

// The browser pages: consent for an authorization request (/oauth/login)
// and for a device (/device). Both need a portal session: a person
// without one goes to the portal's sign-in, which checks the password
// through the one login door, and comes back. This package never sees a
// password.

//go:embed templates/*.html
var templateFS embed.FS

func (p *Provider) mountPages(mux *http.ServeMux) {
	if p.web == nil {
		return
	}
	mux.Handle("GET "+pathLogin, p.withInfo(http.HandlerFunc(p.consentPage)))
	mux.Handle("POST "+pathLogin, p.withInfo(http.HandlerFunc(p.consent)))
	mux.Handle("GET "+pathDevicePage, p.withInfo(http.HandlerFunc(p.devicePage)))
	mux.Handle("POST "+pathDevicePage, p.withInfo(http.HandlerFunc(p.deviceSubmit)))
}

// scopeWords says what each scope lets an application do, for the
// consent page.
var scopeWords = map[string]string{
	"openid":         "Know who you are",
	"profile":        "See your name and username",
	"email":          "See your email address",
	"offline_access": "Keep access while you are away",
	"accounts:read":  "See your account and its sub-accounts",
	"accounts:write": "Change and delete your account and its sub-accounts",
	"users:read":     "See the users of your account",
	"users:write":    "Create, change and delete users",
	"keys:read":      "See API keys",
	"keys:write":     "Create and revoke API keys",
	"tokens:read":    "See and renew your sign-in tokens",
}

func words(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if w, ok := scopeWords[sc]; ok {
			out = append(out, w)
		}
	}
	return out
}

// consentData is the consent page's own data.
type consentData struct {
	App      string
	Scopes   []string
	ID       string
	UserCode string
	Action   string
	Next     string
}

// session returns the request's session, or sends the browser to the
// portal's sign-in (ok false) with returnTo.
func (p *Provider) session(w http.ResponseWriter, r *http.Request, returnTo string) (*web.Session, bool) {
	s, err := p.web.Session(r)
	if err != nil {
		p.log.Error("reading a web session failed", "error", err.Error())
		p.pages.Error(w, r, http.StatusServiceUnavailable, nil, "Unavailable", "Please try again in a moment.")
		return nil, false
	}
	if s == nil {
		http.Redirect(w, r, web.SignInURL(returnTo), http.StatusSeeOther)
		return nil, false
	}
	return s, true
}

// consentPage shows the consent page of a pending request.
func (p *Provider) consentPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ar, app, ok := p.pending(w, r, id)
	if !ok {
		return
	}
	sess, ok := p.session(w, r, pathLogin+"?id="+url.QueryEscape(id))
	if !ok {
		return
	}
	// A grant that already covers the request needs no second consent.
	// The browser may have come here from the sign-in form's redirect, and
	// a form's CSP (form-action 'self') forbids its redirects from ending
	// at another origin, so this answer is a page that moves on by itself
	// (a Refresh navigation is not part of the form's redirect chain).
	if g, err := p.store.OAuthGrant(r.Context(), sess.User.ID, app.ID); err == nil && covers(g.Scopes, ar.Scopes) {
		next, ok := p.markApproved(w, r, ar, sess, g.Scopes)
		if !ok {
			return
		}
		w.Header().Set("Refresh", "0; url="+next)
		p.pages.Render(w, r, http.StatusOK, "continue", &web.Page{Title: "Continuing to " + app.Name, Session: sess,
			CSRF: sess.CSRFToken(), Data: consentData{App: app.Name, Next: next}})
		return
	}
	// Allow and Deny redirect to the client: its origin joins form-action.
	p.pages.Render(formActionTo(w, ar.RedirectURI), r, http.StatusOK, "consent", &web.Page{
		Title: "Authorize " + app.Name, Session: sess, CSRF: sess.CSRFToken(),
		Data: consentData{App: app.Name, Scopes: words(ar.Scopes), ID: ar.ID, Action: pathLogin},
	})
}

func covers(granted, asked []string) bool {
	for _, s := range asked {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}

// form parses a page's POST and checks its session and CSRF token.
func (p *Provider) form(w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.pages.Error(w, r, http.StatusBadRequest, nil, "Bad request", "The form could not be read.")
		return nil, false
	}
	sess, err := p.web.Session(r)
	if err != nil || sess == nil {
		p.pages.Error(w, r, http.StatusForbidden, nil, "Signed out", "Your session has ended; start again from the application.")
		return nil, false
	}
	if err := p.web.CheckCSRF(r, sess); err != nil {
		p.pages.Error(w, r, http.StatusForbidden, sess, "Expired form", identity.ErrorMessage(err))
		return nil, false
	}
	return sess, true
}

// saveGrant records the person's consent to app for scopes, added to
// what they granted before, and audits it.
func (p *Provider) saveGrant(r *http.Request, sess *web.Session, app *identity.OAuthApp, scopes []string) (*identity.OAuthGrant, error) {
	if g, err := p.store.OAuthGrant(r.Context(), sess.User.ID, app.ID); err == nil {
		scopes = union(g.Scopes, scopes)
	}
	g := &identity.OAuthGrant{AccountID: sess.Account.ID, UserID: sess.User.ID, AppID: app.ID, Scopes: scopes}
	entry := p.entry(r, sess, app, "oauth.consent")
	dctx, cancel := detached(r.Context())
	defer cancel()
	return g, p.store.SaveOAuthGrant(identity.WithAudit(dctx, entry), g)
}

func (p *Provider) entry(r *http.Request, sess *web.Session, app *identity.OAuthApp, action string) identity.AuditEntry {
	e := identity.AuditEntry{AccountID: sess.Account.ID, ActorKind: identity.AuditActorUser, Actor: sess.User.ID,
		Action: action, TargetKind: "oauth_app", TargetID: app.ID}
	if info := requestInfo(r.Context()); info != nil {
		e.ClientIP, e.UserAgent, e.RequestID = info.ip, info.userAgent, info.id
	}
	return e
}

// consent records the person's decision on an authorization request.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	sess, ok := p.form(w, r)
	if !ok {
		return
	}
	ar, app, ok := p.pending(w, r, r.PostForm.Get("id"))
	if !ok {
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		e := p.entry(r, sess, app, "oauth.consent")
		e.Outcome, e.Reason = identity.AuditFailure, "denied"
		p.storage.audit(r.Context(), e)
		_ = p.store.DeleteOAuthTicket(r.Context(), ar.ID)
		// The redirect URI was matched exactly when the request came in.
		u, err := url.Parse(ar.RedirectURI)
		if err != nil {
			p.pages.Error(w, r, http.StatusBadRequest, sess, "Denied", "You denied the request.")
			return
		}
		q := u.Query()
		q.Set("error", "access_denied")
		if ar.State != "" {
			q.Set("state", ar.State)
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	g, err := p.saveGrant(r, sess, app, ar.Scopes)
	if err != nil {
		p.log.Error("saving an OAuth grant failed", "error", err.Error())
		p.pages.Error(w, r, http.StatusServiceUnavailable, sess, "Unavailable", "Please try again in a moment.")
		return
	}
	p.approve(w, r, ar, sess, g.Scopes)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// approve marks the request done for the person and hands it back to the
// library, which issues the code.
func (p *Provider) approve(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *web.Session, granted []string) {
	if next, ok := p.markApproved(w, r, ar, sess, granted); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// markApproved records the person and the granted scopes on the request
// and returns the library's callback that issues the code.
func (p *Provider) markApproved(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *web.Session, granted []string) (string, bool) {
	_, err := p.store.UpdateOAuthTicket(r.Context(), ar.ID, func(t *identity.OAuthTicket) error {
		cur, err := decodeAuthRequest(t)
		if err != nil {
			return err
		}
		var scopes []string
		for _, s := range cur.Scopes {
			if slices.Contains(granted, s) {
				scopes = append(scopes, s)
			}
		}
		cur.Scopes, cur.AccountID, cur.UserID, cur.AuthTime, cur.Approved = scopes, sess.Account.ID, sess.User.ID, sess.Created, true
		t.Data, err = json.Marshal(cur)
		return err
	})
	if err != nil {
		p.pages.Error(w, r, http.StatusBadRequest, sess, "Expired", "This sign-in request has expired; start again from the application.")
		return "", false
	}
	return pathAuthorize + "/callback?id=" + url.QueryEscape(ar.ID), true
}

// formActionTo lets the page's forms redirect to the origin of
// redirectURI: the consent form's answer ends at the client, and a
// browser checks every redirect of a form submission against form-action.
func formActionTo(w http.ResponseWriter, redirectURI string) http.ResponseWriter {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return w
	}
	return &cspWriter{ResponseWriter: w, origin: u.Scheme + "://" + u.Host}
}

type cspWriter struct {
	http.ResponseWriter
	origin string
}

func (c *cspWriter) WriteHeader(code int) {
	h := c.Header()
	if csp := h.Get("Content-Security-Policy"); csp != "" {
		h.Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+c.origin, 1))
	}
	c.ResponseWriter.WriteHeader(code)
}

// pending loads a request waiting for sign-in and consent, answering the
// failures itself.
func (p *Provider) pending(w http.ResponseWriter, r *http.Request, id string) (*authRequest, *identity.OAuthApp, bool) {
	ar, err := p.storage.authRequest(r.Context(), id)
	if err == nil && !ar.Done() {
		if app, err := p.storage.app(r.Context(), ar.ClientID); err == nil {
			return ar, app, true
		}
	}
	p.pages.Error(w, r, http.StatusBadRequest, nil, "Expired", "This sign-in request has expired or is unknown; start again from the application.")
	return nil, nil, false
}

// normUserCode brings a typed user code to the stored form: the base-20
// letters upper-cased, in two groups of four.
func normUserCode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if c >= 'A' && c <= 'Z' {
			b.WriteRune(c)
		}
	}
	code := b.String()
	if len(code) != 8 {
		return ""
	}
	return code[:4] + "-" + code[4:]
}

// devicePage asks for the code a device shows (RFC 8628 section 3.3).
func (p *Provider) devicePage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	if len(code) > 32 {
		code = ""
	}
	back := pathDevicePage
	if code != "" {
		back += "?user_code=" + url.QueryEscape(code)
	}
	sess, ok := p.session(w, r, back)
	if !ok {
		return
	}
	p.pages.Render(w, r, http.StatusOK, "device", &web.Page{Title: "Connect a device", Session: sess, CSRF: sess.CSRFToken(),
		Data: consentData{UserCode: code}})
}

// deviceSubmit finds the device authorization of a code, asks for
// consent, and records the decision.
func (p *Provider) deviceSubmit(w http.ResponseWriter, r *http.Request) {
	sess, ok := p.form(w, r)
	if !ok {
		return
	}
	code := normUserCode(r.PostForm.Get("user_code"))
	t, err := p.store.OAuthTicketByUserCode(r.Context(), code)
	var d deviceData
	if err == nil {
		err = json.Unmarshal(t.Data, &d)
	}
	var app *identity.OAuthApp
	if err == nil && !d.Done && !d.Denied {
		app, err = p.storage.app(r.Context(), t.AppID)
	}
	if err != nil || app == nil {
		p.pages.Render(w, r, http.StatusBadRequest, "device", &web.Page{Title: "Connect a device", Session: sess,
			CSRF: sess.CSRFToken(), Error: "That code is unknown or has expired.", Data: consentData{}})
		return
	}
	switch r.PostForm.Get("decision") {
	case "":
		p.pages.Render(w, r, http.StatusOK, "consent", &web.Page{
			Title: "Authorize " + app.Name, Session: sess, CSRF: sess.CSRFToken(),
			Data: consentData{App: app.Name, Scopes: words(d.Scopes), UserCode: code, Action: pathDevicePage},
		})
		return
	case "allow":
		if _, err := p.saveGrant(r, sess, app, d.Scopes); err != nil {
			p.log.Error("saving an OAuth grant failed", "error", err.Error())
			p.pages.Error(w, r, http.StatusServiceUnavailable, sess, "Unavailable", "Please try again in a moment.")
			return
		}
		d.Done, d.AccountID, d.UserID, d.AuthTime = true, sess.Account.ID, sess.User.ID, sess.Created
	default:
		d.Denied = true
		e := p.entry(r, sess, app, "oauth.consent")
		e.Outcome, e.Reason = identity.AuditFailure, "denied"
		p.storage.audit(r.Context(), e)
	}
	_, err = p.store.UpdateOAuthTicket(r.Context(), t.ID, func(t *identity.OAuthTicket) error {
		var err error
		t.Data, err = json.Marshal(d)
		return err
	})
	if err != nil {
		p.pages.Error(w, r, http.StatusBadRequest, sess, "Expired", "That code has expired.")
		return
	}
	notice := "Done. You can return to your device."
	if d.Denied {
		notice = "The device was refused."
	}
	p.pages.Render(w, r, http.StatusOK, "device", &web.Page{Title: "Connect a device", Session: sess, CSRF: sess.CSRFToken(),
		Notice: notice, Data: consentData{}})
}
