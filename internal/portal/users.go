package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
	"github.com/audian/audian/internal/web"
)

// Users (admins): the users of the admin's own account. Every change that
// touches a user's credentials, role or enabled flag ends the user's
// tokens on every node (TokensValidAfter, as the API does) and its portal
// sessions.

// maxUsersListed bounds the users page.
const maxUsersListed = 1000

type userForm struct {
	Username, FirstName, LastName, Email, Role string
	Errors                                     map[string]string
}

type usersData struct {
	Users []*identity.User
	Form  userForm
	Me    string
}

func (p *Portal) usersPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	return p.renderUsers(w, r, s, http.StatusOK, userForm{Role: identity.RoleUser})
}

func (p *Portal) renderUsers(w http.ResponseWriter, r *http.Request, s *web.Session, status int, form userForm) error {
	var users []*identity.User
	page := identity.Page{Size: identity.MaxPageSize}
	for len(users) < maxUsersListed {
		items, next, err := p.store.Users(r.Context(), s.Account.ID, page)
		if err != nil {
			return err
		}
		users = append(users, items...)
		if next == "" {
			break
		}
		page.After = next
	}
	pg := p.page(r, s, "Users", "/users")
	pg.Notice = notice(r)
	if len(form.Errors) > 0 {
		pg.Error = "The user was not created: check the fields marked below."
	}
	pg.Data = usersData{Users: users, Form: form, Me: s.User.ID}
	p.tmpl.Render(w, r, status, "users", pg)
	return nil
}

// checkPassword applies the password rules every face shares
// (credential.CheckNewPassword): length, not a common password, and not
// one of context (the username, the account name).
func (p *Portal) checkPassword(pw string, context ...string) string {
	if err := credential.CheckNewPassword(pw, p.cfg.PasswordMinLength, context...); err != nil {
		return err.Message + "."
	}
	return ""
}

// createUser adds a user to the admin's account.
func (p *Portal) createUser(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	f := r.PostForm
	form := userForm{
		Username:  identity.NormalizeUsername(f.Get("username")),
		FirstName: strings.TrimSpace(f.Get("first_name")),
		LastName:  strings.TrimSpace(f.Get("last_name")),
		Email:     strings.TrimSpace(f.Get("email")),
		Role:      f.Get("role"),
		Errors:    map[string]string{},
	}
	password := f.Get("password")
	if form.Role != identity.RoleAdmin && form.Role != identity.RoleUser {
		form.Errors["role"] = "Choose a role."
	}
	if form.Username == "" {
		form.Errors["username"] = "A username is required to sign in."
	}
	if msg := p.checkPassword(password, form.Username, s.Account.Name); msg != "" {
		form.Errors["password"] = msg
	}
	u := &identity.User{
		ID: identity.NewID(), AccountID: s.Account.ID, Username: form.Username,
		FirstName: form.FirstName, LastName: form.LastName, Email: form.Email,
		PrivLevel: form.Role, Enabled: true,
	}
	if err := u.Validate(); err != nil {
		fieldErrors(err, form.Errors)
	}
	if len(form.Errors) > 0 {
		return p.renderUsers(w, r, s, http.StatusBadRequest, form)
	}
	creds, err := manage.HashCredentials(p.sealer, p.hasher, u.Username, password)
	if err != nil {
		return err
	}
	u.Credentials = creds
	ctx, cancel := p.audited(w, r, s, "users.create")
	defer cancel()
	if err := p.store.CreateUser(ctx, u); err != nil {
		if identity.ErrorCode(err) == identity.EInvalid {
			fieldErrors(err, form.Errors)
			return p.renderUsers(w, r, s, http.StatusBadRequest, form)
		}
		return err
	}
	return redirect(w, r, "/users", "user-created")
}

// fieldErrors copies the messages of a validation error into errs.
func fieldErrors(err error, errs map[string]string) {
	var e *identity.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		errs[""] = "The values were refused."
		return
	}
	for field, rules := range e.Fields {
		for _, v := range rules {
			errs[field] = v.Message
			break
		}
	}
}

type userData struct {
	User *identity.User
	Self bool
}

func (p *Portal) user(r *http.Request, s *web.Session) (*identity.User, error) {
	id := r.PathValue("user_id")
	if !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	return p.store.User(r.Context(), s.Account.ID, id)
}

func (p *Portal) userPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	u, err := p.user(r, s)
	if err != nil {
		return err
	}
	return p.renderUser(w, r, s, u, http.StatusOK, "")
}

func (p *Portal) renderUser(w http.ResponseWriter, r *http.Request, s *web.Session, u *identity.User, status int, msg string) error {
	title := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if title == "" {
		title = u.Username
	}
	pg := p.page(r, s, title, "/users")
	pg.Notice = notice(r)
	pg.Error = msg
	pg.Data = userData{User: u, Self: u.ID == s.User.ID}
	p.tmpl.Render(w, r, status, "user", pg)
	return nil
}

// errSelf keeps an admin from locking itself out.
var errSelf = identity.Errorf(identity.EConflict, "You cannot change your own role or disable yourself here; ask another administrator.")

// updateUser changes a user of the admin's account and ends its tokens and
// sessions, as a change of role, enabled flag or password must.
func (p *Portal) updateUser(w http.ResponseWriter, r *http.Request, s *web.Session, action, done string, fn func(u *identity.User) error) error {
	u, err := p.user(r, s)
	if err != nil {
		return err
	}
	if u.ID == s.User.ID {
		return errSelf
	}
	ctx, cancel := p.audited(w, r, s, action)
	defer cancel()
	now := p.now()
	_, err = p.store.UpdateUser(ctx, s.Account.ID, u.ID, func(u *identity.User) error {
		if err := fn(u); err != nil {
			return err
		}
		u.TokensValidAfter = now
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := p.web.EndUserSessions(ctx, s.Account.ID, u.ID, ""); err != nil {
		return err
	}
	p.syncAfter(ctx)
	return redirect(w, r, "/users/"+u.ID, done)
}

func (p *Portal) changeRole(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	role := r.PostForm.Get("role")
	if role != identity.RoleAdmin && role != identity.RoleUser {
		return identity.Invalid("role", "enum", "Choose a role.")
	}
	return p.updateUser(w, r, s, "users.update", "role", func(u *identity.User) error {
		u.PrivLevel = role
		return nil
	})
}

func (p *Portal) setEnabled(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	enable := r.PostForm.Get("enabled") == "true"
	done := "disabled"
	if enable {
		done = "enabled"
	}
	return p.updateUser(w, r, s, "users.update", done, func(u *identity.User) error {
		u.Enabled = enable
		return nil
	})
}

// resetPassword sets a new password for another user.
func (p *Portal) resetPassword(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	pw := r.PostForm.Get("password")
	u, err := p.user(r, s)
	if err != nil {
		return err
	}
	if msg := p.checkPassword(pw, u.Username, s.Account.Name); msg != "" {
		return p.renderUser(w, r, s, u, http.StatusBadRequest, "The password was not reset: "+msg)
	}
	creds, err := manage.HashCredentials(p.sealer, p.hasher, u.Username, pw)
	if err != nil {
		return err
	}
	return p.updateUser(w, r, s, "users.update", "reset", func(u *identity.User) error {
		u.Credentials = creds
		u.RequirePasswordUpdate = true
		return nil
	})
}
