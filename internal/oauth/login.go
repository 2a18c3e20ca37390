package oauth

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Session is the signed-in person of a browser request.
type Session struct {
	AccountID string
	UserID    string
	AuthTime  time.Time
}

// Sessions is what the browser pages need from the web layer
// (internal/web): who is signed in, and the CSRF token of the session. The
// password check itself happens on the portal's sign-in page, through the
// one login door; this package never sees a password.
type Sessions interface {
	// Session returns the request's signed-in person; ok is false when
	// nobody is.
	Session(r *http.Request) (s Session, ok bool)
	// CSRFToken returns the token forms of this session must post back.
	CSRFToken(r *http.Request) string
	// ValidCSRF reports whether token is the session's CSRF token.
	ValidCSRF(r *http.Request, token string) bool
	// SignInURL is where a person without a session goes, to come back
	// to returnTo (a same-origin path) once signed in.
	SignInURL(returnTo string) string
}

func (p *Provider) mountPages(mux *http.ServeMux) {
	mux.Handle("GET "+pathLogin, p.withInfo(http.HandlerFunc(p.consentPage)))
	mux.Handle("POST "+pathLogin, p.withInfo(http.HandlerFunc(p.consent)))
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

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {{.App}}</title></head>
<body><main>
<h1>Authorize {{.App}}</h1>
<p>{{.App}} asks to:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</main></body></html>`))

// consentPage shows the consent page of a pending request, after sending
// a person without a session to the portal's sign-in.
func (p *Provider) consentPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ar, app, ok := p.pending(w, r, id)
	if !ok {
		return
	}
	sess, ok := p.sessions.Session(r)
	if !ok {
		http.Redirect(w, r, p.sessions.SignInURL(pathLogin+"?id="+url.QueryEscape(id)), http.StatusSeeOther)
		return
	}
	// A grant that already covers the request needs no second consent.
	if g, err := p.store.OAuthGrant(r.Context(), sess.UserID, app.ID); err == nil && covers(g.Scopes, ar.Scopes) {
		p.approve(w, r, ar, sess, g.Scopes)
		return
	}
	words := make([]string, 0, len(ar.Scopes))
	for _, sc := range ar.Scopes {
		words = append(words, scopeWords[sc])
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTmpl.Execute(w, map[string]any{"App": app.Name, "Scopes": words, "ID": ar.ID, "CSRF": p.sessions.CSRFToken(r), "Action": pathLogin})
}

func covers(granted, asked []string) bool {
	for _, s := range asked {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}

// consent records the person's decision.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ar, app, ok := p.pending(w, r, r.PostForm.Get("id"))
	if !ok {
		return
	}
	sess, ok := p.sessions.Session(r)
	if !ok || !p.sessions.ValidCSRF(r, r.PostForm.Get("csrf_token")) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	entry := identity.AuditEntry{AccountID: sess.AccountID, ActorKind: identity.AuditActorUser, Actor: sess.UserID,
		Action: "oauth.consent", TargetKind: "oauth_app", TargetID: app.ID}
	if r.PostForm.Get("decision") != "allow" {
		entry.Outcome, entry.Reason = identity.AuditFailure, "denied"
		p.storage.audit(r.Context(), entry)
		u, _ := url.Parse(ar.RedirectURI)
		q := u.Query()
		q.Set("error", "access_denied")
		if ar.State != "" {
			q.Set("state", ar.State)
		}
		u.RawQuery = q.Encode()
		_ = p.store.DeleteOAuthTicket(r.Context(), ar.ID)
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	scopes := ar.Scopes
	if g, err := p.store.OAuthGrant(r.Context(), sess.UserID, app.ID); err == nil {
		scopes = union(g.Scopes, ar.Scopes)
	}
	g := &identity.OAuthGrant{AccountID: sess.AccountID, UserID: sess.UserID, AppID: app.ID, Scopes: scopes}
	dctx, cancel := detached(r.Context())
	defer cancel()
	if err := p.store.SaveOAuthGrant(identity.WithAudit(dctx, entry), g); err != nil {
		p.log.Error("saving an OAuth grant failed", "error", err.Error())
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
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
func (p *Provider) approve(w http.ResponseWriter, r *http.Request, ar *authRequest, sess Session, granted []string) {
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
		cur.Scopes, cur.AccountID, cur.UserID, cur.AuthTime, cur.Approved = scopes, sess.AccountID, sess.UserID, sess.AuthTime, true
		if cur.AuthTime.IsZero() {
			cur.AuthTime = p.now()
		}
		t.Data, err = json.Marshal(cur)
		return err
	})
	if err != nil {
		http.Error(w, "this sign-in request has expired", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, pathAuthorize+"/callback?id="+url.QueryEscape(ar.ID), http.StatusSeeOther)
}

// pending loads a request waiting for sign-in and consent, answering the
// failures itself.
func (p *Provider) pending(w http.ResponseWriter, r *http.Request, id string) (*authRequest, *identity.OAuthApp, bool) {
	if p.sessions == nil {
		http.Error(w, "browser sign-in is not available", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	ar, err := p.storage.authRequest(r.Context(), id)
	if err != nil || ar.Done() {
		http.Error(w, "this sign-in request has expired or is unknown", http.StatusBadRequest)
		return nil, nil, false
	}
	app, err := p.storage.app(r.Context(), ar.ClientID)
	if err != nil {
		http.Error(w, "this sign-in request has expired or is unknown", http.StatusBadRequest)
		return nil, nil, false
	}
	return ar, app, true
}
