package login

import (
	"context"
	"net/netip"
	"slices"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// Refusals of a valid API key secret. They say why, to the holder of the
// secret only, and count as failures like any other.
var (
	// ErrKeyOverdue refuses a named key past the rotation policy when
	// rotation is mandatory.
	ErrKeyOverdue = &identity.Error{Code: identity.EUnauthorized, Message: "api key rotation overdue"}
	// ErrKeyAddress refuses a named key used from outside its
	// allowed_cidrs.
	ErrKeyAddress = &identity.Error{Code: identity.EUnauthorized, Message: "api key not allowed from this address"}
)

// APIKey checks an API key secret (api_auth). Keys are random and long, so
// they are found by their SHA-256 and cost no hashing slot; the guard and
// the audit log treat them as any other credential.
func (d *Door) APIKey(ctx context.Context, at Attempt, secret string) (KeyLogin, error) {
	ctx, cancel := d.detach(ctx)
	defer cancel()
	a := d.attempt(at, KeyIdentity(credential.KeyPrefix(secret)))
	if err := a.check(ctx); err != nil {
		return KeyLogin{}, err
	}
	kl, key, err := d.checkKey(ctx, at, secret)
	e := identity.AuditEntry{}
	if key != nil {
		// A failure with a known key (revoked, expired, of a disabled
		// account) belongs to the key's account's log; one with an unknown
		// key to no account's.
		e.AccountID, e.ActorKind, e.Actor = key.AccountID, identity.AuditActorKey, key.ID
	}
	if identity.ErrorCode(err) == identity.EUnauthorized {
		return KeyLogin{}, a.fail(ctx, e, err)
	} else if err != nil {
		return KeyLogin{}, storeError(err)
	}
	a.succeed(ctx, e)
	return kl, nil
}

// checkKey finds and checks the key. key is the key found, if any, even
// when it is refused. Every refusal but the named-key policies is the same
// ErrUnauthorized: the reply must not say whether a key exists, was
// revoked, or belongs to a disabled account.
func (d *Door) checkKey(ctx context.Context, at Attempt, secret string) (_ KeyLogin, key *identity.APIKey, _ error) {
	if !wellFormedKey(secret) {
		return KeyLogin{}, nil, identity.ErrUnauthorized
	}
	key, err := d.store.APIKeyByHash(ctx, credential.HashKey(secret))
	if identity.ErrorCode(err) == identity.ENotFound {
		return KeyLogin{}, nil, identity.ErrUnauthorized
	} else if err != nil {
		return KeyLogin{}, nil, err
	}
	now := d.now()
	if !key.Live(now) {
		return KeyLogin{}, key, identity.ErrUnauthorized
	}
	acct, err := d.store.Account(ctx, key.AccountID)
	if identity.ErrorCode(err) == identity.ENotFound {
		return KeyLogin{}, key, identity.ErrUnauthorized
	} else if err != nil {
		return KeyLogin{}, key, err
	}
	// A disabled account, or one below a disabled ancestor, is suspended.
	if ok, err := d.gate.AccountUsable(ctx, acct); err != nil {
		return KeyLogin{}, key, err
	} else if !ok {
		return KeyLogin{}, key, identity.ErrUnauthorized
	}
	kl := KeyLogin{Account: acct, Key: key}
	if key.Kind != identity.KeyKindNamed {
		return kl, key, nil
	}
	if len(key.AllowedCIDRs) > 0 && !AddressAllowed(at.ClientIP, key.AllowedCIDRs) {
		return KeyLogin{}, key, ErrKeyAddress
	}
	if d.cfg.KeyRotationMandatory && key.RotationDue(now, d.cfg.KeyRotation) {
		return KeyLogin{}, key, ErrKeyOverdue
	}
	owner, err := d.keyCreator(ctx, key, acct)
	if err != nil {
		return KeyLogin{}, key, err
	}
	if owner != nil && owner.PrivLevel != identity.RoleAdmin {
		// A plain user's key acts as that user, so that it can do no more
		// than the user and dies with the user's tokens.
		kl.Owner = owner
	}
	return kl, key, nil
}

// keyCreator returns the user who created a named key, looked for in the
// key's account and then its ancestors (an admin above may have created
// it), or nil for a key no user created. A creator that is gone or
// disabled makes the key refuse.
func (d *Door) keyCreator(ctx context.Context, key *identity.APIKey, acct *identity.Account) (*identity.User, error) {
	if key.CreatedBy == "" {
		return nil, nil
	}
	where := append([]string{key.AccountID}, acct.Tree...)
	slices.Reverse(where[1:]) // nearest ancestor first
	for _, id := range where {
		u, err := d.store.User(ctx, id, key.CreatedBy)
		if identity.ErrorCode(err) == identity.ENotFound {
			continue
		} else if err != nil {
			return nil, err
		}
		if !u.Enabled {
			return nil, identity.ErrUnauthorized
		}
		return u, nil
	}
	return nil, identity.ErrUnauthorized
}

// AddressAllowed reports whether ip lies in one of cidrs.
func AddressAllowed(ip string, cidrs []string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// wellFormedKey reports whether secret could be an API key at all: a named
// key with a matching checksum, or Kazoo's 64 lowercase hex digits. Others
// are refused without a lookup, so that typos and junk cost nothing.
func wellFormedKey(secret string) bool {
	if credential.CheckNamedKey(secret) {
		return true
	}
	if len(secret) != 64 {
		return false
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
