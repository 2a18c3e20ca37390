package crossbar

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/audian/audian/internal/identity"
)

// OAuth application limits.
const (
	maxRedirectURIs = 10
	maxJWKSBytes    = 8 << 10
	// secretGrace is how long a rotated client secret keeps working.
	secretGrace = 24 * time.Hour
)

// listOAuthApps lists the account's OAuth applications
// (GET /v2/accounts/{id}/oauth_apps).
func (a *API) listOAuthApps(c *call) (*reply, error) {
	id := c.target.acct.ID
	return listReply(c, func(p identity.Page) ([]*identity.OAuthApp, string, error) {
		return a.store.OAuthApps(c.ctx, id, p)
	}, func(app *identity.OAuthApp) any { return renderOAuthApp(app, c.now) })
}

// createOAuthApp registers an application (PUT /v2/accounts/{id}/oauth_apps)
// and shows a confidential client's secret this once; only its hash is
// stored.
func (a *API) createOAuthApp(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	app := &identity.OAuthApp{
		AccountID:  c.target.acct.ID,
		ClientType: identity.ClientConfidential,
		GrantTypes: []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		Scopes:     []string{"openid", "profile", "email", "offline_access"},
		CreatedBy:  c.p.UserID,
	}
	v := identity.Violations{}
	if _, ok := data["name"]; !ok {
		v.Add("name", "required", fieldRequired)
	}
	if _, ok := data["redirect_uris"]; !ok {
		if gt, _ := stringList(data["grant_types"]); !slices.Contains(gt, identity.GrantClientCredentials) &&
			!slices.Contains(gt, identity.GrantDeviceCode) {
			v.Add("redirect_uris", "required", fieldRequired)
		}
	}
	if ct, ok := data["client_type"].(string); ok {
		app.ClientType = ct
	}
	if err := parseOAuthApp(data, app, v); err != nil {
		return nil, err
	}
	if !c.p.MayGrant(apiScopes(app.Scopes)) {
		return nil, errScopeExceeds
	}
	secret := ""
	if app.ClientType == identity.ClientConfidential && app.JWKS == "" {
		secret = identity.NewClientSecret()
		app.SecretHash = identity.OAuthSecretHash(secret)
	}
	if err := a.store.CreateOAuthApp(c.ctx, app); err != nil {
		return nil, err
	}
	d := renderOAuthApp(app, c.now)
	if secret != "" {
		d["client_secret"] = secret
	}
	return &reply{
		status:   http.StatusCreated,
		data:     d,
		revision: app.Revision,
		location: "/v2/accounts/" + app.AccountID + "/oauth_apps/" + app.ID,
	}, nil
}

// apiScopes returns the API scopes among scopes, never nil: an
// application's API scopes are always a limit.
func apiScopes(scopes []string) []string {
	out := []string{}
	for _, s := range scopes {
		if slices.Contains(identity.OAuthAPIScopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// oauthApp loads the application of the path in the account of the path.
func (a *API) oauthApp(c *call) (*identity.OAuthApp, error) {
	id := c.r.PathValue("app_id")
	if !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	app, err := a.store.OAuthApp(c.ctx, id)
	if err != nil {
		return nil, err
	}
	if app.AccountID != c.target.acct.ID {
		return nil, identity.ErrNotFound
	}
	return app, nil
}

// getOAuthApp returns one application.
func (a *API) getOAuthApp(c *call) (*reply, error) {
	app, err := a.oauthApp(c)
	if err != nil {
		return nil, err
	}
	return &reply{data: renderOAuthApp(app, c.now), revision: app.Revision}, nil
}

// patchOAuthApp changes an application's fields; client_type is fixed.
func (a *API) patchOAuthApp(c *call) (*reply, error) {
	if _, err := a.oauthApp(c); err != nil {
		return nil, err
	}
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	if _, ok := data["client_type"]; ok {
		v := identity.Violations{}
		v.Add("client_type", "read_only", identity.Violation{Message: "client_type cannot be changed"})
		return nil, v.Err()
	}
	app, err := a.store.UpdateOAuthApp(c.ctx, c.r.PathValue("app_id"), func(app *identity.OAuthApp) error {
		if err := parseOAuthApp(data, app, identity.Violations{}); err != nil {
			return err
		}
		if !c.p.MayGrant(apiScopes(app.Scopes)) {
			return errScopeExceeds
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &reply{data: renderOAuthApp(app, c.now), revision: app.Revision}, nil
}

// deleteOAuthApp removes an application; the tokens it issued die on
// every node with the Store's cutoffs.
func (a *API) deleteOAuthApp(c *call) (*reply, error) {
	app, err := a.oauthApp(c)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteOAuthApp(c.ctx, app.ID); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	d := renderOAuthApp(app, c.now)
	d["_read_only"] = map[string]any{"deleted": true}
	return &reply{data: d, revision: app.Revision}, nil
}

// rotateOAuthSecret gives a confidential client a new secret, shown once;
// the old one keeps working for secretGrace.
func (a *API) rotateOAuthSecret(c *call) (*reply, error) {
	if _, err := a.oauthApp(c); err != nil {
		return nil, err
	}
	secret := identity.NewClientSecret()
	app, err := a.store.UpdateOAuthApp(c.ctx, c.r.PathValue("app_id"), func(app *identity.OAuthApp) error {
		if app.ClientType != identity.ClientConfidential || len(app.SecretHash) == 0 {
			return &identity.Error{Code: identity.EConflict, Message: "the application has no client secret"}
		}
		app.PrevSecretHash, app.PrevSecretUntil = app.SecretHash, c.now.Add(secretGrace)
		app.SecretHash = identity.OAuthSecretHash(secret)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := renderOAuthApp(app, c.now)
	d["client_secret"] = secret
	return &reply{data: d, revision: app.Revision}, nil
}

// parseOAuthApp applies the fields present in data to app and validates
// the result.
func parseOAuthApp(data map[string]any, app *identity.OAuthApp, v identity.Violations) error {
	if name, ok := schemaString(data, v, "name", 1, maxKeyName); ok {
		app.Name = name
	}
	if raw, ok := data["redirect_uris"]; ok {
		list, ok := stringList(raw)
		switch {
		case !ok:
			v.Add("redirect_uris", "type", identity.Violation{Message: "Value did not match type(s): array of strings"})
		case len(list) > maxRedirectURIs:
			v.Add("redirect_uris", "maxItems", identity.Violation{Message: "The list is too long", Target: maxRedirectURIs})
		default:
			for _, u := range list {
				if !identity.ValidRedirectURI(u) {
					v.Add("redirect_uris", "format", identity.Violation{Message: "Each URI must be an absolute https URL without fragment, or http on a loopback address"})
					break
				}
			}
			app.RedirectURIs = slices.Compact(list)
		}
	}
	if raw, ok := data["grant_types"]; ok {
		list, ok := stringList(raw)
		if !ok || len(list) == 0 {
			v.Add("grant_types", "type", identity.Violation{Message: "Value did not match type(s): non-empty array of strings"})
		} else {
			for _, g := range list {
				if !slices.Contains(identity.OAuthGrantTypes, g) {
					v.Add("grant_types", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: identity.OAuthGrantTypes})
					break
				}
			}
			slices.Sort(list)
			app.GrantTypes = slices.Compact(list)
		}
	}
	if raw, ok := data["scopes"]; ok {
		list, ok := stringList(raw)
		if !ok {
			v.Add("scopes", "type", identity.Violation{Message: "Value did not match type(s): array of strings"})
		} else {
			for _, s := range list {
				if !slices.Contains(identity.OAuthScopes(), s) {
					v.Add("scopes", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: identity.OAuthScopes()})
					break
				}
			}
			slices.Sort(list)
			app.Scopes = slices.Compact(list)
		}
	}
	if raw, ok := data["jwks"]; ok && raw != nil {
		b, _ := json.Marshal(raw)
		var set jose.JSONWebKeySet
		valid := len(b) <= maxJWKSBytes && json.Unmarshal(b, &set) == nil && len(set.Keys) > 0
		for _, k := range set.Keys {
			valid = valid && k.Valid() && k.IsPublic()
		}
		if !valid {
			v.Add("jwks", "format", identity.Violation{Message: "Value must be a JSON Web Key Set of public keys"})
		} else {
			app.JWKS = string(b)
		}
	}
	switch app.ClientType {
	case identity.ClientConfidential:
	case identity.ClientPublic:
		if slices.Contains(app.GrantTypes, identity.GrantClientCredentials) {
			v.Add("grant_types", "enum", identity.Violation{Message: "A public client cannot use client_credentials"})
		}
		if app.JWKS != "" {
			v.Add("jwks", "forbidden", identity.Violation{Message: "A public client has no keys"})
		}
	default:
		v.Add("client_type", "enum", identity.Violation{Message: "Value not found in enumerated list of values",
			Target: []string{identity.ClientConfidential, identity.ClientPublic}})
	}
	return v.Err()
}

// renderOAuthApp is an application's public description; secrets never
// are part of it.
func renderOAuthApp(app *identity.OAuthApp, now time.Time) map[string]any {
	method := "client_secret_basic"
	switch {
	case app.ClientType == identity.ClientPublic:
		method = "none"
	case app.JWKS != "":
		method = "private_key_jwt"
	}
	d := map[string]any{
		"id":                         app.ID,
		"client_id":                  app.ID,
		"name":                       app.Name,
		"client_type":                app.ClientType,
		"redirect_uris":              nonNil(app.RedirectURIs),
		"grant_types":                nonNil(app.GrantTypes),
		"scopes":                     nonNil(app.Scopes),
		"token_endpoint_auth_method": method,
		"created":                    gregorian(app.Created),
	}
	if len(app.PrevSecretHash) > 0 && now.Before(app.PrevSecretUntil) {
		d["previous_secret_expires_at"] = rfc3339(app.PrevSecretUntil)
	}
	if app.JWKS != "" {
		d["jwks"] = json.RawMessage(app.JWKS)
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listOAuthGrants lists the applications a user has authorized
// (GET /v2/accounts/{id}/users/{user_id}/oauth_grants).
func (a *API) listOAuthGrants(c *call) (*reply, error) {
	acct, user := c.target.acct.ID, c.r.PathValue("user_id")
	if !identity.ValidID(user) {
		return nil, identity.ErrNotFound
	}
	if _, err := a.store.User(c.ctx, acct, user); err != nil {
		return nil, err
	}
	return listReply(c, func(p identity.Page) ([]*identity.OAuthGrant, string, error) {
		return a.store.OAuthGrants(c.ctx, acct, user, p)
	}, func(g *identity.OAuthGrant) any { return a.renderGrant(c, g) })
}

func (a *API) renderGrant(c *call, g *identity.OAuthGrant) map[string]any {
	d := map[string]any{
		"id":        g.ID,
		"client_id": g.AppID,
		"scopes":    nonNil(g.Scopes),
		"created":   gregorian(g.Created),
		"modified":  gregorian(g.Modified),
	}
	if app, err := a.store.OAuthApp(c.ctx, g.AppID); err == nil {
		d["app_name"] = app.Name
	}
	return d
}

// deleteOAuthGrant takes an authorization back: the grant, its refresh
// tokens and its access tokens die on every node.
func (a *API) deleteOAuthGrant(c *call) (*reply, error) {
	acct, user, id := c.target.acct.ID, c.r.PathValue("user_id"), c.r.PathValue("grant_id")
	if !identity.ValidID(user) || !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	if err := a.store.DeleteOAuthGrant(c.ctx, acct, user, id); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: map[string]any{"id": id, "_read_only": map[string]any{"deleted": true}}, revision: "automatic"}, nil
}
