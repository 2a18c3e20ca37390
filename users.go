package audian

import (
	"context"
	"iter"
)

// User is a user document. Fields the schema does not define are kept in
// Extra and written back by Update.
type User struct {
	ID        string `json:"id,omitempty"`
	Username  string `json:"username,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// PrivLevel is "admin" or "user".
	PrivLevel string `json:"priv_level,omitempty"`
	// Enabled: nil leaves it unchanged (true on create).
	Enabled               *bool  `json:"enabled,omitempty"`
	RequirePasswordUpdate *bool  `json:"require_password_update,omitempty"`
	PresenceID            string `json:"presence_id,omitempty"`
	Timezone              string `json:"timezone,omitempty"`
	Language              string `json:"language,omitempty"`
	// Password is write-only: the server never returns it. Setting or
	// changing Username requires it.
	Password string `json:"password,omitempty"`

	Extra map[string]any `json:"-"`
}

type userFields User

// MarshalJSON writes the known fields and Extra.
func (u User) MarshalJSON() ([]byte, error) { return encodeExtra(userFields(u), u.Extra) }

// UnmarshalJSON reads the known fields and keeps the rest in Extra.
func (u *User) UnmarshalJSON(b []byte) error {
	var f userFields
	extra, err := decodeExtra(b, &f)
	if err != nil {
		return err
	}
	*u = User(f)
	u.Extra = extra
	return nil
}

// UsersService manages users: /v2/accounts/{id}/users.
type UsersService struct{ c *Client }

// List lists the users of account ("" for the client's own). Items carry
// the listing fields: id, username, email, names, priv_level, enabled,
// presence_id, timezone.
func (s *UsersService) List(ctx context.Context, account string, opts *ListOptions) iter.Seq2[User, error] {
	return list[User](s.c, ctx, func(ctx context.Context) (string, error) {
		return s.c.pathIn(ctx, account, "users")
	}, opts.query())
}

// Get returns one user.
func (s *UsersService) Get(ctx context.Context, account, id string) (*User, error) {
	return s.one(ctx, "GET", account, id, nil)
}

// Create makes a user in account.
func (s *UsersService) Create(ctx context.Context, account string, u *User) (*User, error) {
	return s.one(ctx, "PUT", account, "", u)
}

// Update replaces u.ID's public fields with u's (POST).
func (s *UsersService) Update(ctx context.Context, account string, u *User) (*User, error) {
	return s.one(ctx, "POST", account, u.ID, u)
}

// Patch merges fields into user id (PATCH; a nil value removes the field).
func (s *UsersService) Patch(ctx context.Context, account, id string, fields map[string]any) (*User, error) {
	return s.one(ctx, "PATCH", account, id, fields)
}

// Delete deletes user id; its tokens stop working.
func (s *UsersService) Delete(ctx context.Context, account, id string) error {
	_, err := s.one(ctx, "DELETE", account, id, nil)
	return err
}

func (s *UsersService) one(ctx context.Context, method, account, id string, body any) (*User, error) {
	segs := []string{"users"}
	if id != "" {
		segs = append(segs, id)
	}
	p, err := s.c.pathIn(ctx, account, segs...)
	if err != nil {
		return nil, err
	}
	var req any
	if body != nil {
		req = Request{Data: body}
	}
	var u User
	if _, err := s.c.call(ctx, method, p, nil, req, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
