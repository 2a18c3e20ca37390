package identity

import "context"

// Permissions on an account's token restrictions. They are separate from
// AccountsWrite so that an API key can be scoped to manage accounts without
// being able to lift the restrictions its own tokens run under.
const (
	RestrictionsRead  Permission = "token_restrictions:read"
	RestrictionsWrite Permission = "token_restrictions:write"
)

// TokenRestrictionStore keeps each account's token restrictions (Kazoo's
// token_restrictions document): which endpoints, arguments and methods the
// tokens of the account may use. The Store keeps the document as opaque
// JSON text, byte for byte, because the order of its rule keys decides
// which rule matches first; crossbar validates and interprets it.
type TokenRestrictionStore interface {
	// TokenRestrictions returns the restrictions document of the account,
	// or nil when it has none. It returns ErrNotFound when the account
	// does not exist.
	TokenRestrictions(ctx context.Context, accountID string) ([]byte, error)
	// SetTokenRestrictions stores doc (a JSON object) as the account's
	// restrictions, or removes them when doc is nil; removing absent
	// restrictions is not an error. It returns ErrNotFound when the account
	// does not exist, and appends an EventAccount event for the account, so
	// that every process drops the restrictions it cached. Restrictions go
	// with their account when it is deleted.
	SetTokenRestrictions(ctx context.Context, accountID string, doc []byte) error
}
