package login

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Password checks a username and password (user_auth without a digest,
// the portal's and OAuth's sign-in pages).
func (d *Door) Password(ctx context.Context, at Attempt, in PasswordLogin) (UserLogin, error) {
	ident := UserIdentity(accountTarget(in.AccountName, in.Realm, in.Phone), in.Username)
	return d.userLogin(ctx, at, ident, in.AccountName, in.Realm, in.Password,
		func(ctx context.Context, accountID string) (*identity.User, string, error) {
			u, err := d.store.UserByUsername(ctx, accountID, in.Username)
			if err != nil {
				return nil, "", err
			}
			return u, u.Credentials.Password, nil
		})
}

// Digest checks Kazoo's md5 or sha digest of lower(username):password.
// The digest hides the username, so the guard counts such attempts per
// account.
func (d *Door) Digest(ctx context.Context, at Attempt, in DigestLogin) (UserLogin, error) {
	ident := UserIdentity(accountTarget(in.AccountName, in.Realm, in.Phone), "")
	digest := strings.ToLower(in.Digest)
	return d.userLogin(ctx, at, ident, in.AccountName, in.Realm, digest,
		func(ctx context.Context, accountID string) (*identity.User, string, error) {
			if in.Method != MethodMD5 && in.Method != MethodSHA {
				return nil, "", identity.ErrNotFound
			}
			u, err := d.store.UserByCredentialLookup(ctx, accountID, in.Method, d.sealer.Lookup(in.Method, []byte(digest)))
			if err != nil {
				return nil, "", err
			}
			if in.Method == MethodSHA {
				return u, u.Credentials.SHA1Hash, nil
			}
			return u, u.Credentials.MD5Hash, nil
		})
}

// candidateFunc returns the user of accountID a login names, with the
// argon2id hash its secret must match.
type candidateFunc func(ctx context.Context, accountID string) (*identity.User, string, error)

// errGone is an attempt whose client left while it waited for a slot.
var errGone = errors.New("the client left before its credential was checked")

// userLogin runs the steps of doc.go for a password or digest.
func (d *Door) userLogin(ctx context.Context, at Attempt, ident, name, realm, secret string, candidate candidateFunc) (UserLogin, error) {
	gone := ctx.Done()
	ctx, cancel := d.detach(ctx)
	defer cancel()
	a := d.attempt(at, ident)
	if err := a.check(ctx); err != nil {
		return UserLogin{}, err
	}
	release, err := d.slot(gone)
	if errors.Is(err, errGone) {
		// Counted and audited, never verified: see "A client gone" in
		// doc.go.
		return UserLogin{}, a.fail(ctx, identity.AuditEntry{Reason: "abandoned before verification"}, nil)
	} else if err != nil {
		return UserLogin{}, err
	}
	defer release()
	// The counters may have grown while this attempt waited: a burst from
	// one address all passes the first check before any of it fails.
	if err := a.check(ctx); err != nil {
		return UserLogin{}, err
	}
	accounts, err := d.FindAccounts(ctx, name, realm)
	if err != nil {
		return UserLogin{}, storeError(err)
	}
	e := identity.AuditEntry{}
	if len(accounts) == 1 {
		// A failure goes to the account the client named when exactly one
		// matches; which user was meant is not recorded, as what was typed
		// as a username may be a password.
		e.AccountID = accounts[0].ID
	}
	u, acct, err := d.verify(ctx, accounts, secret, candidate)
	if identity.ErrorCode(err) == identity.EUnauthorized {
		return UserLogin{}, a.fail(ctx, e, nil)
	} else if err != nil {
		return UserLogin{}, storeError(err)
	}
	a.succeed(ctx, identity.AuditEntry{AccountID: acct.ID, ActorKind: identity.AuditActorUser, Actor: u.ID})
	return UserLogin{Account: acct, User: u}, nil
}

// verify finds the user among accounts and checks secret. Every failure
// is the same identity.ErrUnauthorized, and every attempt evaluates
// argon2id exactly once whatever the outcome (a Verify against the user's
// hash, or a Burn when there is no user to verify), so that neither the
// reply nor its timing tells an unknown account or user from a wrong
// password, a disabled user or a disabled account. Disabled users and
// accounts are verified like any other and refused afterwards for the
// same reason.
//
// Only when account names are not unique, and several accounts of one
// name each hold a user that matches the lookup, is more than one hash
// verified: each candidate is tried, as Kazoo does, until one matches.
func (d *Door) verify(ctx context.Context, accounts []*identity.Account, secret string, candidate candidateFunc) (*identity.User, *identity.Account, error) {
	verified := false
	for _, acct := range accounts {
		u, phc, err := candidate(ctx, acct.ID)
		if identity.ErrorCode(err) == identity.ENotFound || (err == nil && phc == "") {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		verified = true
		if !d.hasher.Verify(phc, secret) {
			continue
		}
		if !u.Enabled {
			return nil, nil, identity.ErrUnauthorized
		}
		// A disabled account, or one below a disabled ancestor, is
		// suspended.
		if ok, err := d.gate.AccountUsable(ctx, acct); err != nil {
			return nil, nil, err
		} else if !ok {
			return nil, nil, identity.ErrUnauthorized
		}
		return u, acct, nil
	}
	if !verified {
		d.hasher.Burn(secret)
	}
	return nil, nil, identity.ErrUnauthorized
}

// FindAccounts resolves what a person said about their account as Kazoo's
// find_account does: the realm first, then the normalized name (a phone
// number, which Kazoo tries first, never matches in audian). Nothing
// found is an empty list, not an error.
func (d *Door) FindAccounts(ctx context.Context, name, realm string) ([]*identity.Account, error) {
	if realm != "" {
		acct, err := d.store.AccountByRealm(ctx, realm)
		if err == nil {
			return []*identity.Account{acct}, nil
		}
		if identity.ErrorCode(err) != identity.ENotFound {
			return nil, err
		}
	}
	if name == "" {
		return nil, nil
	}
	return d.store.AccountsByName(ctx, name)
}

// slot takes one of the hashing slots, waiting at most HashWait. gone is
// the client's Done channel: a client that leaves while waiting gets
// errGone. A free slot is taken even when the client has left (see doc.go).
func (d *Door) slot(gone <-chan struct{}) (release func(), err error) {
	release = func() { <-d.slots }
	select {
	case d.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(d.cfg.HashWait)
	defer t.Stop()
	select {
	case d.slots <- struct{}{}:
		return release, nil
	case <-gone:
		return nil, errGone
	case <-t.C:
		return nil, retryError(errBusy, d.cfg.HashWait, nil)
	}
}

// errBusy refuses an attempt that found no hashing slot in time: the
// server is checking as many passwords as it may at once.
var errBusy = identity.Error{Code: identity.ETooManyRequests, Message: "too many requests"}
