package identity

import "context"

// AccountGate decides whether an account may be used at all: whether its
// tokens verify, its users and API keys log in and its users recover
// passwords. crossbar's API is one, answering from its feed-invalidated
// account cache; every login face takes one rather than checking
// Account.Enabled itself, so that the rule lives in one place.
type AccountGate interface {
	// AccountUsable reports whether a may be used (see AccountUsable). An
	// error is a failure to find out, never a "no".
	AccountUsable(ctx context.Context, a *Account) (bool, error)
}

// AccountUsable is the rule: a is usable when it is enabled and so is
// every ancestor in a.Tree. Disabling an account thus suspends its whole
// subtree (tokens, logins, API keys) until it is enabled again, without
// writing to any descendant. An ancestor that get reports as ErrNotFound
// makes a unusable; get is how the caller reads accounts (a cache on the
// hot path), and is called for ancestors only.
func AccountUsable(ctx context.Context, a *Account, get func(ctx context.Context, id string) (*Account, error)) (bool, error) {
	if !a.Enabled {
		return false, nil
	}
	// Nearest first: a disabled reseller is likelier than a disabled root,
	// and stops the walk sooner.
	for i := len(a.Tree) - 1; i >= 0; i-- {
		anc, err := get(ctx, a.Tree[i])
		if ErrorCode(err) == ENotFound {
			return false, nil
		} else if err != nil {
			return false, err
		}
		if !anc.Enabled {
			return false, nil
		}
	}
	return true, nil
}
