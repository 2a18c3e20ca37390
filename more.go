package audian

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// TokenRestrictions are Kazoo's token restrictions of an account: login
// method → account selector → endpoint → rules (see Kazoo's
// token_restrictions documentation). They are kept as raw JSON.
type TokenRestrictions struct {
	Restrictions json.RawMessage `json:"restrictions"`
}

// RateLimit is the rate limit in force for an account: a bucket of Burst
// requests refilled at Rate per second, each request costing Cost.
// Override says the account has its own, rather than the global one.
type RateLimit struct {
	Burst    int     `json:"burst"`
	Rate     float64 `json:"rate"`
	Cost     int     `json:"cost"`
	Override bool    `json:"override"`
}

// RestrictionsService reads and sets token restrictions and rate limits
// of accounts.
type RestrictionsService struct{ c *Client }

// Get returns account's token restrictions.
func (s *RestrictionsService) Get(ctx context.Context, account string) (*TokenRestrictions, error) {
	return s.restrictions(ctx, "GET", account, nil)
}

// Set replaces account's token restrictions (an ancestor's right).
func (s *RestrictionsService) Set(ctx context.Context, account string, r *TokenRestrictions) (*TokenRestrictions, error) {
	return s.restrictions(ctx, "POST", account, Request{Data: r})
}

// Delete removes account's token restrictions.
func (s *RestrictionsService) Delete(ctx context.Context, account string) error {
	_, err := s.restrictions(ctx, "DELETE", account, nil)
	return err
}

func (s *RestrictionsService) restrictions(ctx context.Context, method, account string, body any) (*TokenRestrictions, error) {
	p, err := s.c.pathIn(ctx, account, "token_restrictions")
	if err != nil {
		return nil, err
	}
	var out TokenRestrictions
	if _, err := s.c.call(ctx, method, p, nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RateLimit returns the limit in force for account.
func (s *RestrictionsService) RateLimit(ctx context.Context, account string) (*RateLimit, error) {
	return s.rateLimit(ctx, "GET", account, nil)
}

// SetRateLimit gives account its own limit (system administrators only);
// nil fields keep their value.
func (s *RestrictionsService) SetRateLimit(ctx context.Context, account string, burst *int, rate *float64, cost *int) (*RateLimit, error) {
	d := map[string]any{}
	if burst != nil {
		d["burst"] = *burst
	}
	if rate != nil {
		d["rate"] = *rate
	}
	if cost != nil {
		d["cost"] = *cost
	}
	return s.rateLimit(ctx, "POST", account, Request{Data: d})
}

// DeleteRateLimit returns account to the global limit.
func (s *RestrictionsService) DeleteRateLimit(ctx context.Context, account string) (*RateLimit, error) {
	return s.rateLimit(ctx, "DELETE", account, nil)
}

func (s *RestrictionsService) rateLimit(ctx context.Context, method, account string, body any) (*RateLimit, error) {
	p, err := s.c.pathIn(ctx, account, "rate_limits")
	if err != nil {
		return nil, err
	}
	var out RateLimit
	if _, err := s.c.call(ctx, method, p, nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SigningKeys lists the ids of the keys that verify tokens.
func (s *TokensService) SigningKeys(ctx context.Context) ([]string, error) {
	var ids []string
	if _, err := s.c.call(ctx, "GET", "/v2/auth/keys", nil, nil, &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// SigningKey returns the public key kid as PEM.
func (s *TokensService) SigningKey(ctx context.Context, kid string) (string, error) {
	var out struct {
		PEM string `json:"public_key_pem"`
	}
	if _, err := s.c.call(ctx, "GET", "/v2/auth/keys/"+url.PathEscape(kid), nil, nil, &out); err != nil {
		return "", err
	}
	return out.PEM, nil
}

// RotateSigningKey makes a new key sign tokens (system administrators);
// it returns the new key's id.
func (s *TokensService) RotateSigningKey(ctx context.Context) (string, error) {
	var out struct {
		KID string `json:"kid"`
	}
	if _, err := s.c.call(ctx, http.MethodPut, "/v2/auth/signing_keys/rotate", nil, Request{Data: map[string]any{}}, &out); err != nil {
		return "", err
	}
	return out.KID, nil
}

// RequestPasswordReset asks the server to send username of accountName
// a reset token. It succeeds whether or not they exist.
func (c *Client) RequestPasswordReset(ctx context.Context, accountName, username string) error {
	_, err := c.send(ctx, http.MethodPut, "/v2/user_auth/recovery", nil,
		Request{Data: map[string]any{"account_name": accountName, "username": username}}, nil, "")
	return err
}

// ResetPassword sets a new password with a reset token.
func (c *Client) ResetPassword(ctx context.Context, resetID, password string) error {
	_, err := c.send(ctx, http.MethodPost, "/v2/user_auth/recovery", nil,
		Request{Data: map[string]any{"reset_id": resetID, "password": password}}, nil, "")
	return err
}
