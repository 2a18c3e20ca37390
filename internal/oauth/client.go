package oauth

import (
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/audian/audian/internal/identity"
)

// client is an OAuthApp as the library sees it.
type client struct {
	app       *identity.OAuthApp
	loginPath string
	idTTL     time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.app.ID }
func (c *client) RedirectURIs() []string              { return c.app.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.app.RedirectURIs }
func (c *client) LoginURL(id string) string           { return c.loginPath + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTTL }
func (c *client) DevMode() bool                       { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }

// IDTokenUserinfoClaimsAssertion puts profile and email claims in the ID
// token itself: many relying parties read them there and never call
// userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// ApplicationType is native for public clients, whose redirect URIs may
// be loopback addresses over plain HTTP (RFC 8252), and web otherwise.
func (c *client) ApplicationType() op.ApplicationType {
	if c.app.ClientType == identity.ClientPublic {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is none for public clients (which must then use PKCE),
// private_key_jwt for a confidential client that registered keys, and
// client_secret_basic otherwise; the library accepts client_secret_post
// for the latter too.
func (c *client) AuthMethod() oidc.AuthMethod {
	switch {
	case c.app.ClientType == identity.ClientPublic:
		return oidc.AuthMethodNone
	case c.app.JWKS != "":
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes is code only: no implicit grant (RFC 9700 section 2.1.2).
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.app.GrantTypes))
	for _, g := range c.app.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}

// IsScopeAllowed admits the application's registered scopes.
func (c *client) IsScopeAllowed(scope string) bool { return slices.Contains(c.app.Scopes, scope) }
