package audian

import (
	"context"
	"iter"
	"time"
)

// APIKey is a named API key's metadata. Secret is set only in the reply
// that creates or rotates the key: the server keeps only a hash, so it is
// shown that once.
type APIKey struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	// Scopes limit what the key's tokens may do; nil means no limit
	// beyond its creator's.
	Scopes []string `json:"scopes"`
	// AllowedCIDRs are the addresses the key works from; empty means any.
	AllowedCIDRs []string   `json:"allowed_cidrs"`
	Created      int64      `json:"created"` // Gregorian seconds
	ExpiresAt    *time.Time `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedIP   *string    `json:"last_used_ip"`
	// RotationDue says the key is older than the server's rotation policy.
	RotationDue bool `json:"rotation_due"`
	// Status is "active" or "expired".
	Status string `json:"status"`

	// Secret is the key itself, on create and rotate only.
	Secret string `json:"api_key,omitempty"`
	// RotatedFrom and PreviousExpiresAt describe a rotation: the old key
	// keeps working until PreviousExpiresAt.
	RotatedFrom       string     `json:"rotated_from,omitempty"`
	PreviousExpiresAt *time.Time `json:"previous_expires_at,omitempty"`
	// ReadOnly is set in the reply of a revocation.
	ReadOnly *struct {
		Deleted bool `json:"deleted"`
	} `json:"_read_only,omitempty"`
}

// GregorianTime converts the Gregorian seconds of a "created" field.
func GregorianTime(secs int64) time.Time { return time.Unix(secs-GregorianOffset, 0).UTC() }

// NewKey is what Keys.Create needs.
type NewKey struct {
	Name string `json:"name"`
	// Scopes such as "users:read"; nil gives the key all of its creator's.
	Scopes       []string   `json:"scopes,omitempty"`
	AllowedCIDRs []string   `json:"allowed_cidrs,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
}

// KeyUpdate is what Keys.Update changes; zero fields are left alone.
type KeyUpdate struct {
	Name         string
	Scopes       []string
	AllowedCIDRs []string
	// Unscoped removes the key's scopes; AnyAddress its allowed_cidrs.
	Unscoped, AnyAddress bool
}

// KeysService manages named API keys: /v2/accounts/{id}/api_keys.
type KeysService struct{ c *Client }

// Create makes a key in account ("" for the client's own). The reply's
// Secret is the only copy of the key.
func (s *KeysService) Create(ctx context.Context, account string, k NewKey) (*APIKey, error) {
	return s.one(ctx, "PUT", account, []string{"api_keys"}, Request{Data: k})
}

// List lists the live and expired keys of account (a plain user sees its
// own only); revoked keys are gone.
func (s *KeysService) List(ctx context.Context, account string, opts *ListOptions) iter.Seq2[APIKey, error] {
	return list[APIKey](s.c, ctx, func(ctx context.Context) (string, error) {
		return s.c.pathIn(ctx, account, "api_keys")
	}, opts.query())
}

// Get returns one key's metadata.
func (s *KeysService) Get(ctx context.Context, account, id string) (*APIKey, error) {
	return s.one(ctx, "GET", account, []string{"api_keys", id}, nil)
}

// Update changes a key's name, scopes or addresses (PATCH).
func (s *KeysService) Update(ctx context.Context, account, id string, u KeyUpdate) (*APIKey, error) {
	d := map[string]any{}
	if u.Name != "" {
		d["name"] = u.Name
	}
	if u.Scopes != nil {
		d["scopes"] = u.Scopes
	}
	if u.Unscoped {
		d["scopes"] = nil
	}
	if u.AllowedCIDRs != nil {
		d["allowed_cidrs"] = u.AllowedCIDRs
	}
	if u.AnyAddress {
		d["allowed_cidrs"] = nil
	}
	return s.one(ctx, "PATCH", account, []string{"api_keys", id}, Request{Data: d})
}

// Rotate replaces key id by a new one with the same name, scopes and
// addresses. The old key keeps working for grace (0: stops at once); a
// negative grace takes the server's default (a day).
func (s *KeysService) Rotate(ctx context.Context, account, id string, grace time.Duration) (*APIKey, error) {
	d := map[string]any{}
	if grace >= 0 {
		d["grace_seconds"] = int64(grace / time.Second)
	}
	return s.one(ctx, "PUT", account, []string{"api_keys", id, "rotate"}, Request{Data: d})
}

// Revoke revokes key id, and every token it minted, at once.
func (s *KeysService) Revoke(ctx context.Context, account, id string) error {
	_, err := s.one(ctx, "DELETE", account, []string{"api_keys", id}, nil)
	return err
}

// AccountKey returns account's Kazoo account API key (admins only).
func (s *KeysService) AccountKey(ctx context.Context, account string) (string, error) {
	return s.accountKey(ctx, "GET", account)
}

// ReplaceAccountKey gives account a new Kazoo account API key; the old
// one stops working.
func (s *KeysService) ReplaceAccountKey(ctx context.Context, account string) (string, error) {
	return s.accountKey(ctx, "PUT", account)
}

func (s *KeysService) accountKey(ctx context.Context, method, account string) (string, error) {
	p, err := s.c.pathIn(ctx, account, "api_key")
	if err != nil {
		return "", err
	}
	var out struct {
		APIKey string `json:"api_key"`
	}
	var body any
	if method == "PUT" {
		body = Request{Data: map[string]any{}}
	}
	if _, err := s.c.call(ctx, method, p, nil, body, &out); err != nil {
		return "", err
	}
	return out.APIKey, nil
}

func (s *KeysService) one(ctx context.Context, method, account string, segs []string, body any) (*APIKey, error) {
	p, err := s.c.pathIn(ctx, account, segs...)
	if err != nil {
		return nil, err
	}
	var k APIKey
	if _, err := s.c.call(ctx, method, p, nil, body, &k); err != nil {
		return nil, err
	}
	return &k, nil
}
