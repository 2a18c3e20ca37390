package identity

import (
	"context"
	"time"
)

// LoginAddressStore remembers where logins succeeded, so that the guard's
// per-identity tier, which slows guessing spread over many addresses, never
// slows the owner at an address they signed in from before. Keys are
// opaque hashes of an identity and an address formed by the guard, never
// what a person typed.
type LoginAddressStore interface {
	// RememberLoginAddress records a successful login for key at the
	// Store's now, creating the marker or refreshing its time.
	RememberLoginAddress(ctx context.Context, key string) error
	// KnownLoginAddress reports whether key was remembered at or after
	// since.
	KnownLoginAddress(ctx context.Context, key string, since time.Time) (bool, error)
	// PruneLoginAddresses deletes markers last refreshed before before.
	PruneLoginAddresses(ctx context.Context, before time.Time) (int, error)
}
