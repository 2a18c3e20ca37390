package crossbar

import (
	"context"
	"net/http"
	"time"

	"github.com/audian/audian/internal/identity"
)

// apiAuth exchanges an API key for an auth token (PUT /v2/api_auth):
// parse, the login door, a token, the reply.
func (a *API) apiAuth(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	raw, present := data["api_key"]
	secret, isString := raw.(string)
	switch {
	case !present:
		return nil, identity.Invalid("api_key", "required", "Field is required but missing")
	case !isString:
		return nil, identity.Invalid("api_key", "type", "Value did not match type(s): string")
	}
	in, err := a.door.APIKey(c.ctx, a.attempt(c, "api_auth"), secret)
	if err != nil {
		return nil, err
	}
	c.info.AccountID = in.Account.ID
	claims, lifetime := a.keyClaims(c, in)
	token, _, err := a.tokens.Issue(claims, lifetime)
	if err != nil {
		return nil, err
	}
	return &reply{
		status:    http.StatusCreated,
		data:      loginData(in.Account, ""),
		revision:  "automatic",
		authToken: token,
	}, nil
}

// loginData is the data of a successful login, as Kazoo's response_auth.
func loginData(a *identity.Account, ownerID string) map[string]any {
	lang := a.Language
	if lang == "" {
		lang = "en-us"
	}
	d := map[string]any{
		"account_id":   a.ID,
		"account_name": a.Name,
		"is_reseller":  false,
		"language":     lang,
		"apps":         []any{},
	}
	if ownerID != "" {
		d["owner_id"] = ownerID
	}
	if len(a.Tree) > 0 {
		d["reseller_id"] = a.Tree[0]
	}
	return d
}

// tokenInfo returns the presented token's claims with the login data
// (GET /v2/token_auth).
func (a *API) tokenInfo(c *call) (*reply, error) {
	acct, err := a.accounts.get(c.ctx, c.p.AccountID)
	if err != nil {
		return nil, err
	}
	d := loginData(acct.acct, c.p.UserID)
	d["method"] = c.p.Method
	d["exp"] = c.p.ExpiresAt.Unix()
	d["iat"] = c.p.IssuedAt.Unix()
	d["jti"] = c.p.TokenID
	if c.p.KeyID != "" {
		d["key_id"] = c.p.KeyID
	}
	d["priv_level"] = c.p.Role
	if c.p.Scopes != nil {
		d["scopes"] = c.p.Scopes
	}
	return &reply{data: d, revision: "automatic"}, nil
}

// revokeToken revokes the presented token's session on every node
// (DELETE /v2/token_auth); Kazoo cannot do this. The session is the login
// the token descends from: the login's token, every token refreshed from
// it and every access token minted from any of them die together, so
// that logging out with any of them ends the login. The revocation is a
// token revocation of the session id (the login's jti), kept until the
// last token of the session has expired.
func (a *API) revokeToken(c *call) (*reply, error) {
	id, exp := c.p.SessionID, sessionEnd(c.p.AuthTime)
	if id == "" {
		id, exp = c.p.TokenID, c.p.ExpiresAt
	}
	if exp.Before(c.now) {
		exp = c.now.Add(time.Minute)
	}
	// The revocation must be written even when the client hangs up at once.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 5*time.Second)
	defer cancel()
	if err := a.store.RevokeToken(ctx, id, exp); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return &reply{revision: "automatic"}, nil
}

// sessionEnd bounds the life of every token of a session that began at
// authTime: no token service setting lets a session outlive the longest
// token lifetime (24h), plus the verification leeway.
func sessionEnd(authTime time.Time) time.Time {
	return authTime.Add(24*time.Hour + time.Minute)
}
