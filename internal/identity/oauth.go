package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OAuth client types (RFC 6749 section 2.1).
const (
	ClientConfidential = "confidential"
	ClientPublic       = "public"
)

// OAuth grant types an application may be registered for. The implicit
// and password grants are deliberately absent (RFC 9700).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// OAuthGrantTypes lists the grant types an application may name.
var OAuthGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode}

// OpenID Connect scopes an application may ask for besides the API scopes.
var OIDCScopes = []string{"openid", "profile", "email", "offline_access"}

// OAuthAPIScopes are the API scopes an OAuth token may carry: the named-key
// vocabulary without those that would let a third party mint credentials
// or read the audit log.
var OAuthAPIScopes = []string{
	string(AccountsRead), string(AccountsWrite), string(UsersRead), string(UsersWrite),
	string(KeysRead), string(KeysWrite), string(TokensRead),
}

// OAuthScopes returns every scope an application may be registered for.
func OAuthScopes() []string { return append(slices.Clone(OIDCScopes), OAuthAPIScopes...) }

// OAuthApp is a registered OAuth client. Its ID is the client_id. Only
// hashes of its secrets are stored.
type OAuthApp struct {
	ID           string
	AccountID    string
	Name         string
	ClientType   string // ClientConfidential or ClientPublic
	RedirectURIs []string
	GrantTypes   []string
	Scopes       []string
	// JWKS is the client's public key set (JSON) for private_key_jwt;
	// empty when the client authenticates with a secret.
	JWKS string
	// SecretHash is the SHA-256 of the client secret (confidential only).
	SecretHash []byte
	// PrevSecretHash keeps working until PrevSecretUntil after a rotation,
	// so that a client can be redeployed without an outage.
	PrevSecretHash  []byte
	PrevSecretUntil time.Time
	CreatedBy       string // user id, "" when created with an API key
	Created         time.Time
	Modified        time.Time
	Revision        string
}

// MaxRedirectURILen bounds a registered redirect URI.
const MaxRedirectURILen = 512

// ValidRedirectURI accepts an absolute https URL, or http on a loopback
// address (RFC 8252 section 7.3), without fragment or user info: RFC 9700
// matches redirect URIs exactly, so they must be exact to begin with.
func ValidRedirectURI(s string) bool {
	if len(s) > MaxRedirectURILen || strings.ContainsAny(s, " \t\r\n\x00") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		if u.Hostname() == "localhost" {
			return true
		}
		addr, err := netip.ParseAddr(u.Hostname())
		return err == nil && addr.IsLoopback()
	}
	return false
}

// NewClientSecret returns a new client secret: 256 random bits, shown
// once; only OAuthSecretHash of it is stored.
func NewClientSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("identity: crypto/rand failed: " + err.Error())
	}
	return "acs_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// OAuthSecretHash is the stored form of a client secret, an authorization
// code or a refresh token: all are 256-bit random values, for which one
// SHA-256 is as strong as a slow hash and lets the Store find them.
func OAuthSecretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretMatches reports whether secret is a's client secret, or its
// previous one within the grace period after a rotation.
func (a *OAuthApp) SecretMatches(secret string, now time.Time) bool {
	if secret == "" || len(a.SecretHash) == 0 {
		return false
	}
	h := OAuthSecretHash(secret)
	ok := subtle.ConstantTimeCompare(h, a.SecretHash) == 1
	prev := subtle.ConstantTimeCompare(h, a.PrevSecretHash) == 1 && now.Before(a.PrevSecretUntil)
	return ok || prev
}

// OAuthGrant is one user's consent to one application: the scopes the
// user allowed. Its ID is the key_id of every token issued under it, so
// that removing it revokes them on every node.
type OAuthGrant struct {
	ID        string
	AccountID string // the user's account
	UserID    string
	AppID     string
	Scopes    []string
	Created   time.Time
	Modified  time.Time
}

// OAuth ticket kinds.
const (
	TicketAuthRequest = "auth_request"
	TicketDevice      = "device"
)

// OAuthTicket is a short-lived step of a flow: an authorization request
// (and the code it turns into) or a device authorization. The Store keeps
// Data opaque; the oauth package owns its format.
type OAuthTicket struct {
	ID    string
	Kind  string
	AppID string
	// CodeHash is the SHA-256 of the authorization code or device code;
	// unique when set.
	CodeHash []byte
	// UserCode is the code a person types on the device page; unique
	// when set.
	UserCode  string
	Data      []byte
	ExpiresAt time.Time
	// UsedAt is set once, by UseOAuthTicket, when the code is exchanged.
	UsedAt  time.Time
	Created time.Time
}

// OAuthRefresh is one refresh token. Tokens of one FamilyID descend from
// one authorization by rotation; only the newest may be used, and using an
// older one revokes the family.
type OAuthRefresh struct {
	Hash      []byte // SHA-256 of the token; unique
	FamilyID  string
	GrantID   string
	AppID     string
	AccountID string
	UserID    string
	Scopes    []string
	AuthTime  time.Time
	// AccessJTI is the jti of the access token issued with this refresh
	// token, revoked with the family.
	AccessJTI     string
	AccessExpires time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until rotated
	Created       time.Time
}

// ErrRefreshReused is what RotateOAuthRefresh returns for a refresh token
// that was already rotated: the family is gone by then.
var ErrRefreshReused = &Error{Code: EConflict, Message: "refresh token reused"}

// ErrTicketUsed is what UseOAuthTicket returns for a code already used.
var ErrTicketUsed = &Error{Code: EConflict, Message: "code already used"}

// OAuthStore holds the OAuth provider's records. Writes that remove an
// application or a grant append an EventAPIKey with a Cutoff for the
// grant (and the application) ids, which are the key_id of the OAuth
// tokens they issued, so that every node refuses those tokens.
type OAuthStore interface {
	// CreateOAuthApp stores a in an existing account (else ErrNotFound).
	CreateOAuthApp(ctx context.Context, a *OAuthApp) error
	// OAuthApp returns the application whose client_id is id.
	OAuthApp(ctx context.Context, id string) (*OAuthApp, error)
	OAuthApps(ctx context.Context, accountID string, p Page) (items []*OAuthApp, next string, err error)
	UpdateOAuthApp(ctx context.Context, id string, fn func(*OAuthApp) error) (*OAuthApp, error)
	// DeleteOAuthApp removes an application with its grants, refresh
	// tokens and tickets, and succeeds exactly once.
	DeleteOAuthApp(ctx context.Context, id string) error

	// SaveOAuthGrant creates or replaces the grant of g.UserID to g.AppID
	// (the user and the application must exist, else ErrNotFound) and sets
	// g.ID, which is kept across replacements.
	SaveOAuthGrant(ctx context.Context, g *OAuthGrant) error
	// OAuthGrant returns the grant of userID to appID.
	OAuthGrant(ctx context.Context, userID, appID string) (*OAuthGrant, error)
	// OAuthGrants lists a user's grants, in id order.
	OAuthGrants(ctx context.Context, accountID, userID string, p Page) (items []*OAuthGrant, next string, err error)
	// DeleteOAuthGrant removes a grant with its refresh tokens and
	// succeeds exactly once.
	DeleteOAuthGrant(ctx context.Context, accountID, userID, id string) error

	// CreateOAuthTicket stores t (a CodeHash or UserCode in use is
	// EConflict) and removes tickets that expired before now.
	CreateOAuthTicket(ctx context.Context, t *OAuthTicket) error
	// OAuthTicket returns a ticket by id; an expired one is ErrNotFound.
	OAuthTicket(ctx context.Context, id string) (*OAuthTicket, error)
	// OAuthTicketByCode returns the ticket of kind whose CodeHash is hash,
	// used or not; an expired one is ErrNotFound.
	OAuthTicketByCode(ctx context.Context, kind string, hash []byte) (*OAuthTicket, error)
	// OAuthTicketByUserCode returns the unexpired device ticket whose
	// UserCode is code.
	OAuthTicketByUserCode(ctx context.Context, code string) (*OAuthTicket, error)
	UpdateOAuthTicket(ctx context.Context, id string, fn func(*OAuthTicket) error) (*OAuthTicket, error)
	// UseOAuthTicket sets UsedAt to now on an unexpired ticket. It
	// succeeds once however many callers race; later calls return the
	// ticket with ErrTicketUsed.
	UseOAuthTicket(ctx context.Context, id string, now time.Time) (*OAuthTicket, error)
	DeleteOAuthTicket(ctx context.Context, id string) error

	// CreateOAuthRefresh stores r; its grant must exist (else ErrNotFound).
	CreateOAuthRefresh(ctx context.Context, r *OAuthRefresh) error
	// OAuthRefresh returns the unexpired refresh token whose Hash is hash,
	// used or not.
	OAuthRefresh(ctx context.Context, hash []byte) (*OAuthRefresh, error)
	// RotateOAuthRefresh marks the token whose Hash is old used and stores
	// next in its family, in one transaction, and returns the old token.
	// It succeeds once per token however many callers race: a token
	// already used makes it revoke the whole family (rows removed, their
	// access tokens revoked) and return ErrRefreshReused.
	RotateOAuthRefresh(ctx context.Context, old []byte, next *OAuthRefresh, now time.Time) (*OAuthRefresh, error)
	// RevokeOAuthFamily removes a family and revokes its access tokens.
	// Revoking an unknown family is not an error.
	RevokeOAuthFamily(ctx context.Context, familyID string) error
}
