package portal

import (
	"net/http"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
	"github.com/audian/audian/internal/web"
)

type profileData struct {
	User    *identity.User
	Account *identity.Account
	Errors  map[string]string
}

func (p *Portal) profilePage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	return p.renderProfile(w, r, s, http.StatusOK, nil)
}

func (p *Portal) renderProfile(w http.ResponseWriter, r *http.Request, s *web.Session, status int, errs map[string]string) error {
	pg := p.page(r, s, "Profile", "/profile")
	pg.Notice = notice(r)
	if len(errs) > 0 {
		pg.Error = "Your password was not changed: check the fields marked below."
	}
	pg.Data = profileData{User: s.User, Account: s.Account, Errors: errs}
	p.tmpl.Render(w, r, status, "profile", pg)
	return nil
}

// changePassword sets the person's own password after checking the
// current one through the login door (the same guard and audit as a
// sign-in, so that a borrowed session cannot guess it freely). It ends
// the person's tokens and every other session, and moves this browser to
// a fresh session.
func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	current, next, confirm := r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), r.PostForm.Get("confirm_password")
	errs := map[string]string{}
	if msg := p.checkPassword(next, s.User.Username, s.Account.Name); msg != "" {
		errs["new_password"] = msg
	} else if next != confirm {
		errs["confirm_password"] = "The two new passwords differ."
	}
	if current == "" || len(current) > maxPassword {
		errs["current_password"] = "Enter your current password."
	}
	if len(errs) > 0 {
		return p.renderProfile(w, r, s, http.StatusBadRequest, errs)
	}
	_, _, err := p.auth.SignIn(r.Context(), SignIn{
		AccountName: s.Account.Name, Username: s.User.Username, Password: current,
		ClientIP: p.web.ClientIP(r), UserAgent: r.UserAgent(), RequestID: requestID(w),
	})
	switch identity.ErrorCode(err) {
	case "":
	case identity.EUnauthorized:
		errs["current_password"] = "That is not your current password."
		return p.renderProfile(w, r, s, http.StatusBadRequest, errs)
	default:
		return err
	}
	creds, err := manage.HashCredentials(p.sealer, p.hasher, s.User.Username, next)
	if err != nil {
		return err
	}
	ctx, cancel := p.audited(w, r, s, "users.update")
	defer cancel()
	now := p.now()
	u, err := p.store.UpdateUser(ctx, s.Account.ID, s.User.ID, func(u *identity.User) error {
		u.Credentials = creds
		u.RequirePasswordUpdate = false
		u.TokensValidAfter = now
		return nil
	})
	if err != nil {
		return err
	}
	if err := p.restart(w, r, s, u); err != nil {
		return err
	}
	p.syncAfter(ctx)
	return redirect(w, r, "/profile", "password")
}

// restart gives this browser a new session and ends every other session
// of the user, after its credentials or tokens were cut off.
func (p *Portal) restart(w http.ResponseWriter, r *http.Request, s *web.Session, u *identity.User) error {
	fresh, err := p.web.Start(w, r, s.Account, u)
	if err != nil {
		return err
	}
	_, err = p.web.EndUserSessions(r.Context(), s.Account.ID, u.ID, fresh.ID)
	return err
}
