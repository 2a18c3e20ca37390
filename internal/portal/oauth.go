package portal

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

// OAuth in the portal: admins register the account's OAuth applications
// (the secret shown once, redirect URIs edited, applications deleted), and
// every person lists the applications they authorized and takes any of
// them back. The rules are the API's (internal/crossbar/oauthapps.go).

// maxOAuthListed bounds the OAuth pages' lists.
const maxOAuthListed = 500

// oauthScopeWords says what each scope lets an application do, as the
// consent page says it (internal/oauth).
var oauthScopeWords = map[string]string{
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

var oauthGrantLabels = map[string]string{
	identity.GrantAuthorizationCode: "Authorization code (web sign-in)",
	identity.GrantRefreshToken:      "Refresh token",
	identity.GrantClientCredentials: "Client credentials (the app acts for itself)",
	identity.GrantDeviceCode:        "Device code (command-line tools, TVs)",
}

type grantRow struct {
	ID, App  string
	Scopes   []string
	Created  time.Time
	Modified time.Time
}

// authorizedAppsPage lists the applications the person authorized.
func (p *Portal) authorizedAppsPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	var rows []grantRow
	page := identity.Page{Size: identity.MaxPageSize}
	for len(rows) < maxOAuthListed {
		items, next, err := p.store.OAuthGrants(r.Context(), s.Account.ID, s.User.ID, page)
		if err != nil {
			return err
		}
		for _, g := range items {
			row := grantRow{ID: g.ID, App: "Deleted application", Created: g.Created, Modified: g.Modified}
			if app, err := p.store.OAuthApp(r.Context(), g.AppID); err == nil {
				row.App = app.Name
			}
			for _, sc := range g.Scopes {
				if w, ok := oauthScopeWords[sc]; ok {
					row.Scopes = append(row.Scopes, w)
				}
			}
			rows = append(rows, row)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	pg := p.page(r, s, "Authorized apps", "/settings/authorized-apps")
	pg.Notice = notice(r)
	pg.Data = rows
	return p.render(w, r, "authorizedapps", pg)
}

// revokeAuthorization takes an authorization back: the grant, its refresh
// tokens and its access tokens end on every node.
func (p *Portal) revokeAuthorization(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	id := r.PathValue("grant_id")
	if !identity.ValidID(id) {
		return identity.ErrNotFound
	}
	ctx, cancel := p.audited(w, r, s, "oauth_grants.delete")
	defer cancel()
	if err := p.store.DeleteOAuthGrant(ctx, s.Account.ID, s.User.ID, id); err != nil {
		return err
	}
	p.syncAfter(ctx)
	return redirect(w, r, "/settings/authorized-apps", "authorization-revoked")
}

// appForm is the create and edit form, echoed back with its errors.
type appForm struct {
	Name, ClientType, RedirectURIs string
	GrantTypes, Scopes             []string
	Errors                         map[string]string
}

type oauthAppsData struct {
	Apps   []*identity.OAuthApp
	Shown  *shownAppSecret
	Form   appForm
	Scopes []option
	Grants []option
	Create bool
}

// shownAppSecret travels in the sealed flash from the POST to the page
// that shows it, once.
type shownAppSecret struct {
	Name     string `json:"name"`
	ClientID string `json:"client_id"`
	Secret   string `json:"secret"`
}

func oauthOptions() (scopes, grants []option) {
	for _, sc := range identity.OAuthScopes() {
		scopes = append(scopes, option{sc, oauthScopeWords[sc]})
	}
	for _, g := range identity.OAuthGrantTypes {
		grants = append(grants, option{g, oauthGrantLabels[g]})
	}
	return scopes, grants
}

func (p *Portal) oauthAppsPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	return p.renderOAuthApps(w, r, s, http.StatusOK, appForm{ClientType: identity.ClientConfidential,
		GrantTypes: []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		Scopes:     []string{"openid", "profile", "email", "offline_access"}})
}

func (p *Portal) renderOAuthApps(w http.ResponseWriter, r *http.Request, s *web.Session, status int, form appForm) error {
	d := oauthAppsData{Form: form, Create: true}
	d.Scopes, d.Grants = oauthOptions()
	page := identity.Page{Size: identity.MaxPageSize}
	for len(d.Apps) < maxOAuthListed {
		items, next, err := p.store.OAuthApps(r.Context(), s.Account.ID, page)
		if err != nil {
			return err
		}
		d.Apps = append(d.Apps, items...)
		if next == "" {
			break
		}
		page.After = next
	}
	if v, ok := p.web.TakeFlash(w, r, s); ok {
		var shown shownAppSecret
		if json.Unmarshal([]byte(v), &shown) == nil && shown.Secret != "" {
			d.Shown = &shown
		}
	}
	pg := p.page(r, s, "OAuth apps", "/settings/oauth-apps")
	pg.Notice = notice(r)
	pg.Data = d
	p.tmpl.Render(w, r, status, "oauthapps", pg)
	return nil
}

// readAppForm reads the create or edit form into app, and returns the
// form as typed with its errors.
func readAppForm(r *http.Request, app *identity.OAuthApp, create bool) appForm {
	f := appForm{
		Name:         strings.TrimSpace(r.PostForm.Get("name")),
		ClientType:   r.PostForm.Get("client_type"),
		RedirectURIs: r.PostForm.Get("redirect_uris"),
		GrantTypes:   r.PostForm["grant_types"],
		Scopes:       r.PostForm["scopes"],
		Errors:       map[string]string{},
	}
	if f.Name == "" || len(f.Name) > 128 {
		f.Errors["name"] = "Give the application a name of 1 to 128 characters."
	}
	var uris []string
	for _, line := range strings.Split(f.RedirectURIs, "\n") {
		if u := strings.TrimSpace(line); u != "" {
			if !identity.ValidRedirectURI(u) {
				f.Errors["redirect_uris"] = "Each redirect URI must be an absolute https URL without fragment, or http on a loopback address."
			}
			uris = append(uris, u)
		}
	}
	if len(uris) > 10 {
		f.Errors["redirect_uris"] = "At most 10 redirect URIs."
	}
	for _, g := range f.GrantTypes {
		if !slices.Contains(identity.OAuthGrantTypes, g) {
			f.Errors["grant_types"] = "Choose among the grant types offered."
		}
	}
	for _, sc := range f.Scopes {
		if !slices.Contains(identity.OAuthScopes(), sc) {
			f.Errors["scopes"] = "Choose among the scopes offered."
		}
	}
	if create {
		if f.ClientType != identity.ClientConfidential && f.ClientType != identity.ClientPublic {
			f.Errors["client_type"] = "Choose confidential or public."
		}
		if len(f.GrantTypes) == 0 {
			f.Errors["grant_types"] = "Choose at least one grant type."
		}
		app.ClientType = f.ClientType
	}
	if app.ClientType == identity.ClientPublic && slices.Contains(f.GrantTypes, identity.GrantClientCredentials) {
		f.Errors["grant_types"] = "A public client cannot use client credentials."
	}
	needsURI := slices.Contains(f.GrantTypes, identity.GrantAuthorizationCode)
	if needsURI && len(uris) == 0 {
		f.Errors["redirect_uris"] = "The authorization code grant needs at least one redirect URI."
	}
	app.Name, app.RedirectURIs = f.Name, uris
	if len(f.GrantTypes) > 0 {
		app.GrantTypes = slices.Compact(slices.Sorted(slices.Values(f.GrantTypes)))
	}
	app.Scopes = slices.Compact(slices.Sorted(slices.Values(f.Scopes)))
	return f
}

// apiScopes returns the API scopes among scopes, never nil.
func apiScopes(scopes []string) []string {
	out := []string{}
	for _, s := range scopes {
		if slices.Contains(identity.OAuthAPIScopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// createOAuthApp registers an application; a confidential client's
// secret is shown once on the page the browser is sent to.
func (p *Portal) createOAuthApp(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	app := &identity.OAuthApp{AccountID: s.Account.ID, CreatedBy: s.User.ID}
	f := readAppForm(r, app, true)
	if len(f.Errors) == 0 && !principal(s).MayGrant(apiScopes(app.Scopes)) {
		f.Errors["scopes"] = "You cannot give an application more than you may do yourself."
	}
	if len(f.Errors) > 0 {
		return p.renderOAuthApps(w, r, s, http.StatusBadRequest, f)
	}
	secret := ""
	if app.ClientType == identity.ClientConfidential {
		secret = identity.NewClientSecret()
		app.SecretHash = identity.OAuthSecretHash(secret)
	}
	ctx, cancel := p.audited(w, r, s, "oauth_apps.create")
	defer cancel()
	if err := p.store.CreateOAuthApp(ctx, app); err != nil {
		return err
	}
	if secret != "" {
		b, _ := json.Marshal(shownAppSecret{Name: app.Name, ClientID: app.ID, Secret: secret})
		if err := p.web.SetFlash(w, s, string(b)); err != nil {
			return err
		}
	}
	return redirect(w, r, "/settings/oauth-apps", "app-created")
}

// accountApp loads an application of the session's account.
func (p *Portal) accountApp(r *http.Request, s *web.Session) (*identity.OAuthApp, error) {
	id := r.PathValue("app_id")
	if !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	app, err := p.store.OAuthApp(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if app.AccountID != s.Account.ID {
		return nil, identity.ErrNotFound
	}
	return app, nil
}

type oauthAppData struct {
	App    *identity.OAuthApp
	Form   appForm
	Scopes []option
	Grants []option
	Create bool // false: the client type is fixed once registered
}

func (p *Portal) oauthAppPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	app, err := p.accountApp(r, s)
	if err != nil {
		return err
	}
	return p.renderOAuthApp(w, r, s, http.StatusOK, app, appForm{Name: app.Name, ClientType: app.ClientType,
		RedirectURIs: strings.Join(app.RedirectURIs, "\n"), GrantTypes: app.GrantTypes, Scopes: app.Scopes})
}

func (p *Portal) renderOAuthApp(w http.ResponseWriter, r *http.Request, s *web.Session, status int, app *identity.OAuthApp, f appForm) error {
	d := oauthAppData{App: app, Form: f}
	d.Scopes, d.Grants = oauthOptions()
	pg := p.page(r, s, app.Name, "/settings/oauth-apps")
	pg.Notice = notice(r)
	pg.Data = d
	p.tmpl.Render(w, r, status, "oauthapp", pg)
	return nil
}

// updateOAuthApp changes an application's name, redirect URIs, grant
// types and scopes.
func (p *Portal) updateOAuthApp(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	app, err := p.accountApp(r, s)
	if err != nil {
		return err
	}
	edited := *app
	f := readAppForm(r, &edited, false)
	if len(f.Errors) == 0 && !principal(s).MayGrant(apiScopes(edited.Scopes)) {
		f.Errors["scopes"] = "You cannot give an application more than you may do yourself."
	}
	if len(f.Errors) > 0 {
		f.ClientType = app.ClientType
		return p.renderOAuthApp(w, r, s, http.StatusBadRequest, app, f)
	}
	ctx, cancel := p.audited(w, r, s, "oauth_apps.update")
	defer cancel()
	if _, err := p.store.UpdateOAuthApp(ctx, app.ID, func(a *identity.OAuthApp) error {
		a.Name, a.RedirectURIs, a.GrantTypes, a.Scopes = edited.Name, edited.RedirectURIs, edited.GrantTypes, edited.Scopes
		return nil
	}); err != nil {
		return err
	}
	return redirect(w, r, "/settings/oauth-apps/"+app.ID, "app-saved")
}

// deleteOAuthApp removes an application; every token it issued ends on
// every node.
func (p *Portal) deleteOAuthApp(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	app, err := p.accountApp(r, s)
	if err != nil {
		return err
	}
	ctx, cancel := p.audited(w, r, s, "oauth_apps.delete")
	defer cancel()
	if err := p.store.DeleteOAuthApp(ctx, app.ID); err != nil {
		return err
	}
	p.syncAfter(ctx)
	return redirect(w, r, "/settings/oauth-apps", "app-deleted")
}
