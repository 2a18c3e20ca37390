package identity

import (
	"context"
	"time"
)

// Page asks for one page of a list, in ascending id order.
type Page struct {
	Size  int    // 1..MaxPageSize; 0 means DefaultPageSize
	After string // return items whose id sorts after this; "" for the first page
}

// Page size limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Limit returns the page size to use.
func (p Page) Limit() int {
	switch {
	case p.Size <= 0:
		return DefaultPageSize
	case p.Size > MaxPageSize:
		return MaxPageSize
	}
	return p.Size
}

// Uniqueness violations a Store reports on create and update. They are
// validation errors, so crossbar renders them as data.<field>.unique.
var (
	ErrRealmTaken    = uniqueErr("realm", "Account realm already in use")
	ErrNameTaken     = uniqueErr("name", "Account name already in use")
	ErrUsernameTaken = uniqueErr("username", "Username must be unique within account")
)

func uniqueErr(field, msg string) *Error {
	v := Violations{}
	v.Add(field, "unique", Violation{Message: msg})
	return &Error{Code: EInvalid, Message: "validation error", Fields: v}
}

// Store is audian's persistence. Implementations live in internal/sqlite
// and internal/postgres and all pass identitytest.TestStore.
//
// Contract shared by every method:
//   - A missing row is ErrNotFound (compare with errors.Is).
//   - Writes set Revision (a new value on every write), Created and Modified
//     from the Store's clock.
//   - Every write that changes an account, user, API key or signing key, and
//     every token revocation, appends an Event in the same transaction.
//   - Update methods run fn on the current value inside a transaction that
//     excludes concurrent updates of the same row; an error from fn aborts
//     and is returned as is. fn must not change ids, and must not call the
//     Store (a backend may hold its only write connection while fn runs).
//   - Returned values are copies the caller may keep and modify.
type Store interface {
	LoginStore            // login.go: account lookup by name and realm, password resets
	AuditStore            // audit.go: the append-only audit log
	LimitStore            // limits.go: rate limit overrides, shared buckets, failure counters
	TokenRestrictionStore // restrictions.go: per-account token restrictions
	KeyUseStore           // namedkeys.go: batched last-use stamps of API keys
	OAuthStore            // oauth.go: OAuth applications, grants, codes and refresh tokens
	WebSessionStore       // websession.go: the portal's server-side sessions
	TreeStore             // tree.go: children with their subtree sizes
	WhitelabelStore       // whitelabel.go: per-account branding, looked up by domain
	AppsStore             // apps.go: the app catalogue, installs and blacklists
	AlertStore            // alerts.go: per-account alerts
	LimitsDocStore        // limitsdoc.go: Kazoo's per-account limits document, stored only
	LoginAddressStore     // knownaddr.go: addresses where a login succeeded

	// Bootstrap creates the first account (a system account), its admin
	// user and its account API key in one transaction. It returns
	// ErrBootstrapped when any account exists.
	Bootstrap(ctx context.Context, a *Account, u *User, k *APIKey) error

	// CreateAccount stores a new account whose ParentID (when set) must
	// exist (else ErrNotFound). It returns ErrRealmTaken or ErrNameTaken when
	// the lower-cased realm or the normalized name is in use.
	CreateAccount(ctx context.Context, a *Account) error
	Account(ctx context.Context, id string) (*Account, error)
	UpdateAccount(ctx context.Context, id string, fn func(*Account) error) (*Account, error)
	// DeleteAccount removes an account with its users and keys. It returns
	// ErrHasChildren while the account has children, and succeeds exactly
	// once. The Event it appends carries a Cutoff.
	DeleteAccount(ctx context.Context, id string) error
	// Children lists the direct children of id.
	Children(ctx context.Context, id string, p Page) (items []*Account, next string, err error)
	// Descendants lists every account below id, at any depth.
	Descendants(ctx context.Context, id string, p Page) (items []*Account, next string, err error)

	// CreateUser stores a new user in an existing account (else ErrNotFound).
	// It returns ErrUsernameTaken when the username is in use in the account.
	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, accountID, id string) (*User, error)
	UserByUsername(ctx context.Context, accountID, username string) (*User, error)
	// UserByCredentialLookup finds the user whose Credentials.MD5Lookup
	// (method "md5") or SHA1Lookup (method "sha") equals lookup.
	UserByCredentialLookup(ctx context.Context, accountID, method, lookup string) (*User, error)
	UpdateUser(ctx context.Context, accountID, id string, fn func(*User) error) (*User, error)
	// DeleteUser removes a user and succeeds exactly once. The Event it
	// appends carries a Cutoff.
	DeleteUser(ctx context.Context, accountID, id string) error
	Users(ctx context.Context, accountID string, p Page) (items []*User, next string, err error)

	// CreateAPIKey stores a new key; its hash must be unique.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash finds a key by the SHA-256 of its secret, live or not.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	APIKey(ctx context.Context, accountID, id string) (*APIKey, error)
	// AccountKey returns the account's live KeyKindAccount key.
	AccountKey(ctx context.Context, accountID string) (*APIKey, error)
	// ReplaceAccountKey revokes the account's live KeyKindAccount key (if
	// any) as of now, with a Cutoff Event, and stores k, in one transaction.
	ReplaceAccountKey(ctx context.Context, k *APIKey) error
	APIKeys(ctx context.Context, accountID string, p Page) (items []*APIKey, next string, err error)
	UpdateAPIKey(ctx context.Context, accountID, id string, fn func(*APIKey) error) (*APIKey, error)

	// SigningKeys returns the whole key ring, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	AddSigningKey(ctx context.Context, k *SigningKey) error
	UpdateSigningKey(ctx context.Context, id string, fn func(*SigningKey) error) (*SigningKey, error)

	// RevokeToken records that the token with jti is refused until it
	// expires. Revoking twice is not an error.
	RevokeToken(ctx context.Context, jti string, expires time.Time) error
	// Events returns up to limit events with Seq > after, in Seq order.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	// PruneEvents deletes events created before t and returns how many.
	PruneEvents(ctx context.Context, before time.Time) (int, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}
