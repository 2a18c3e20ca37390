package audian

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

// OAuthApp is an OAuth 2.0 / OpenID Connect client registered in an
// account. ClientSecret is set only in the replies that create a
// confidential client or rotate its secret: the server keeps a hash.
type OAuthApp struct {
	ID       string `json:"id,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Name     string `json:"name"`
	// ClientType is "confidential" (the default) or "public".
	ClientType   string   `json:"client_type,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitzero"`
	// GrantTypes such as "authorization_code", "refresh_token",
	// "client_credentials", "urn:ietf:params:oauth:grant-type:device_code".
	GrantTypes []string `json:"grant_types,omitzero"`
	Scopes     []string `json:"scopes,omitzero"`
	// JWKS holds the public keys of a private_key_jwt client.
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	Created                 int64           `json:"created,omitempty"` // Gregorian seconds
	PreviousSecretExpiresAt *time.Time      `json:"previous_secret_expires_at,omitempty"`

	ClientSecret string `json:"client_secret,omitempty"`
	ReadOnly     *struct {
		Deleted bool `json:"deleted"`
	} `json:"_read_only,omitempty"`
}

// OAuthGrant is an application a user has authorized.
type OAuthGrant struct {
	ID       string   `json:"id"`
	ClientID string   `json:"client_id"`
	AppName  string   `json:"app_name,omitempty"`
	Scopes   []string `json:"scopes"`
	Created  int64    `json:"created"`
	Modified int64    `json:"modified"`
}

// OAuthService manages OAuth applications
// (/v2/accounts/{id}/oauth_apps) and users' grants.
type OAuthService struct{ c *Client }

// Create registers an application in account ("" for the client's own).
func (s *OAuthService) Create(ctx context.Context, account string, app *OAuthApp) (*OAuthApp, error) {
	return s.one(ctx, "PUT", account, []string{"oauth_apps"}, Request{Data: app})
}

// List lists account's applications.
func (s *OAuthService) List(ctx context.Context, account string, opts *ListOptions) iter.Seq2[OAuthApp, error] {
	return list[OAuthApp](s.c, ctx, func(ctx context.Context) (string, error) {
		return s.c.pathIn(ctx, account, "oauth_apps")
	}, opts.query())
}

// Get returns one application.
func (s *OAuthService) Get(ctx context.Context, account, id string) (*OAuthApp, error) {
	return s.one(ctx, "GET", account, []string{"oauth_apps", id}, nil)
}

// Update changes the fields of an application (PATCH); client_type is
// fixed at creation.
func (s *OAuthService) Update(ctx context.Context, account, id string, fields map[string]any) (*OAuthApp, error) {
	return s.one(ctx, "PATCH", account, []string{"oauth_apps", id}, Request{Data: fields})
}

// RotateSecret gives a confidential client a new secret; the old one
// keeps working for a day.
func (s *OAuthService) RotateSecret(ctx context.Context, account, id string) (*OAuthApp, error) {
	return s.one(ctx, "PUT", account, []string{"oauth_apps", id, "rotate"}, Request{Data: map[string]any{}})
}

// Delete removes an application and every token it issued.
func (s *OAuthService) Delete(ctx context.Context, account, id string) error {
	_, err := s.one(ctx, "DELETE", account, []string{"oauth_apps", id}, nil)
	return err
}

// Grants lists the applications user has authorized.
func (s *OAuthService) Grants(ctx context.Context, account, user string, opts *ListOptions) iter.Seq2[OAuthGrant, error] {
	return list[OAuthGrant](s.c, ctx, func(ctx context.Context) (string, error) {
		return s.c.pathIn(ctx, account, "users", user, "oauth_grants")
	}, opts.query())
}

// RevokeGrant takes an authorization back, with its tokens.
func (s *OAuthService) RevokeGrant(ctx context.Context, account, user, grant string) error {
	p, err := s.c.pathIn(ctx, account, "users", user, "oauth_grants", grant)
	if err != nil {
		return err
	}
	_, err = s.c.call(ctx, "DELETE", p, nil, nil, nil)
	return err
}

func (s *OAuthService) one(ctx context.Context, method, account string, segs []string, body any) (*OAuthApp, error) {
	p, err := s.c.pathIn(ctx, account, segs...)
	if err != nil {
		return nil, err
	}
	var app OAuthApp
	if _, err := s.c.call(ctx, method, p, nil, body, &app); err != nil {
		return nil, err
	}
	return &app, nil
}
