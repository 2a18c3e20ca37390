package identity

import (
	"context"
	"time"
)

// PasswordReset is a pending password recovery: a single-use token that
// lets the holder set a user's password until it expires. Only the hash of
// the token is stored, so that a copy of the database cannot be used to
// take over accounts.
type PasswordReset struct {
	Hash      []byte // SHA-256 of the reset token; unique
	AccountID string
	UserID    string
	ExpiresAt time.Time
	Created   time.Time
}

// LoginStore holds what user_auth and password recovery need beyond the
// core Store: finding an account from what a person types at a login
// prompt, and single-use reset tokens.
type LoginStore interface {
	// AccountsByName returns the accounts whose normalized name
	// (NormalizeName) equals the normalized form of name, in id order. A
	// name that normalizes to "" matches no account. While account names
	// are unique the list holds at most one account.
	AccountsByName(ctx context.Context, name string) ([]*Account, error)
	// AccountByRealm returns the account whose realm equals realm, compared
	// case-insensitively. An empty realm matches nothing (ErrNotFound).
	AccountByRealm(ctx context.Context, realm string) (*Account, error)

	// CreatePasswordReset stores r for an existing user of r.AccountID
	// (else ErrNotFound) and sets r.Created from the Store's clock. It
	// replaces every earlier reset of the same user, so that only the
	// newest token works and a user has at most one pending reset.
	CreatePasswordReset(ctx context.Context, r *PasswordReset) error
	// ConsumePasswordReset removes and returns the reset whose Hash is hash.
	// It succeeds at most once per reset however many callers race. A reset
	// that has expired at now (now is not before ExpiresAt) is removed too,
	// and reported as ErrNotFound like an unknown or used one. now is the
	// caller's clock, so that the instant a token stops working is the one
	// the API reasons about.
	ConsumePasswordReset(ctx context.Context, hash []byte, now time.Time) (*PasswordReset, error)
}
