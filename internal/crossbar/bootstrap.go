package crossbar

import (
	"context"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
)

// BootstrapParams name the first account and its administrator.
type BootstrapParams struct {
	AccountName string
	Username    string
	Password    string // "" generates one
	RealmSuffix string
}

// BootstrapResult holds the secrets created by Bootstrap. They exist
// nowhere else in plaintext: show them once.
type BootstrapResult struct {
	AccountID string
	UserID    string
	Username  string
	Password  credential.Secret
	APIKey    credential.Secret
}

// Bootstrap creates the system account, its admin user and its account
// API key in one transaction. It returns identity.ErrBootstrapped when the
// database already has an account.
func Bootstrap(ctx context.Context, s identity.Store, sealer Sealer, hasher PasswordHasher, p BootstrapParams) (*BootstrapResult, error) {
	if p.Password == "" {
		p.Password = credential.NewPassword()
	} else if err := credential.CheckNewPassword(p.Password, 0, p.Username, p.AccountName); err != nil {
		return nil, identity.Invalid("password", err.Rule, err.Message)
	}
	acct := &identity.Account{
		ID:      identity.NewID(),
		Name:    p.AccountName,
		Realm:   identity.NewRealm(p.RealmSuffix),
		Enabled: true,
		System:  true,
	}
	if err := acct.Validate(); err != nil {
		return nil, err
	}
	u := &identity.User{
		ID:        identity.NewID(),
		AccountID: acct.ID,
		Username:  identity.NormalizeUsername(p.Username),
		FirstName: "Account",
		LastName:  "Admin",
		PrivLevel: identity.RoleAdmin,
		Enabled:   true,
	}
	if u.Username == "" {
		return nil, identity.Invalid("username", "required", "Field is required but missing")
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	creds, err := manage.HashCredentials(sealer, hasher, u.Username, p.Password)
	if err != nil {
		return nil, err
	}
	u.Credentials = creds
	key, secret, err := manage.NewAccountKey(sealer, acct.ID, "")
	if err != nil {
		return nil, err
	}
	if err := s.Bootstrap(ctx, acct, u, key); err != nil {
		return nil, err
	}
	return &BootstrapResult{
		AccountID: acct.ID, UserID: u.ID, Username: u.Username,
		Password: credential.Secret(p.Password), APIKey: credential.Secret(secret),
	}, nil
}
