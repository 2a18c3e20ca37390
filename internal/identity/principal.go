package identity

import (
	"encoding/json"
	"strings"
	"time"
)

// Token methods, as in Kazoo's "method" claim.
const (
	MethodAPIAuth  = "cb_api_auth"
	MethodUserAuth = "cb_user_auth"
	MethodAuth     = "cb_auth"
	MethodOAuth    = "oauth"
)

// Claims are the claims of an audian auth token (a JWT). Field names are
// Kazoo's where Kazoo has them.
type Claims struct {
	Issuer    string `json:"iss"`
	AccountID string `json:"account_id"`
	OwnerID   string `json:"owner_id,omitempty"`
	Method    string `json:"method"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	// ID is a UUIDv7: unique, and its leading 48 bits are the issue time in
	// milliseconds, which revocation cutoffs are compared against (iat has
	// only second precision).
	ID        string   `json:"jti"`
	KeyID     string   `json:"key_id,omitempty"`
	PrivLevel string   `json:"priv_level,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	// CIDRs, when set, are the only client addresses the token may be used
	// from: those of the API key that minted it, carried by every token
	// derived from it.
	CIDRs []string `json:"cidrs,omitempty"`
	// SessionID is the jti of the login the token descends from: a login
	// starts a session, and refreshes and access tokens minted from a
	// token carry its session on. Revoking any token of a session revokes
	// them all.
	SessionID string `json:"sid,omitempty"`
	// AuthTime is when the session's login happened (Unix seconds, as in
	// OIDC); no token of the session lives past AuthTime plus the session
	// lifetime.
	AuthTime int64 `json:"auth_time,omitempty"`
	// NotBefore and Audience are never issued by audian's crossbar but are
	// checked when present (RFC 7519).
	NotBefore int64    `json:"nbf,omitempty"`
	Audience  Audience `json:"aud,omitempty"`
}

// Audience is a JWT "aud": one string or an array of them.
type Audience []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

// Principal is the authenticated caller of one request.
type Principal struct {
	AccountID string
	UserID    string // "" for API-key tokens
	KeyID     string // the API key that minted the token, if any
	TokenID   string
	Method    string
	Role      string
	// Scopes limit what the caller may do; nil means no limit beyond Role.
	Scopes []string
	// CIDRs are the client addresses the caller's token is bound to; nil
	// means any.
	CIDRs []string
	// SessionID and AuthTime are the token's session (Claims.SessionID)
	// and its login time; what a caller derives from its token stays in
	// that session.
	SessionID string
	AuthTime  time.Time
	// System is true when the caller's account is a system account; it is
	// read from the account at authentication, never from the token.
	System    bool
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Reaches reports whether p may address account a at all: its own account,
// any descendant, or anything for a system account. Parents and siblings are
// never reachable.
func (p *Principal) Reaches(a *Account) bool {
	if p.System || a.ID == p.AccountID {
		return true
	}
	for _, id := range a.Tree {
		if id == p.AccountID {
			return true
		}
	}
	return false
}

// Permission names an operation on a kind of resource: "<resource>:read"
// or "<resource>:write".
type Permission string

// Permissions audian checks.
const (
	AccountsRead  Permission = "accounts:read"
	AccountsWrite Permission = "accounts:write"
	UsersRead     Permission = "users:read"
	UsersWrite    Permission = "users:write"
	KeysRead      Permission = "keys:read"
	KeysWrite     Permission = "keys:write"
	TokensRead    Permission = "tokens:read"
)

// Can reports whether p's role and scopes allow perm. self is true when the
// request addresses p's own user record, which a plain user may read and
// update (crossbar forbids it to change its own priv_level separately), or
// the named API keys of p's own account, of which a plain user manages
// those it created.
func (p *Principal) Can(perm Permission, self bool) bool {
	if p.Scopes != nil && !scopeAllows(p.Scopes, perm) {
		return false
	}
	if p.Role == RoleAdmin {
		return true
	}
	switch perm {
	case AccountsRead, TokensRead, TokensWrite:
		return true
	case UsersRead, UsersWrite:
		return self
	case KeysRead, KeysWrite:
		// A plain user manages the named keys it created; self is true on
		// the routes where the handler keeps it to those (crossbar
		// namedkeys.go).
		return self
	}
	return false
}

// scopeAllows reports whether scopes grant perm. "<resource>:write" implies
// read, and "*" grants everything.
func scopeAllows(scopes []string, perm Permission) bool {
	resource, op, _ := strings.Cut(string(perm), ":")
	for _, s := range scopes {
		if s == "*" || s == string(perm) || (op == "read" && s == resource+":write") {
			return true
		}
	}
	return false
}
