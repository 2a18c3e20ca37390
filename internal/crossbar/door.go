package crossbar

import (
	"context"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/login"
)

// LoginDoor checks credentials for user_auth and api_auth (internal/login):
// the guard, the bound on password hashing, the lookup, the verification
// and the audit record all happen behind it. It issues no token.
type LoginDoor interface {
	Password(ctx context.Context, at login.Attempt, in login.PasswordLogin) (login.UserLogin, error)
	Digest(ctx context.Context, at login.Attempt, in login.DigestLogin) (login.UserLogin, error)
	APIKey(ctx context.Context, at login.Attempt, secret string) (login.KeyLogin, error)
	FindAccounts(ctx context.Context, name, realm string) ([]*identity.Account, error)
	Recovery(ctx context.Context, at login.Attempt, accountName, realm, phone, username string) error
}
