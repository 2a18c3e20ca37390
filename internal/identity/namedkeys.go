package identity

import (
	"context"
	"slices"
	"strings"
	"time"
)

// TokensWrite lets a caller mint scoped access tokens
// (PUT /v2/accounts/{id}/access_tokens). Every role holds it: a token
// minted that way can do no more than its caller.
const TokensWrite Permission = "tokens:write"

// ScopeResources are the resources a named API key or an access token can
// be scoped to, each as "<resource>:read" or "<resource>:write".
var ScopeResources = []string{"accounts", "users", "keys", "audit", "tokens"}

// Scopes returns every valid scope name, in a stable order, for the enum
// of a validation error.
func Scopes() []string {
	out := make([]string, 0, 2*len(ScopeResources))
	for _, r := range ScopeResources {
		out = append(out, r+":read", r+":write")
	}
	return out
}

// ValidateScopes checks that every scope is a known name and returns them
// sorted without duplicates. Unknown names are refused rather than
// ignored: a key meant to be read-only must not silently become something
// else because of a typo.
func ValidateScopes(field string, scopes []string) ([]string, error) {
	valid := Scopes()
	for _, s := range scopes {
		if !slices.Contains(valid, s) {
			return nil, enumErr(field, valid)
		}
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out), nil
}

func enumErr(field string, valid []string) error {
	v := Violations{}
	v.Add(field, "enum", Violation{Message: "Value not found in enumerated list of values", Target: valid})
	return v.Err()
}

// MayGrant reports whether p may hand out scopes to a key or token: each
// of them must be something p itself may do (on its own user record, for
// a plain user), so that nothing p creates can do more than p. A caller
// without scopes holds every scope its role allows; a scoped caller
// cannot create something unscoped, which the caller expresses by passing
// nil.
func (p *Principal) MayGrant(scopes []string) bool {
	if scopes == nil {
		return p.Scopes == nil
	}
	for _, s := range scopes {
		if !p.Can(Permission(s), true) {
			return false
		}
	}
	return true
}

// DefaultKeyRotation is how old a named key may grow before its metadata
// says rotation_due.
const DefaultKeyRotation = 90 * 24 * time.Hour

// RotationDue reports whether k is older than policy at now. A zero policy
// never makes a key due.
func (k *APIKey) RotationDue(now time.Time, policy time.Duration) bool {
	return policy > 0 && !k.Created.IsZero() && now.Sub(k.Created) > policy
}

// KeyUse is one authentication with an API key: when and from where. The
// API collects them in memory and records them in batches.
type KeyUse struct {
	KeyID string
	At    time.Time
	IP    string
}

// KeyUseStore records when API keys were last used.
type KeyUseStore interface {
	// RecordKeyUse sets LastUsedAt and LastUsedIP of each key from uses,
	// in one transaction, where the use is later than the stored one (so
	// that batches flushed out of order by several processes keep the
	// latest). Unknown key ids are ignored, as a key may be deleted while
	// its use waits to be flushed. It is the exception to the Store's write
	// contract: it changes neither Revision nor Modified and appends no
	// Event nor audit entry, because a usage stamp changes nothing a cache
	// or a token depends on, and one event per authenticated request would
	// flood the change feed.
	RecordKeyUse(ctx context.Context, uses []KeyUse) error
}

// LatestKeyUses returns uses with one entry per key id, the latest, in key
// id order. Backends use it so that one statement per key suffices.
func LatestKeyUses(uses []KeyUse) []KeyUse {
	latest := make(map[string]KeyUse, len(uses))
	for _, u := range uses {
		if u.KeyID == "" || u.At.IsZero() {
			continue
		}
		if old, ok := latest[u.KeyID]; !ok || u.At.After(old.At) {
			latest[u.KeyID] = u
		}
	}
	out := make([]KeyUse, 0, len(latest))
	for _, u := range latest {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b KeyUse) int { return strings.Compare(a.KeyID, b.KeyID) })
	return out
}
