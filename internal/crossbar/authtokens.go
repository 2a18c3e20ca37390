package crossbar

import (
	"encoding/json"
	"net/http"

	"github.com/audian/audian/internal/identity"
)

// tokenInfoGet inspects the token of ?token= (GET /v2/auth/tokeninfo).
func (a *API) tokenInfoGet(c *call) (*reply, error) {
	return a.inspectToken(c, c.r.URL.Query().Get("token"))
}

// tokenInfoPost inspects data.token (POST /v2/auth/tokeninfo), which is
// how Monster UI restores a session when a page reloads.
func (a *API) tokenInfoPost(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	raw, _ := schemaString(data, v, "token", 1, 1<<16)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return a.inspectToken(c, raw)
}

// inspectToken answers with what GET /v2/token_auth says about raw, as if
// raw had been presented. The route is public: a presented X-Auth-Token is
// ignored, and raw is authenticated here by the same function the
// pipeline uses, so a token is valid here exactly when it is valid
// anywhere.
func (a *API) inspectToken(c *call, raw string) (*reply, error) {
	if raw == "" {
		return nil, identity.Invalid("token", "required", "Field is required but missing")
	}
	p := &c.principal
	if err := a.authenticate(c.ctx, raw, "", c.info.ClientIP, p); err != nil {
		return nil, err
	}
	c.p, c.token = p, raw
	c.info.AccountID = p.AccountID
	return a.tokenInfo(c)
}

// refreshToken issues a fresh token for the caller's identity (PUT
// /v2/auth {"action":"refresh_token"}). The new token carries the old
// one's account, user, role, API key, scopes and session, so it is
// revoked by everything that would revoke the old one, and however often
// it is refreshed it dies at the session's end (the token service's
// session lifetime from the login).
func (a *API) refreshToken(c *call) (*reply, error) {
	body, err := a.readBody(c)
	if err != nil {
		return nil, err
	}
	data, err := parseEnvelope(body)
	if err != nil {
		return nil, err
	}
	// Kazoo reads the action from the envelope's top level; some clients
	// put it in data.
	action := data["action"]
	var env map[string]any
	if json.Unmarshal(body, &env) == nil {
		if top, ok := env["action"]; ok {
			action = top
		}
	}
	switch action {
	case "refresh_token":
	case nil:
		return nil, identity.Invalid("action", "required", "Field is required but missing")
	default:
		v := identity.Violations{}
		v.Add("action", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: []string{"refresh_token"}})
		return nil, v.Err()
	}
	acct, err := a.accounts.get(c.ctx, c.p.AccountID)
	if err != nil {
		return nil, err
	}
	token, _, err := a.tokens.Issue(identity.Claims{
		AccountID: c.p.AccountID,
		OwnerID:   c.p.UserID,
		// The refreshed token keeps the method it was logged in with, not
		// Kazoo's cb_auth, so that token restrictions written for that
		// method still apply to it.
		Method:    c.p.Method,
		KeyID:     c.p.KeyID,
		PrivLevel: c.p.Role,
		Scopes:    c.p.Scopes,
		CIDRs:     c.p.CIDRs,
		SessionID: c.p.SessionID,
		AuthTime:  c.p.AuthTime.Unix(),
	}, a.cfg.TokenLifetime)
	if err != nil {
		return nil, err
	}
	return &reply{
		status:    http.StatusCreated,
		data:      loginData(acct.acct, c.p.UserID),
		revision:  "automatic",
		authToken: token,
	}, nil
}

// signingKeyIDs lists the ids of the keys that verify tokens (GET
// /v2/auth/keys).
func (a *API) signingKeyIDs(c *call) (*reply, error) {
	ids := a.tokens.KeyIDs()
	if ids == nil {
		ids = []string{}
	}
	return &reply{data: ids, revision: "automatic"}, nil
}

// signingKey returns one verification key as PEM (GET
// /v2/auth/keys/{kid}), as Kazoo does.
func (a *API) signingKey(c *call) (*reply, error) {
	pem, ok := a.tokens.PublicKeyPEM(c.r.PathValue("kid"))
	if !ok {
		return nil, identity.ErrNotFound
	}
	return &reply{data: map[string]string{"public_key_pem": pem}, revision: "automatic"}, nil
}
