// Package manage holds the operations on users' credentials and API keys
// that both faces which change them, crossbar's /v2 API and the web
// portal, must perform identically: hashing a password into every stored
// credential form, making account and named keys, and rotating a named
// key. It sits below both, so that neither imports the other.
package manage

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// Sealer encrypts the account key for readback and keys the digest
// lookups (internal/credential).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Lookup(purpose string, data []byte) string
}

// Hasher makes slow password hashes (internal/credential).
type Hasher interface {
	Hash(password string) (string, error)
}

// Limits of a named key's fields, and of rotation.
const (
	MaxKeyName  = 128
	MaxKeyCIDRs = 64
	// DefaultGrace is how long a rotated key keeps working (spec §7).
	DefaultGrace = 24 * time.Hour
	MaxGrace     = 30 * 24 * time.Hour
)

// HashCredentials returns the slow hashes of a password, and the keyed
// lookups that let user_auth find the user from a Kazoo md5/sha digest of
// lower(username):password without the digest being stored.
func HashCredentials(sealer Sealer, hasher Hasher, username, password string) (identity.Credentials, error) {
	phc, err := hasher.Hash(password)
	if err != nil {
		return identity.Credentials{}, err
	}
	creds := identity.Credentials{Password: phc}
	if username == "" {
		return creds, nil
	}
	plain := username + ":" + password
	m, s := md5.Sum([]byte(plain)), sha1.Sum([]byte(plain))
	md5hex, sha1hex := hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
	creds.MD5Lookup = sealer.Lookup("md5", []byte(md5hex))
	creds.SHA1Lookup = sealer.Lookup("sha", []byte(sha1hex))
	if creds.MD5Hash, err = hasher.Hash(md5hex); err != nil {
		return creds, err
	}
	if creds.SHA1Hash, err = hasher.Hash(sha1hex); err != nil {
		return creds, err
	}
	return creds, nil
}

// NewAccountKey makes a Kazoo account key for accountID: the stored form
// and the secret to show once.
func NewAccountKey(s Sealer, accountID, createdBy string) (*identity.APIKey, string, error) {
	secret := credential.NewAccountKey()
	k := &identity.APIKey{
		ID:        identity.NewID(),
		AccountID: accountID,
		Kind:      identity.KeyKindAccount,
		Name:      "account key",
		Prefix:    credential.KeyPrefix(secret),
		Hash:      credential.HashKey(secret),
		CreatedBy: createdBy,
	}
	sealed, err := s.Seal([]byte(secret), []byte(k.ID))
	if err != nil {
		return nil, "", err
	}
	k.Sealed = sealed
	return k, secret, nil
}

// NewNamedKey makes the stored form of a new named key and its secret;
// only the secret's hash and prefix are kept.
func NewNamedKey(accountID, name string, scopes, cidrs []string, createdBy string, expires time.Time) (*identity.APIKey, string) {
	secret := credential.NewNamedKey()
	return &identity.APIKey{
		ID:           identity.NewID(),
		AccountID:    accountID,
		Kind:         identity.KeyKindNamed,
		Name:         name,
		Prefix:       credential.KeyPrefix(secret),
		Hash:         credential.HashKey(secret),
		Scopes:       scopes,
		AllowedCIDRs: cidrs,
		CreatedBy:    createdBy,
		ExpiresAt:    expires,
	}, secret
}

// ErrInvalidCIDR reports an allowed address that is neither an address
// nor a CIDR prefix.
var ErrInvalidCIDR = errors.New("not an IP address or a CIDR prefix")

// CanonicalCIDRs returns addresses and CIDR prefixes in canonical masked
// form, sorted without duplicates; an address is its own /32 or /128, and
// an IPv4-mapped IPv6 prefix its IPv4 prefix, which is how a client
// address compares after Unmap.
func CanonicalCIDRs(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, ErrInvalidCIDR
			}
			addr = addr.Unmap()
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked().String())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// KeyStore is what RotateNamedKey writes through.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k *identity.APIKey) error
	UpdateAPIKey(ctx context.Context, accountID, id string, fn func(*identity.APIKey) error) (*identity.APIKey, error)
}

// RotateNamedKey replaces old, a live named key, by a new one with the
// same name, scopes, addresses and owner. old keeps working for grace; 0
// revokes it, and its tokens, at once. The new key is stored first, so
// that a failure never leaves the holder without a working key. It
// returns the new key, its secret and when old stops working.
func RotateNamedKey(ctx context.Context, store KeyStore, old *identity.APIKey, grace time.Duration, now time.Time) (*identity.APIKey, string, time.Time, error) {
	end := now.Add(grace)
	// An expiry set at creation carries over; one that only marks the
	// end of an earlier rotation's grace does not reach past end.
	var expires time.Time
	if !old.ExpiresAt.IsZero() && old.ExpiresAt.After(end) {
		expires = old.ExpiresAt
	}
	// The new key keeps the old one's owner: rotating a user's key must
	// not turn it into an account-level key, or the reverse.
	k, secret := NewNamedKey(old.AccountID, old.Name, old.Scopes, old.AllowedCIDRs, old.CreatedBy, expires)
	if err := store.CreateAPIKey(ctx, k); err != nil {
		return nil, "", time.Time{}, err
	}
	_, err := store.UpdateAPIKey(ctx, old.AccountID, old.ID, func(o *identity.APIKey) error {
		if !o.RevokedAt.IsZero() {
			return nil
		}
		if grace == 0 {
			o.RevokedAt = now
		} else if o.ExpiresAt.IsZero() || o.ExpiresAt.After(end) {
			o.ExpiresAt = end
		}
		return nil
	})
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if grace == 0 {
		end = now
	}
	return k, secret, end, nil
}
