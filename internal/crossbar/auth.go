package crossbar

import (
	"context"
	"net/http"
	"time"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// apiAuth exchanges an API key for an auth token (PUT /v2/api_auth).
func (a *API) apiAuth(c *call) (_ *reply, err error) {
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
	ident := keyIdentity(credential.KeyPrefix(secret))
	if err := a.loginCheck(c, ident); err != nil {
		return nil, err
	}
	var key *identity.APIKey
	defer func() { a.apiAuthDone(c, ident, key, err) }()
	if !wellFormedKey(secret) {
		return nil, identity.ErrUnauthorized
	}
	// Every failure below is the same 401: the reply must not say whether
	// a key exists, was revoked, or belongs to a disabled account.
	key, err = a.store.APIKeyByHash(c.ctx, credential.HashKey(secret))
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, identity.ErrUnauthorized
	} else if err != nil {
		return nil, err
	}
	if !key.Live(c.now) {
		return nil, identity.ErrUnauthorized
	}
	acct, err := a.accounts.get(c.ctx, key.AccountID)
	if err != nil {
		if identity.ErrorCode(err) == identity.ENotFound {
			return nil, identity.ErrUnauthorized
		}
		return nil, err
	}
	if ok, err := a.AccountUsable(c.ctx, acct.acct); err != nil {
		return nil, err
	} else if !ok {
		return nil, identity.ErrUnauthorized
	}
	c.info.AccountID = acct.acct.ID
	claims, lifetime, err := a.keyLogin(c, key, acct.acct)
	if err != nil {
		return nil, err
	}
	token, _, err := a.tokens.Issue(claims, lifetime)
	if err != nil {
		return nil, err
	}
	return &reply{
		status:    http.StatusCreated,
		data:      loginData(acct.acct, ""),
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
