package crossbar

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/login"
	"github.com/audian/audian/internal/manage"
)

// Named API keys (spec §7), the portal's "Settings -> API Keys":
//
//	GET    /v2/accounts/{id}/api_keys                  list metadata
//	PUT    /v2/accounts/{id}/api_keys                  create; the secret is shown once
//	GET    /v2/accounts/{id}/api_keys/{key_id}         metadata
//	PATCH  /v2/accounts/{id}/api_keys/{key_id}         name, scopes, allowed_cidrs
//	DELETE /v2/accounts/{id}/api_keys/{key_id}         revoke, with every token it minted
//	PUT    /v2/accounts/{id}/api_keys/{key_id}/rotate  a new key; the old one lives grace_seconds
//
// Admins manage the keys of the accounts they reach; a plain user manages
// the keys it created in its own account. A named key created by a user
// works only while that user exists and is enabled, and acts with the
// user's current role: a plain user's key can never do more than the user.
// Keys created by bootstrap or by an API-key token belong to the account.

// Limits of a named key's fields.
const (
	maxKeyName     = 128
	maxKeyCIDRs    = 64
	maxGraceSecond = 30 * 24 * 3600
	// defaultGrace is how long a rotated key keeps working (spec §7).
	defaultGrace = 24 * time.Hour
	// minTokenLifetime is the shortest lifetime the token service issues.
	minTokenLifetime = 15 * time.Minute
)

// Access token lifetimes (PUT /v2/accounts/{id}/access_tokens).
const (
	minAccessTokenSeconds = 900
	maxAccessTokenSeconds = 86400
)

var (
	// errScopeExceeds refuses to create a key or token that could do
	// more than its creator.
	errScopeExceeds = &identity.Error{Code: identity.EForbidden, Message: "requested scopes exceed the caller's"}
	// errNotOwnKey refuses a plain user a key it did not create.
	errNotOwnKey = &identity.Error{Code: identity.EForbidden, Message: "the key belongs to another user"}
	// errOwnAccountOnly refuses an access token for another account.
	errOwnAccountOnly = &identity.Error{Code: identity.EForbidden, Message: "access tokens are issued for the caller's own account"}
	// errSystemOnly refuses signing-key rotation to anyone but a system
	// account's admin.
	errSystemOnly = &identity.Error{Code: identity.EForbidden, Message: "only a system administrator may rotate signing keys"}
)

// listNamedKeys lists the live and expired named keys of the account
// (revoked ones are gone); a plain user sees only its own.
func (a *API) listNamedKeys(c *call) (*reply, error) {
	id := c.target.acct.ID
	keep := func(k *identity.APIKey) bool {
		return k.Kind == identity.KeyKindNamed && k.RevokedAt.IsZero() && a.mayManage(c.p, k)
	}
	fetch := func(p identity.Page) ([]*identity.APIKey, string, error) {
		return collect(func(p identity.Page) ([]*identity.APIKey, string, error) {
			return a.store.APIKeys(c.ctx, id, p)
		}, p, keep)
	}
	return listReply(c, fetch, func(k *identity.APIKey) any { return a.renderKey(k, c.now) })
}

// createNamedKey makes a named key (PUT /v2/accounts/{id}/api_keys) and
// shows its secret this once; only its hash is stored.
func (a *API) createNamedKey(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	name, ok := schemaString(data, v, "name", 1, maxKeyName)
	if !ok && len(v) == 0 {
		v.Add("name", "required", fieldRequired)
	}
	scopes := parseScopes(data, v)
	cidrs := parseCIDRs(data, v)
	expires := parseExpiry(data, v, c.now)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !c.p.MayGrant(scopes) {
		return nil, errScopeExceeds
	}
	k, secret := manage.NewNamedKey(c.target.acct.ID, name, scopes, cidrs, c.p.UserID, expires)
	if err := a.store.CreateAPIKey(c.ctx, k); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	d := a.renderKey(k, c.now)
	d["api_key"] = secret
	return &reply{
		status:   http.StatusCreated,
		secret:   true,
		data:     d,
		revision: k.Revision,
		location: "/v2/accounts/" + k.AccountID + "/api_keys/" + k.ID,
	}, nil
}

// getNamedKey returns one key's metadata.
func (a *API) getNamedKey(c *call) (*reply, error) {
	k, err := a.namedKey(c)
	if err != nil {
		return nil, err
	}
	return &reply{data: a.renderKey(k, c.now), revision: k.Revision, etag: etag(k.Revision)}, nil
}

// patchNamedKey changes a key's name, scopes or allowed_cidrs; a null
// scopes or allowed_cidrs removes the limit. Other fields are ignored:
// the secret, the owner and the expiry are not the client's to change.
func (a *API) patchNamedKey(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	name, hasName := schemaString(data, v, "name", 1, maxKeyName)
	if raw, present := data["name"]; present && raw == nil {
		v.Add("name", "required", fieldRequired)
	}
	_, hasScopes := data["scopes"]
	scopes := parseScopes(data, v)
	_, hasCIDRs := data["allowed_cidrs"]
	cidrs := parseCIDRs(data, v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := a.namedKey(c); err != nil {
		return nil, err
	}
	ifMatch := ifMatch(c.r)
	k, err := a.store.UpdateAPIKey(c.ctx, c.target.acct.ID, c.r.PathValue("key_id"), func(k *identity.APIKey) error {
		if !k.RevokedAt.IsZero() {
			return identity.ErrNotFound
		}
		if ifMatch != "" && ifMatch != k.Revision {
			return identity.ErrConflict
		}
		if hasName {
			k.Name = name
		}
		if hasScopes {
			k.Scopes = scopes
		}
		if hasCIDRs {
			k.AllowedCIDRs = cidrs
		}
		// Checked on the result: a scoped caller may narrow a key it
		// manages but never widen one past its own scopes.
		if !c.p.MayGrant(k.Scopes) {
			return errScopeExceeds
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: a.renderKey(k, c.now), revision: k.Revision}, nil
}

// revokeNamedKey revokes a key (DELETE .../api_keys/{key_id}). The store
// appends a Cutoff event for the key, so every token it minted is refused
// on every node as soon as each follows the change feed.
func (a *API) revokeNamedKey(c *call) (*reply, error) {
	if _, err := a.namedKey(c); err != nil {
		return nil, err
	}
	k, err := a.store.UpdateAPIKey(c.ctx, c.target.acct.ID, c.r.PathValue("key_id"), func(k *identity.APIKey) error {
		if !k.RevokedAt.IsZero() {
			return identity.ErrNotFound // revoking succeeds exactly once
		}
		k.RevokedAt = c.now
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	d := a.renderKey(k, c.now)
	d["_read_only"] = map[string]any{"deleted": true}
	return &reply{data: d, revision: k.Revision}, nil
}

// rotateNamedKey replaces a key by a new one with the same name, scopes,
// addresses and owner (PUT .../api_keys/{key_id}/rotate). The old key
// keeps working for grace_seconds (default a day); 0 revokes it, and its
// tokens, at once. The new key is stored first, so that a failure never
// leaves the client without a working key.
func (a *API) rotateNamedKey(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	grace := defaultGrace
	if raw, present := data["grace_seconds"]; present && raw != nil {
		n, ok := raw.(float64)
		if !ok || n != math.Trunc(n) || n < 0 || n > maxGraceSecond {
			v := identity.Violations{}
			v.Add("grace_seconds", "range", identity.Violation{
				Message: "Value must be a whole number of seconds from 0 to " + strconv.Itoa(maxGraceSecond), Target: maxGraceSecond})
			return nil, v.Err()
		}
		grace = time.Duration(n) * time.Second
	}
	old, err := a.namedKey(c)
	if err != nil {
		return nil, err
	}
	if !old.Live(c.now) {
		// An expired key (or one already rotated past its grace) has
		// nothing left to hand over.
		return nil, identity.ErrNotFound
	}
	if !c.p.MayGrant(old.Scopes) {
		return nil, errScopeExceeds
	}
	k, secret, end, err := manage.RotateNamedKey(c.ctx, a.store, old, grace, c.now)
	if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	d := a.renderKey(k, c.now)
	d["api_key"] = secret
	d["rotated_from"] = old.ID
	d["previous_expires_at"] = rfc3339(end)
	return &reply{
		status:   http.StatusCreated,
		secret:   true,
		data:     d,
		revision: k.Revision,
		location: "/v2/accounts/" + k.AccountID + "/api_keys/" + k.ID,
	}, nil
}

// namedKey loads the live named key of the path that the caller may
// manage. Account keys and revoked keys are not found here.
func (a *API) namedKey(c *call) (*identity.APIKey, error) {
	id := c.r.PathValue("key_id")
	if !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	k, err := a.store.APIKey(c.ctx, c.target.acct.ID, id)
	if err != nil {
		return nil, err
	}
	if k.Kind != identity.KeyKindNamed || !k.RevokedAt.IsZero() {
		return nil, identity.ErrNotFound
	}
	if !a.mayManage(c.p, k) {
		return nil, errNotOwnKey
	}
	return k, nil
}

// mayManage reports whether p may see and change k: an admin any key it
// reaches, a plain user the keys it created.
func (a *API) mayManage(p *identity.Principal, k *identity.APIKey) bool {
	return p.Role == identity.RoleAdmin || (p.UserID != "" && k.CreatedBy == p.UserID)
}

// renderKey is a key's metadata. The secret is never part of it; the
// last use still waiting in memory is, so that a client sees its own
// requests at once on the node it talks to.
func (a *API) renderKey(k *identity.APIKey, now time.Time) map[string]any {
	usedAt, usedIP := k.LastUsedAt, k.LastUsedIP
	if u, ok := a.keyUses.peek(k.ID); ok && u.At.After(usedAt) {
		usedAt, usedIP = u.At, u.IP
	}
	status := "active"
	if !k.Live(now) {
		status = "expired"
	}
	d := map[string]any{
		"id":            k.ID,
		"name":          k.Name,
		"prefix":        k.Prefix,
		"scopes":        k.Scopes,
		"allowed_cidrs": k.AllowedCIDRs,
		"created":       gregorian(k.Created),
		"expires_at":    nil,
		"last_used_at":  nil,
		"last_used_ip":  nil,
		"rotation_due":  k.RotationDue(now, a.cfg.KeyRotation),
		"status":        status,
	}
	if k.Scopes == nil {
		d["scopes"] = nil
	}
	if k.AllowedCIDRs == nil {
		d["allowed_cidrs"] = []string{}
	}
	if !k.ExpiresAt.IsZero() {
		d["expires_at"] = rfc3339(k.ExpiresAt)
	}
	if !usedAt.IsZero() {
		d["last_used_at"] = rfc3339(usedAt)
		d["last_used_ip"] = usedIP
	}
	return d
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// parseScopes reads data.scopes: absent or null means no limit (nil), else
// a non-empty list of known scope names.
func parseScopes(data map[string]any, v identity.Violations) []string {
	raw, present := data["scopes"]
	if !present || raw == nil {
		return nil
	}
	list, ok := stringList(raw)
	if !ok {
		v.Add("scopes", "type", identity.Violation{Message: "Value did not match type(s): array of strings"})
		return nil
	}
	if len(list) == 0 {
		v.Add("scopes", "minItems", identity.Violation{Message: "The list must have at least 1 items", Target: 1})
		return nil
	}
	scopes, err := identity.ValidateScopes("scopes", list)
	var e *identity.Error
	if errors.As(err, &e) {
		for field, rules := range e.Fields {
			for rule, viol := range rules {
				v.Add(field, rule, viol)
			}
		}
		return nil
	}
	return scopes
}

// parseCIDRs reads data.allowed_cidrs: addresses or CIDR prefixes, stored
// in canonical masked form; an address is its own /32 or /128.
func parseCIDRs(data map[string]any, v identity.Violations) []string {
	raw, present := data["allowed_cidrs"]
	if !present || raw == nil {
		return nil
	}
	list, ok := stringList(raw)
	if !ok {
		v.Add("allowed_cidrs", "type", identity.Violation{Message: "Value did not match type(s): array of strings"})
		return nil
	}
	if len(list) > maxKeyCIDRs {
		v.Add("allowed_cidrs", "maxItems", identity.Violation{Message: "The list must not have more than " + strconv.Itoa(maxKeyCIDRs) + " items", Target: maxKeyCIDRs})
		return nil
	}
	out, err := manage.CanonicalCIDRs(list)
	if err != nil {
		v.Add("allowed_cidrs", "format", identity.Violation{Message: "Value is not an IP address or a CIDR prefix", Target: "cidr"})
		return nil
	}
	return out
}

// parseExpiry reads data.expires_at: an RFC 3339 time or Unix seconds, in
// the future.
func parseExpiry(data map[string]any, v identity.Violations, now time.Time) time.Time {
	raw, present := data["expires_at"]
	if !present || raw == nil {
		return time.Time{}
	}
	var t time.Time
	switch x := raw.(type) {
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, x); err != nil {
			v.Add("expires_at", "format", identity.Violation{Message: "Value is not a RFC 3339 time or a number of seconds"})
			return time.Time{}
		}
	case float64:
		if x != math.Trunc(x) || x <= 0 || x > 1<<40 {
			v.Add("expires_at", "format", identity.Violation{Message: "Value is not a RFC 3339 time or a number of seconds"})
			return time.Time{}
		}
		t = time.Unix(int64(x), 0)
	default:
		v.Add("expires_at", "type", identity.Violation{Message: "Value did not match type(s): string, integer"})
		return time.Time{}
	}
	if !t.After(now) {
		v.Add("expires_at", "minimum", identity.Violation{Message: "Value must be in the future"})
		return time.Time{}
	}
	return t.UTC()
}

// stringList returns raw as a list of strings.
func stringList(raw any) ([]string, bool) {
	items, ok := raw.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// keyClaims are the claims and lifetime of a token for a key login: a
// named key's scopes and address binding, and the user it acts as.
func (a *API) keyClaims(c *call, in login.KeyLogin) (identity.Claims, time.Duration) {
	key := in.Key
	claims := identity.Claims{
		AccountID: key.AccountID,
		Method:    identity.MethodAPIAuth,
		KeyID:     key.ID,
		PrivLevel: identity.RoleAdmin,
		Scopes:    key.Scopes,
	}
	lifetime := a.cfg.TokenLifetime
	if key.Kind == identity.KeyKindNamed {
		claims.CIDRs = key.AllowedCIDRs
		if in.Owner != nil {
			claims.PrivLevel, claims.OwnerID = identity.RoleUser, in.Owner.ID
		}
		// A token must not outlive its key by more than the shortest
		// lifetime the token service issues.
		if !key.ExpiresAt.IsZero() {
			if left := key.ExpiresAt.Sub(c.now); left < lifetime {
				lifetime = max(left, minTokenLifetime)
			}
		}
	}
	a.keyUses.add(identity.KeyUse{KeyID: key.ID, At: c.now, IP: c.info.ClientIP})
	return claims, lifetime
}

// createAccessToken mints a short-lived token that can do no more than
// its caller and no more than asked (PUT /v2/accounts/{id}/access_tokens).
// It carries the caller's user and key ids, so that whatever revokes the
// caller's identity revokes it too, the caller's session, so that revoking
// the caller's token revokes it, and the caller's method, so that token
// restrictions on that method still apply to it. It never outlives the
// caller's token.
func (a *API) createAccessToken(c *call) (*reply, error) {
	if c.target.acct.ID != c.p.AccountID {
		return nil, errOwnAccountOnly
	}
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	scopes := parseScopes(data, v)
	if scopes == nil && len(v) == 0 {
		v.Add("scopes", "required", fieldRequired)
	}
	lifetime := a.cfg.TokenLifetime
	if raw, present := data["expires_in"]; present && raw != nil {
		n, ok := raw.(float64)
		if !ok || n != math.Trunc(n) || n < minAccessTokenSeconds || n > maxAccessTokenSeconds {
			v.Add("expires_in", "range", identity.Violation{
				Message: "Value must be a whole number of seconds from 900 to 86400", Target: []int{minAccessTokenSeconds, maxAccessTokenSeconds}})
		} else {
			lifetime = time.Duration(n) * time.Second
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !c.p.MayGrant(scopes) {
		return nil, errScopeExceeds
	}
	token, claims, err := a.tokens.Issue(identity.Claims{
		AccountID: c.p.AccountID,
		OwnerID:   c.p.UserID,
		Method:    c.p.Method,
		KeyID:     c.p.KeyID,
		PrivLevel: c.p.Role,
		Scopes:    scopes,
		CIDRs:     c.p.CIDRs,
		SessionID: c.p.SessionID,
		AuthTime:  c.p.AuthTime.Unix(),
		ExpiresAt: c.p.ExpiresAt.Unix(),
	}, lifetime)
	if err != nil {
		return nil, err
	}
	return &reply{
		status: http.StatusCreated,
		secret: true,
		data: map[string]any{
			"access_token": token,
			"token_type":   "Bearer",
			"expires_in":   claims.ExpiresAt - claims.IssuedAt,
			"expires_at":   rfc3339(time.Unix(claims.ExpiresAt, 0)),
			"scopes":       claims.Scopes,
			"jti":          claims.ID,
		},
		revision: "automatic",
	}, nil
}

// SigningKeyRotator rotates the token-signing key (*token.Service).
type SigningKeyRotator interface {
	Rotate(ctx context.Context) (kid string, err error)
}

// rotateSigningKey makes a new key sign tokens (PUT
// /v2/auth/signing_keys/rotate); the old ones keep verifying until their
// last token expires. Only a system account's admin may do it: it
// concerns every account.
func (a *API) rotateSigningKey(c *call) (*reply, error) {
	if !c.p.System || c.p.Role != identity.RoleAdmin {
		return nil, errSystemOnly
	}
	r, ok := a.tokens.(SigningKeyRotator)
	if !ok {
		return nil, identity.Errorf(identity.EInternal, "the token service cannot rotate keys")
	}
	kid, err := r.Rotate(c.ctx)
	if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	ids := a.tokens.KeyIDs()
	if ids == nil {
		ids = []string{}
	}
	return &reply{status: http.StatusCreated, data: map[string]any{"kid": kid, "keys": ids}, revision: "automatic"}, nil
}

// keyUses collects the uses of API keys between flushes, latest per key,
// so that api_auth costs no database write.
type keyUses struct {
	mu      sync.Mutex
	pending map[string]identity.KeyUse
}

func newKeyUses() *keyUses { return &keyUses{pending: map[string]identity.KeyUse{}} }

func (u *keyUses) add(use identity.KeyUse) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if old, ok := u.pending[use.KeyID]; !ok || use.At.After(old.At) {
		u.pending[use.KeyID] = use
	}
}

func (u *keyUses) peek(id string) (identity.KeyUse, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	use, ok := u.pending[id]
	return use, ok
}

// take empties the collection and returns what it held.
func (u *keyUses) take() []identity.KeyUse {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.pending) == 0 {
		return nil
	}
	out := make([]identity.KeyUse, 0, len(u.pending))
	for _, use := range u.pending {
		out = append(out, use)
	}
	clear(u.pending)
	return out
}

// FlushKeyUses writes the key uses collected since the last flush, in one
// Store call. Uses that fail to be written are kept for the next flush.
func (a *API) FlushKeyUses(ctx context.Context) error {
	uses := a.keyUses.take()
	if len(uses) == 0 {
		return nil
	}
	if err := a.store.RecordKeyUse(ctx, uses); err != nil {
		for _, use := range uses {
			a.keyUses.add(use)
		}
		return err
	}
	return nil
}

// RunKeyUses flushes key uses every interval until ctx ends. The caller
// flushes once more after the server has stopped, so that a graceful stop
// loses none.
func (a *API) RunKeyUses(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.FlushKeyUses(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("recording API key uses failed", "error", err.Error())
			}
		}
	}
}
