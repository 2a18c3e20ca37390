package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

// errSignIn is the one message of every failed sign-in: it must not tell
// an unknown account or user from a wrong password.
const errSignIn = "The account name, username or password is incorrect."

// Limits of the sign-in fields, so that no one makes the door hash a
// megabyte.
const (
	maxAccountName = 256
	maxUsername    = 256
	maxPassword    = 1024
)

type signInData struct {
	AccountName, Username string
	ReturnTo              string
}

// home sends a person to the keys page, or to sign in.
func (p *Portal) home(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	if s == nil {
		http.Redirect(w, r, web.SignInPath, http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/settings/api-keys", http.StatusSeeOther)
	return nil
}

// signInPage shows the form, or sends a signed-in person on.
func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	returnTo := web.SafeReturnTo(r.URL.Query().Get("return_to"))
	if s != nil {
		if returnTo == "" {
			returnTo = "/settings/api-keys"
		}
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return nil
	}
	return p.renderSignIn(w, r, http.StatusOK, signInData{ReturnTo: returnTo}, "")
}

func (p *Portal) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData, msg string) error {
	pg := p.page(r, nil, "Sign in", "")
	pg.CSRF = p.web.FormToken(w, r, nil)
	pg.Error = msg
	pg.Data = d
	p.tmpl.Render(w, r, status, "signin", pg)
	return nil
}

// signIn checks the credentials through the login door and starts a
// session. The form's fields come back on failure, the password never.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	d := signInData{
		AccountName: strings.TrimSpace(r.PostForm.Get("account_name")),
		Username:    strings.TrimSpace(r.PostForm.Get("username")),
		ReturnTo:    web.SafeReturnTo(r.PostForm.Get("return_to")),
	}
	password := r.PostForm.Get("password")
	if d.AccountName == "" || d.Username == "" || password == "" ||
		len(d.AccountName) > maxAccountName || len(d.Username) > maxUsername || len(password) > maxPassword {
		return p.renderSignIn(w, r, http.StatusUnauthorized, d, errSignIn)
	}
	acct, u, err := p.auth.SignIn(r.Context(), SignIn{
		AccountName: d.AccountName, Username: d.Username, Password: password,
		ClientIP: p.web.ClientIP(r), UserAgent: r.UserAgent(), RequestID: requestID(w),
	})
	switch code := identity.ErrorCode(err); {
	case err == nil:
	case code == identity.EUnauthorized:
		return p.renderSignIn(w, r, http.StatusUnauthorized, d, errSignIn)
	case code == identity.ETooManyRequests || code == identity.EUnavailable:
		setRetryAfter(w, err)
		st := http.StatusTooManyRequests
		if code == identity.EUnavailable {
			st = http.StatusServiceUnavailable
		}
		return p.renderSignIn(w, r, st, d, "Too many sign-in attempts. Wait a little, then try again.")
	default:
		return err
	}
	if _, err := p.web.Start(w, r, acct, u); err != nil {
		return err
	}
	to := d.ReturnTo
	if to == "" || to == "/" || strings.HasPrefix(to, web.SignInPath) {
		to = "/settings/api-keys"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// signOut ends the session everywhere and records it.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	p.web.End(w, r, s)
	ctx, cancel := p.audited(w, r, s, "portal.sign_out")
	defer cancel()
	p.appendAudit(ctx, p.auditEntry(w, r, s, "portal.sign_out"))
	http.Redirect(w, r, web.SignInPath, http.StatusSeeOther)
	return nil
}

// setRetryAfter copies the wait of a throttled attempt to the reply.
func setRetryAfter(w http.ResponseWriter, err error) {
	var e *identity.Error
	if errors.As(err, &e) {
		if secs := retryAfterSeconds(e); secs > 0 {
			w.Header().Set("Retry-After", itoa(secs))
		}
	}
}
