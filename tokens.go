package audian

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Session is the data of a login (api_auth, user_auth, a refresh) and,
// with the claims filled in, of token_auth and tokeninfo.
type Session struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name,omitempty"`
	// OwnerID is the user logged in; empty for an API-key login.
	OwnerID    string `json:"owner_id,omitempty"`
	ResellerID string `json:"reseller_id,omitempty"`
	IsReseller bool   `json:"is_reseller"`
	Language   string `json:"language,omitempty"`
	Apps       []any  `json:"apps,omitzero"`

	// The token's claims (token_auth and tokeninfo only).
	Method    string   `json:"method,omitempty"`
	PrivLevel string   `json:"priv_level,omitempty"`
	KeyID     string   `json:"key_id,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"` // Unix seconds
	ExpiresAt int64    `json:"exp,omitempty"` // Unix seconds
	Scopes    []string `json:"scopes,omitzero"`
}

// AccessToken is a short-lived token with narrower scopes, for handing
// to a less trusted process.
type AccessToken struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   int64     `json:"expires_in"` // seconds
	ExpiresAt   time.Time `json:"expires_at"`
	Scopes      []string  `json:"scopes"`
	JTI         string    `json:"jti"`
}

// TokensService inspects, refreshes, mints and revokes tokens.
type TokensService struct{ c *Client }

// Info describes the client's own token (GET /v2/token_auth).
func (s *TokensService) Info(ctx context.Context) (*Session, error) {
	var out Session
	if _, err := s.c.call(ctx, "GET", "/v2/token_auth", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Inspect describes any token (POST /v2/auth/tokeninfo); a token that
// does not work anywhere is ErrUnauthorized.
func (s *TokensService) Inspect(ctx context.Context, token string) (*Session, error) {
	var out Session
	if _, err := s.c.send(ctx, "POST", "/v2/auth/tokeninfo", nil, Request{Data: map[string]any{"token": token}}, &out, ""); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke revokes the client's token on every node (DELETE
// /v2/token_auth). A client holding credentials logs in again on its
// next call; one given only WithToken is done.
func (s *TokensService) Revoke(ctx context.Context) error {
	tok, err := s.c.Token(ctx)
	if err != nil {
		return err
	}
	_, err = s.c.send(ctx, "DELETE", "/v2/token_auth", nil, nil, nil, tok)
	if (err == nil || errors.Is(err, ErrUnauthorized)) && s.c.canLogin() {
		// Revoked now or already: either way the token is dead, and the
		// next call logs in again. A client with nothing but this token
		// keeps it, and gets ErrUnauthorized.
		s.c.forget(tok)
	}
	return err
}

// RevokeToken revokes another token, as its holder would.
func (s *TokensService) RevokeToken(ctx context.Context, token string) error {
	_, err := s.c.send(ctx, "DELETE", "/v2/token_auth", nil, nil, nil, token)
	return err
}

// Refresh replaces the client's token by a fresh one for the same
// identity (PUT /v2/auth), within the server's absolute session
// lifetime, and returns it.
func (s *TokensService) Refresh(ctx context.Context) (string, error) {
	var out Session
	env, err := s.c.call(ctx, "PUT", "/v2/auth", nil, map[string]any{"action": "refresh_token", "data": map[string]any{}}, &out)
	if err != nil {
		return "", err
	}
	if env.AuthToken == "" {
		return "", errors.New("audian: the server issued no token")
	}
	s.c.mu.Lock()
	s.c.setToken(env.AuthToken)
	s.c.session = &out
	s.c.mu.Unlock()
	return env.AuthToken, nil
}

// CreateAccessToken mints a token for the client's own account limited
// to scopes (each within the client's), living lifetime (15 minutes to
// a day; 0 for the server's default).
func (s *TokensService) CreateAccessToken(ctx context.Context, scopes []string, lifetime time.Duration) (*AccessToken, error) {
	p, err := s.c.pathIn(ctx, "", "access_tokens")
	if err != nil {
		return nil, err
	}
	d := map[string]any{"scopes": scopes}
	if lifetime > 0 {
		d["expires_in"] = int64(lifetime / time.Second)
	}
	var out AccessToken
	if _, err := s.c.call(ctx, http.MethodPut, p, nil, Request{Data: d}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
